import { html, nothing } from 'lit-html';
import { ApiError } from '../api.ts';
import { lineTotalCell } from '../discounts.ts';
import type { DraftOrder, Order } from '../types.ts';
import { type AppContext, act, type Content, describeError, formValues, money } from '../ui.ts';
import { totalsTable } from './cart.ts';
import { cardFields, cardToken } from './stripe.ts';

type PayableDraft = Pick<DraftOrder, 'status' | 'items' | 'totals' | 'shippingAddress' | 'shippingMethod'>;

/**
 * The page a draft order's payment link opens: what the shop put together, priced now, and the
 * card that pays it. Paid, it goes to the order (this browser keeps the order's token).
 */
export async function payPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const token = query.get('token') ?? '';
  const headers = { 'payment-link-token': token };
  const draft = await ctx.api
    .get<PayableDraft>('/v1/payment-link', { headers, auth: false })
    .catch((error: unknown) => {
      if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return undefined;
      throw error;
    });
  if (!draft)
    return html`<h1>Pay your order</h1>
      <p>This payment link has expired or was never made. Ask the shop for a new one.</p>`;
  if (draft.status === 'completed')
    return html`<h1>Pay your order</h1>
      <p>This order has been paid. Its confirmation was sent by email.</p>`;
  ctx.setTitle(`Pay ${money(draft.totals.total)}`);
  const address = draft.shippingAddress;
  const pay = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const card = await cardToken(values);
      try {
        const { body } = await ctx.api.request<Order>('POST', '/v1/payment-link/pay', {
          headers,
          body: { payment: { token: card } },
          auth: false,
        });
        if (body.orderToken) ctx.api.rememberOrderToken(body.id, body.orderToken);
        ctx.navigate(`/orders/${body.id}?placed=1`);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'PAYMENT_DECLINED') {
          ctx.flash('error', 'Your card was declined. Nothing was charged: try another card.');
          return;
        }
        ctx.flash('error', describeError(error));
      }
    });
  };
  return html`
    <h1>Pay your order</h1>
    <p>The shop put this order together for you. It ships to ${address.name}, ${address.line1},
      ${address.postalCode} ${address.city}${draft.shippingMethod ? html`, by ${draft.shippingMethod.name}` : nothing}.</p>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">What the order holds</caption>
      <thead><tr><th scope="col">Item</th><th scope="col">Quantity</th><th scope="col">Total</th></tr></thead>
      <tbody>${draft.items.map(
        (line) =>
          html`<tr><td>${line.name}</td><td>${line.quantity}</td>${lineTotalCell(line, draft.totals)}</tr>`,
      )}</tbody>
    </table></div>
    ${totalsTable(draft.totals, 'What you pay')}
    <form class="stack" @submit=${pay} aria-label="Pay">
      <fieldset><legend>Payment</legend>${cardFields(ctx, draft.totals.total, true)}</fieldset>
      <button type="submit" class="primary">Pay ${money(draft.totals.total)}</button>
    </form>
  `;
}
