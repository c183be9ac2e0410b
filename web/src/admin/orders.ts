import { html, nothing } from 'lit-html';
import { discountLabel, lineTotalCell } from '../discounts.ts';
import { parseMoneyInput } from '../money.ts';
import type {
  Fulfillment,
  Order,
  OrderEdit,
  OrderStatus,
  Page,
  PaymentDrift,
  Refund,
  Return,
  TimelineEntry,
  User,
} from '../types.ts';
import {
  type AppContext,
  act,
  balanceText,
  type Content,
  cancellationText,
  dateTime,
  formValues,
  itemListOf,
  money,
  pager,
  paymentText,
  returnStatusText,
  STATUS_TEXT,
  shortId,
  statusBadge,
} from '../ui.ts';
import { versionText } from './order-edit.ts';
import { timelineSection } from './timeline.ts';

const STATUSES = Object.keys(STATUS_TEXT) as OrderStatus[];

const DRIFT_SUBJECT = { status: 'its state', captured: 'the amount taken', refunded: 'the amount refunded' };

/** A disagreement in words: what we hold beside what the provider holds. */
function driftText(drift: PaymentDrift): string {
  const side = (value: string | number) =>
    typeof value === 'number' ? money({ amount: value, currency: drift.currency }) : paymentText(value);
  return `${DRIFT_SUBJECT[drift.kind]} is ${side(drift.ours)} here and ${side(drift.theirs)} at the provider (found ${dateTime(drift.foundAt)})`;
}

export async function ordersPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  // The filters as the address keeps them: a search can be shared, and paging keeps it.
  const filters: Record<string, string> = {};
  for (const name of ['q', 'status', 'from', 'to']) {
    const value = query.get(name)?.trim();
    if (value) filters[name] = value;
  }
  const page = Number(query.get('page') ?? '1') || 1;
  // Dates are whole days: from the start of `from` to the end of `to` (UTC, as the dashboard).
  const asked = new URLSearchParams({ page: String(page), size: '20' });
  if (filters.q) asked.set('q', filters.q);
  if (filters.status) asked.set('status', filters.status);
  if (filters.from) asked.set('from', new Date(`${filters.from}T00:00:00Z`).toISOString());
  if (filters.to) asked.set('to', new Date(Date.parse(`${filters.to}T00:00:00Z`) + 86_400_000).toISOString());
  const [list, drift] = await Promise.all([
    ctx.api.get<Page<Order>>(`/v1/orders?${asked}`),
    ctx.api.get<{ items: PaymentDrift[] }>('/v1/payments/drift'),
  ]);
  const link = (to: number) => `/admin/orders?${new URLSearchParams({ ...filters, page: String(to) })}`;
  const filter = (event: SubmitEvent) => {
    const values = formValues(event);
    const chosen = Object.fromEntries(
      ['q', 'status', 'from', 'to']
        .filter((name) => values[name]?.trim())
        .map((name) => [name, values[name].trim()]),
    );
    ctx.navigate(`/admin/orders${Object.keys(chosen).length > 0 ? `?${new URLSearchParams(chosen)}` : ''}`);
  };
  const filtered = Object.keys(filters).length > 0;
  return html`
    <h1>Orders</h1>
    ${
      drift.items.length > 0
        ? html`<section class="alert error" aria-labelledby="drift-heading" data-testid="drift">
          <h2 id="drift-heading">Payments that disagree with the payment provider</h2>
          <ul>${drift.items.map((each) => html`<li><a href="/admin/orders/${each.orderId}">Order #${shortId(each.orderId)}</a>: ${driftText(each)}</li>`)}</ul>
        </section>`
        : nothing
    }
    <form class="filters" role="search" @submit=${filter} aria-label="Find orders">
      <label>Order number, email or name <input type="search" name="q" maxlength="200" .value=${filters.q ?? ''} /></label>
      <label>Status <select name="status">
        <option value="">Any</option>
        ${STATUSES.map((each) => html`<option value=${each} ?selected=${each === filters.status}>${STATUS_TEXT[each]}</option>`)}
      </select></label>
      <label>Placed from <input type="date" name="from" .value=${filters.from ?? ''} /></label>
      <label>to <input type="date" name="to" .value=${filters.to ?? ''} /></label>
      <button type="submit">Find</button>
      ${filtered ? html`<a href="/admin/orders">Show all</a>` : nothing}
    </form>
    ${
      list.items.length === 0
        ? html`<p role="status">${filtered ? 'No order matches.' : 'No orders yet.'}</p>`
        : nothing
    }
    <div class="table-scroll"><table class="lines" ?hidden=${list.items.length === 0}>
      <caption class="visually-hidden">Orders, newest first</caption>
      <thead><tr><th scope="col">Order</th><th scope="col">Placed</th><th scope="col">Customer</th><th scope="col">Status</th><th scope="col">Total</th></tr></thead>
      <tbody>
        ${list.items.map(
          (order) => html`<tr data-order=${order.id}>
            <td><a href="/admin/orders/${order.id}">#${shortId(order.id)}</a></td>
            <td>${dateTime(order.createdAt)}</td>
            <td>${order.shippingAddress.name}</td>
            <td>${statusBadge(order.status)}</td>
            <td>${money(order.total)}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>
    ${pager(list, 'orders', link)}
  `;
}

export async function orderPage(ctx: AppContext, params: Record<string, string>): Promise<Content> {
  const [order, shipments, returns, refunds, edits, timeline] = await Promise.all([
    ctx.api.get<Order>(`/v1/orders/${params.id}`),
    ctx.api.get<{ items: Fulfillment[] }>(`/v1/orders/${params.id}/fulfillments`),
    ctx.api.get<{ items: Return[] }>(`/v1/orders/${params.id}/returns`),
    ctx.api.get<{ items: Refund[] }>(`/v1/orders/${params.id}/refunds`),
    ctx.api.get<{ items: OrderEdit[] }>(`/v1/orders/${params.id}/edits`),
    ctx.api.get<{ items: TimelineEntry[] }>(`/v1/orders/${params.id}/timeline`),
  ]);
  const versions = edits.items.filter((edit) => edit.status !== 'failed');
  // Who ordered, by name and address; an account since erased reads as such.
  // A guest's order names its email and no account to look up.
  const customer = order.email
    ? undefined
    : await ctx.api.get<User>(`/v1/users/${order.userId}`).catch(() => undefined);
  ctx.setTitle(`Order #${shortId(order.id)}`);
  const itemList = itemListOf(order);
  const shipped = (id: string) =>
    shipments.items
      .flatMap((shipment) => shipment.items)
      .reduce((sum, item) => sum + (item.orderItemId === id ? item.quantity : 0), 0);
  const shippable = order.status === 'confirmed' || order.status === 'partially_shipped';
  // Only a paid order that has not begun to ship can be cancelled (the API refuses the rest).
  const cancellable = order.status === 'confirmed';
  const ship = (event: SubmitEvent) => {
    const values = formValues(event);
    const items = order.items
      .map((line) => ({ orderItemId: line.id, quantity: Number(values[`ship-${line.id}`] || 0) }))
      .filter((item) => item.quantity > 0);
    return act(ctx, event, async () => {
      if (items.length === 0) throw new Error('Choose at least one item to ship');
      const shipment = await ctx.api.post<Fulfillment>(`/v1/orders/${order.id}/fulfillments`, {
        items,
        carrier: values.carrier.trim(),
        trackingNumber: values.trackingNumber.trim(),
      });
      await ctx.refresh();
      ctx.flash('info', `Shipped with ${shipment.carrier}, tracking ${shipment.trackingNumber}.`);
    });
  };
  const cancel = (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm('Cancel this order, refund the payment and return the stock?')) return;
      await ctx.api.post(`/v1/orders/${order.id}/cancel`);
      await ctx.refresh();
      ctx.flash('info', 'Order cancelled and refunded.');
    });
  // Taken and not fully refunded: staff may give part or all of it back, with a reason.
  const refundable = order.payment.captured.amount - order.payment.refunded.amount;
  const canRefund =
    ['captured', 'partially_captured', 'partially_refunded'].includes(order.payment.status) && refundable > 0;
  // One key per refund form shown: a double submit or a retry after a lost answer refunds once.
  const refundKey = crypto.randomUUID();
  const refund = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const amount = parseMoneyInput(values.amount, order.total.currency);
      if (!amount) throw new Error('Enter the amount to refund, such as 12.50');
      const done = await ctx.api.request<Refund>('POST', `/v1/orders/${order.id}/refunds`, {
        headers: { 'idempotency-key': refundKey },
        body: { amount: { amount, currency: order.total.currency }, reason: values.reason.trim() },
      });
      await ctx.refresh();
      ctx.flash('info', `Refunded ${money(done.body.amount)} to the customer.`);
    });
  };
  return html`
    <nav aria-label="Breadcrumb"><a href="/admin/orders">← Orders</a></nav>
    <h1>Order #${shortId(order.id)}</h1>
    <p>Status: <span id="order-status">${statusBadge(order.status)}</span>
      ${order.cancelReason ? html`<span class="muted">${cancellationText(order.cancelReason)}</span>` : nothing}</p>
    <p>Placed ${dateTime(order.createdAt)} by
      <span data-testid="customer">${
        customer
          ? html`<a href="/admin/customers/${customer.id}">${customer.name}</a> (${customer.email})`
          : order.email
            ? `a guest, ${order.email}`
            : 'a customer whose account is gone'
      }</span>
      · Payment ${paymentText(order.payment.status)},
      ${money(order.payment.amount)}${
        order.payment.captured.amount > 0 && order.payment.captured.amount < order.payment.amount.amount
          ? html`, taken so far ${money(order.payment.captured)}`
          : nothing
      }${order.payment.refunded.amount > 0 ? html`, refunded ${money(order.payment.refunded)}` : nothing}</p>
    ${balanceText(order) ? html`<p data-balance>${balanceText(order)}</p>` : nothing}
    <p>Ship to: ${order.shippingAddress.name}, ${order.shippingAddress.line1}, ${order.shippingAddress.postalCode}
      ${order.shippingAddress.city}, ${order.shippingAddress.country}${order.shippingMethod?.name ? ` · ${order.shippingMethod.name}` : ''}</p>
    ${
      order.totals.discounts.length > 0
        ? html`<p>Discounts: ${order.totals.discounts
            .map((discount) => `${discountLabel(discount)} −${money(discount.amount)}`)
            .join(' · ')}</p>`
        : nothing
    }
    <form class="stack" @submit=${ship} aria-label="Ship items">
      <div class="table-scroll"><table class="lines">
        <thead><tr><th scope="col">Item</th><th scope="col">Ordered</th><th scope="col">Shipped</th><th scope="col">Total</th>${shippable ? html`<th scope="col">Ship now</th>` : nothing}</tr></thead>
        <tbody>
          ${order.items.map(
            (line) => html`<tr>
              <td>${line.name} <span class="muted">${line.sku}</span></td>
              <td>${line.quantity}</td>
              <td>${shipped(line.id)}</td>
              ${lineTotalCell(line, order.totals)}
              ${
                shippable
                  ? html`<td><label><span class="visually-hidden">Quantity of ${line.name} to ship</span>
                    <input type="number" name=${`ship-${line.id}`} min="0" max=${line.quantity - shipped(line.id)}
                      value=${line.quantity - shipped(line.id)} /></label></td>`
                  : nothing
              }
            </tr>`,
          )}
        </tbody>
      </table></div>
      ${
        shippable
          ? html`<label>Carrier <input name="carrier" required maxlength="100" value="DHL" /></label>
            <label>Tracking number <input name="trackingNumber" required maxlength="100" /></label>
            <button type="submit" class="primary">Ship</button>`
          : nothing
      }
    </form>
    ${
      shipments.items.length > 0
        ? html`<section aria-labelledby="shipments-heading"><h2 id="shipments-heading">Shipments</h2><ul>
          ${shipments.items.map(
            (shipment) =>
              html`<li>${dateTime(shipment.createdAt)}: ${itemList(shipment.items)} with ${shipment.carrier}, tracking number ${shipment.trackingNumber}</li>`,
          )}</ul></section>`
        : nothing
    }
    ${
      returns.items.length > 0
        ? html`<section aria-labelledby="returns-heading"><h2 id="returns-heading">Returns</h2><ul>
          ${returns.items.map(
            (each) =>
              html`<li>${dateTime(each.createdAt)}: ${itemList(each.items)} — ${returnStatusText(each.status)}${each.refund ? `, refund ${money(each.refund)}` : ''}${
                each.replacementOrderId
                  ? html`, exchanged for <a href="/admin/orders/${each.replacementOrderId}">order #${shortId(each.replacementOrderId)}</a>`
                  : nothing
              } · “${each.reason}”</li>`,
          )}</ul><p><a href="/admin/returns">Returns waiting to be received</a></p></section>`
        : nothing
    }
    <section aria-labelledby="refunds-heading"><h2 id="refunds-heading">Refunds</h2>
      ${
        refunds.items.length > 0
          ? html`<ul data-testid="refunds">${refunds.items.map(
              (each) =>
                html`<li>${dateTime(each.createdAt)}: ${money(each.amount)} · “${each.reason}”${each.status === 'refunded' ? '' : html` <span class="muted">(${each.status === 'requested' ? 'being paid back' : 'refused'})</span>`}</li>`,
            )}</ul>`
          : html`<p class="muted">No refunds issued by staff.</p>`
      }
      ${
        canRefund
          ? html`<form class="inline" @submit=${refund} aria-label="Refund">
            <label>Amount (${order.total.currency}) <input name="amount" required inputmode="decimal" pattern="[0-9]+([.,][0-9]{1,2})?" size="8" /></label>
            <label>Reason <input name="reason" required maxlength="500" /></label>
            <button type="submit">Refund</button>
            <span class="muted">Up to ${money({ amount: refundable, currency: order.total.currency })}</span>
          </form>`
          : nothing
      }
    </section>
    ${
      versions.length > 0
        ? html`<section aria-labelledby="versions-heading"><h2 id="versions-heading">Versions</h2>
          <ol data-testid="versions">
            <li>Version 1: placed ${dateTime(order.createdAt)}</li>
            ${versions.map(
              (edit) =>
                html`<li>Version ${edit.version}, ${dateTime(edit.createdAt)}: ${versionText(edit)}${edit.reason ? ` · “${edit.reason}”` : ''}${edit.status === 'pending' ? html` <span class="muted">(being settled)</span>` : nothing}</li>`,
            )}
          </ol></section>`
        : nothing
    }
    ${
      cancellable
        ? html`<p><a class="button" href="/admin/orders/${order.id}/edit">Edit order</a>
          <button type="button" class="danger" @click=${cancel}>Cancel and refund</button></p>`
        : nothing
    }
  ${timelineSection(ctx, order, timeline.items)}
  `;
}

export async function returnsPage(ctx: AppContext): Promise<Content> {
  const waiting = await ctx.api.get<Page<Return>>('/v1/returns?status=requested&size=100');
  const receiveById = async (returnId: string) => {
    const received = await ctx.api.post<Return>(`/v1/returns/${encodeURIComponent(returnId)}/receive`);
    ctx.flash(
      'info',
      `Return #${shortId(received.id)} received${received.refund ? `: refunded ${money(received.refund)}` : ''}; the stock is back.`,
    );
    await ctx.refresh();
  };
  return html`
    <h1>Returns</h1>
    <p>Receiving a return refunds its items (tax and discount prorated) and puts them back in stock.
      An exchange receives it too, and its refund pays the replacements first.</p>
    <div class="table-scroll"><table class="lines">
      <caption>Waiting to be received (${waiting.total})</caption>
      <thead><tr><th scope="col">Return</th><th scope="col">Requested</th><th scope="col">Order</th><th scope="col">Units</th><th scope="col">Reason</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>
        ${waiting.items.map(
          (each) => html`<tr data-return=${each.id}>
            <td>#${shortId(each.id)}</td>
            <td>${dateTime(each.createdAt)}</td>
            <td><a href="/admin/orders/${each.orderId}">#${shortId(each.orderId)}</a></td>
            <td>${each.items.reduce((sum, item) => sum + item.quantity, 0)}</td>
            <td>${each.reason}</td>
            <td><button type="button" class="primary" @click=${(event: Event) => act(ctx, event, () => receiveById(each.id))}>Receive</button>
              <a class="button" href="/admin/returns/${each.id}/exchange">Exchange</a></td>
          </tr>`,
        )}
      </tbody>
    </table></div>
  `;
}
