import { html } from 'lit-html';
import { ApiError } from '../api.ts';
import type { Order, Return } from '../types.ts';
import { type AppContext, act, type Drawing, formValues, money, shortId } from '../ui.ts';
import { addPicked, type PickedLine, pickedTable, variantPicker } from './variant-picker.ts';

/** What an exchange did with the money, in a sentence. */
export function exchangeText(received: Return, order: Order): string {
  const refund = received.refund ?? { amount: 0, currency: order.total.currency };
  const credit = received.storeCredit ?? { ...refund, amount: 0 };
  const card = order.total.amount - credit.amount;
  const back = refund.amount - credit.amount;
  return `Exchanged: the return's ${money(refund)} paid ${money(credit)} of the replacements${
    card > 0 ? `, the card the other ${money({ ...credit, amount: card })}` : ''
  }${back > 0 ? `, and ${money({ ...credit, amount: back })} went back to the card` : ''}.`;
}

/**
 * Receives a return as an exchange: staff pick the replacements; the return's refund pays them
 * first, a card the rest, and they go out as a new order.
 */
export async function exchangePage(ctx: AppContext, params: Record<string, string>): Promise<Drawing> {
  const returned = await ctx.api.get<Return>(`/v1/returns/${params.id}`);
  const order = await ctx.api.get<Order>(`/v1/orders/${returned.orderId}`);
  ctx.setTitle(`Exchange return #${shortId(returned.id)}`);
  const nameOf = new Map(order.items.map((line) => [line.id, line.name]));
  const lines: PickedLine[] = [];
  // One key per attempt: a double click exchanges once; a declined card is tried again with a new one.
  let key = crypto.randomUUID();
  const picker = variantPicker(ctx, (variant) => addPicked(lines, variant));
  const submit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      if (lines.length === 0) throw new Error('Add at least one replacement');
      const { body } = await ctx.api
        .request<{ return: Return; order: Order }>('POST', `/v1/returns/${returned.id}/exchange`, {
          headers: { 'idempotency-key': key },
          body: {
            replacements: lines.map((line) => ({ variantId: line.variantId, quantity: line.quantity })),
            ...(values.token?.trim() ? { payment: { token: values.token.trim() } } : {}),
          },
        })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.status < 500) key = crypto.randomUUID();
          throw error;
        });
      ctx.navigate(`/admin/orders/${body.order.id}`);
      ctx.flash('info', exchangeText(body.return, body.order));
    });
  };
  return () => html`
    <nav aria-label="Breadcrumb"><a href="/admin/returns">← Returns</a></nav>
    <h1>Exchange return #${shortId(returned.id)}</h1>
    <p>Coming back: ${returned.items.map((item) => `${item.quantity} × ${nameOf.get(item.orderItemId) ?? 'an item'}`).join(', ')}
      (“${returned.reason}”), from <a href="/admin/orders/${order.id}">order #${shortId(order.id)}</a>.
      Its refund pays the replacements first; what they cost beyond it is charged to a card, and what
      it leaves over goes back to the card the order was paid with.</p>
    <section aria-labelledby="replacements-heading"><h2 id="replacements-heading">Replacements</h2>
      ${picker()}
      <form class="stack" @submit=${submit} aria-label="Exchange">
        ${pickedTable(lines, () => ctx.redraw())}
        <label>Card payment token (when the replacements cost more) <input name="token" maxlength="100" autocomplete="off" /></label>
        <button type="submit" class="primary">Receive and exchange</button>
      </form>
    </section>
  `;
}
