import { html, nothing } from 'lit-html';
import { ApiError } from '../api.ts';
import type { EditPreview, Order, OrderEdit } from '../types.ts';
import { type AppContext, act, type Drawing, dateTime, formValues, money, shortId } from '../ui.ts';
import { addPicked, type PickedLine, setPickedQuantity, variantPicker } from './variant-picker.ts';

/** What happens to an edit's difference, in a sentence staff read before they confirm. */
export function settlementText(preview: Pick<EditPreview, 'difference' | 'settlement'>): string {
  const amount = money({ ...preview.difference, amount: Math.abs(preview.difference.amount) });
  switch (preview.settlement) {
    case 'charge':
      return `The customer pays ${amount} more, charged to the card below.`;
    case 'refund':
      return `${amount} goes back to the customer, to what they paid with.`;
    case 'offline':
      return preview.difference.amount > 0
        ? `The order was paid outside the shop: collect ${amount} more there.`
        : `The order was paid outside the shop: pay ${amount} back there.`;
    default:
      return 'The total stays the same.';
  }
}

/** One version of an order in words: what changed, the totals, and the money it moved. */
export function versionText(edit: OrderEdit): string {
  const changes = edit.changes
    .map((change) =>
      change.before === 0
        ? `added ${change.after} × ${change.name}`
        : change.after === 0
          ? `removed ${change.name}`
          : `${change.name} ${change.before} → ${change.after}`,
    )
    .join(', ');
  const moved =
    edit.charged.amount > 0
      ? `, ${money(edit.charged)} charged`
      : edit.refunded.amount > 0
        ? `, ${money(edit.refunded)} refunded`
        : '';
  return `${changes}: total ${money(edit.totalBefore)} → ${money(edit.totalAfter)}${moved}`;
}

/**
 * Edits an order before it ships: quantities changed (0 takes a line off), products added; the
 * new lines and total, and what happens to the difference, are shown before staff confirm.
 */
export async function orderEditPage(ctx: AppContext, params: Record<string, string>): Promise<Drawing> {
  const order = await ctx.api.get<Order>(`/v1/orders/${params.id}`);
  ctx.setTitle(`Edit order #${shortId(order.id)}`);
  const quantities = new Map(order.items.map((line) => [line.id, line.quantity]));
  const added: PickedLine[] = [];
  let preview: EditPreview | undefined;
  // One key per preview confirmed: a double click or a retry after a lost answer edits once.
  let key = crypto.randomUUID();

  const changed = () => {
    preview = undefined;
    key = crypto.randomUUID();
    ctx.redraw();
  };
  const picker = variantPicker(ctx, (variant) => {
    if (order.items.some((line) => line.variantId === variant.variantId && quantities.get(line.id)! > 0)) {
      ctx.flash('error', `${variant.name} is on the order already: change its quantity instead.`);
      return;
    }
    addPicked(added, variant);
    changed();
  });
  const request = () => ({
    remove: order.items.filter((line) => quantities.get(line.id) === 0).map((line) => line.id),
    change: order.items
      .filter((line) => quantities.get(line.id)! > 0 && quantities.get(line.id) !== line.quantity)
      .map((line) => ({ itemId: line.id, quantity: quantities.get(line.id)! })),
    add: added.map((line) => ({ variantId: line.variantId, quantity: line.quantity })),
  });
  const setQuantity = (id: string) => (event: Event) => {
    quantities.set(id, Math.max(0, Number((event.currentTarget as HTMLInputElement).value) || 0));
    changed();
  };
  const setAdded = (variantId: string) => (event: Event) => {
    setPickedQuantity(added, variantId, event);
    changed();
  };
  const showTotal = (event: SubmitEvent) => {
    event.preventDefault();
    return act(ctx, event, async () => {
      preview = await ctx.api.post<EditPreview>(`/v1/orders/${order.id}/edits/preview`, request());
      ctx.redraw();
    });
  };
  const confirmEdit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const { body } = await ctx.api
        .request<Order>('POST', `/v1/orders/${order.id}/edits`, {
          headers: { 'idempotency-key': key },
          body: {
            ...request(),
            ...(values.reason?.trim() ? { reason: values.reason.trim() } : {}),
            ...(values.token?.trim() ? { payment: { token: values.token.trim() } } : {}),
          },
        })
        .catch((error: unknown) => {
          // A refusal (a declined card) made no edit: trying again is a new one. A lost answer
          // keeps the key, so its retry answers the edit it may have made.
          if (error instanceof ApiError && error.status < 500) key = crypto.randomUUID();
          throw error;
        });
      ctx.navigate(`/admin/orders/${order.id}`);
      ctx.flash('info', `Order changed: it now comes to ${money(body.total)}.`);
    });
  };

  return () => html`
    <nav aria-label="Breadcrumb"><a href="/admin/orders/${order.id}">← Order #${shortId(order.id)}</a></nav>
    <h1>Edit order #${shortId(order.id)}</h1>
    <p>Placed ${dateTime(order.createdAt)}, ${money(order.total)}. Lines kept keep the prices they were sold
      at; added products are priced now for this customer and address. Shipping stays as it is.</p>
    <form class="stack" @submit=${showTotal} aria-label="Change the order">
      <div class="table-scroll"><table class="lines">
        <thead><tr><th scope="col">Item</th><th scope="col">Unit price</th><th scope="col">Quantity (0 takes it off)</th></tr></thead>
        <tbody>
          ${order.items.map(
            (line) => html`<tr>
              <td>${line.name} <span class="muted">${line.sku}</span></td>
              <td>${money(line.unitPrice)}</td>
              <td><label><span class="visually-hidden">Quantity of ${line.name}</span>
                <input type="number" min="0" max="999" .value=${String(quantities.get(line.id))} @change=${setQuantity(line.id)} /></label></td>
            </tr>`,
          )}
          ${added.map(
            (line) => html`<tr data-added>
              <td>${line.name} <span class="muted">${line.sku} · added</span></td>
              <td>${money(line.price)}</td>
              <td><label><span class="visually-hidden">Quantity of ${line.name}</span>
                <input type="number" min="0" max="999" .value=${String(line.quantity)} @change=${setAdded(line.variantId)} /></label></td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      <button type="submit" class="primary">Show the new total</button>
    </form>
    <section aria-labelledby="add-heading"><h2 id="add-heading">Add a product</h2>${picker()}</section>
    ${
      preview
        ? html`<section aria-labelledby="preview-heading" data-testid="edit-preview">
            <h2 id="preview-heading">The order after this edit</h2>
            <ul class="plain">${preview.items.map(
              (line) => html`<li>${line.quantity} × ${line.name} · ${money(line.lineTotal)}</li>`,
            )}</ul>
            <p>New total <strong>${money(preview.totals.total)}</strong> (was ${money(order.total)}).
              <span data-testid="settlement">${settlementText(preview)}</span></p>
            <form class="stack" @submit=${confirmEdit} aria-label="Confirm the edit">
              ${
                preview.settlement === 'charge'
                  ? html`<label>Card payment token <input name="token" required maxlength="100" autocomplete="off" /></label>`
                  : nothing
              }
              <label>Reason (kept with the order's versions) <input name="reason" maxlength="500" /></label>
              <button type="submit" class="primary">Confirm the edit</button>
            </form>
          </section>`
        : nothing
    }
  `;
}
