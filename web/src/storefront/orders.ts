import { html, nothing } from 'lit-html';
import { lineTotalCell } from '../discounts.ts';
import type { Fulfillment, Order, Page, Return } from '../types.ts';
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
  paymentText,
  RENDERED,
  returnStatusText,
  shortId,
  statusBadge,
} from '../ui.ts';
import { totalsTable } from './cart.ts';

const PAGE_SIZE = 10;

export async function ordersPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const page = Number(query.get('page') ?? '1') || 1;
  const list = await ctx.api.get<Page<Order>>(`/v1/orders?page=${page}&size=${PAGE_SIZE}`);
  const pages = Math.max(1, Math.ceil(list.total / list.size));
  return html`
    <h1>Your orders</h1>
    ${
      list.items.length === 0
        ? html`<p>You have no orders yet. <a href="/">Browse the shop</a></p>`
        : html`<div class="table-scroll"><table class="lines">
          <caption class="visually-hidden">Your orders, newest first</caption>
          <thead><tr><th scope="col">Order</th><th scope="col">Placed</th><th scope="col">Status</th><th scope="col">Total</th></tr></thead>
          <tbody>
            ${list.items.map(
              (order) => html`<tr data-order=${order.id}>
                <td><a href="/orders/${order.id}">#${shortId(order.id)}</a></td>
                <td>${dateTime(order.createdAt)}</td>
                <td>${statusBadge(order.status)}${order.cancelReason === 'payment_declined' ? html` <span class="muted">(card declined)</span>` : nothing}</td>
                <td>${money(order.total)}</td>
              </tr>`,
            )}
          </tbody>
        </table></div>`
    }
    ${
      pages > 1
        ? html`<nav class="pager" aria-label="Pages">
          ${page > 1 ? html`<a href="/orders?page=${page - 1}" rel="prev">← Newer</a>` : nothing}
          <span>Page ${page} of ${pages}</span>
          ${page < pages ? html`<a href="/orders?page=${page + 1}" rel="next">Older →</a>` : nothing}
        </nav>`
        : nothing
    }
  `;
}

/**
 * Follows the shopper's order events on the WebSocket stream (API.md, Realtime) and reloads the
 * order page when one is about the order shown. The token goes in the first message, not the URL,
 * so it stays out of access logs. One socket at a time; it closes when the page changes.
 */
let live: { socket: WebSocket; orderId: string; following: boolean } | null = null;

const LIVE_MARK = 'live-updates';

function followOrder(ctx: AppContext, orderId: string): void {
  if (live?.orderId === orderId && live.socket.readyState <= WebSocket.OPEN) return;
  live?.socket.close();
  const session = ctx.api.session();
  if (!session || !('WebSocket' in window)) return;
  const socket = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`,
  );
  const current = { socket, orderId, following: false };
  live = current;
  socket.addEventListener('open', () =>
    socket.send(JSON.stringify({ type: 'auth', token: session.accessToken })),
  );
  // The mark shows while this socket is subscribed; a redraw re-renders the page, so it syncs after each.
  const sync = () =>
    document.getElementById(LIVE_MARK)?.toggleAttribute('hidden', !(live === current && current.following));
  document.addEventListener(RENDERED, sync);
  socket.addEventListener('message', (message) => {
    const event = JSON.parse(String(message.data)) as { type?: string; data?: { orderId?: string } };
    if (event.type === 'authenticated') {
      current.following = true;
      sync();
    } else if (event.data?.orderId === orderId && location.pathname === `/orders/${orderId}`) {
      void ctx.refresh();
    }
  });
  socket.addEventListener('close', () => {
    current.following = false;
    sync();
  });
  ctx.onLeave(() => {
    socket.close();
    document.removeEventListener(RENDERED, sync);
    if (live === current) live = null;
  });
}

export async function orderPage(
  ctx: AppContext,
  params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  // Back from the bank (3-D Secure): the payment is settled now rather than when the webhook comes.
  const returned = query.get('payment') === 'returned';
  // A guest: the order's token, from its mail's link or kept since checkout, opens it.
  const guest = ctx.api.session() === null;
  const linkToken = query.get('token');
  if (guest && linkToken) ctx.api.rememberOrderToken(params.id, linkToken);
  const [order, shipments, returns] = await Promise.all([
    returned
      ? ctx.api.post<Order>(`/v1/orders/${params.id}/payment/confirm`)
      : ctx.api.get<Order>(`/v1/orders/${params.id}`),
    ctx.api.get<{ items: Fulfillment[] }>(`/v1/orders/${params.id}/fulfillments`),
    ctx.api.get<{ items: Return[] }>(`/v1/orders/${params.id}/returns`),
  ]);
  ctx.setTitle(`Order #${shortId(order.id)}`);
  followOrder(ctx, order.id);
  // Only a paid order that has not begun to ship can be cancelled (the API refuses the rest).
  const cancellable = !guest && order.status === 'confirmed';
  // What may still go back: shipped units not already in a return.
  const sum = (lists: Array<{ items: Array<{ orderItemId: string; quantity: number }> }>, id: string) =>
    lists
      .flatMap((list) => list.items)
      .reduce((total, item) => total + (item.orderItemId === id ? item.quantity : 0), 0);
  const returnableOf = new Map(
    order.items.map((line) => [line.id, sum(shipments.items, line.id) - sum(returns.items, line.id)]),
  );
  const returnable = [...returnableOf.values()].some((quantity) => quantity > 0);
  const itemList = itemListOf(order);
  const cancel = (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm('Cancel this order? The payment is refunded.')) return;
      await ctx.api.post(`/v1/orders/${order.id}/cancel`);
      await ctx.refresh();
      ctx.flash('info', 'Your order was cancelled and the payment refunded.');
    });
  const requestReturn = (event: SubmitEvent) => {
    const values = formValues(event);
    const items = order.items
      .map((line) => ({ orderItemId: line.id, quantity: Number(values[`qty-${line.id}`] ?? 0) }))
      .filter((item) => item.quantity > 0);
    return act(ctx, event, async () => {
      if (items.length === 0) throw new Error('Choose at least one item to return');
      const created = await ctx.api.post<Return>(`/v1/orders/${order.id}/returns`, {
        items,
        reason: values.reason,
      });
      await ctx.refresh();
      ctx.flash('info', `Return #${shortId(created.id)} requested. We refund it when the parcel arrives.`);
    });
  };

  return html`
    ${guest ? nothing : html`<nav aria-label="Breadcrumb"><a href="/orders">← Your orders</a></nav>`}
    <h1>Order #${shortId(order.id)}</h1>
    ${
      guest && order.email
        ? html`<p class="muted" data-testid="guest-note">Placed as a guest; updates go to ${order.email}.
          <a href="/register">Create an account</a> with that address to keep your orders together.</p>`
        : nothing
    }
    ${
      (query.get('placed') || returned) && order.status !== 'cancelled'
        ? html`<p class="alert info" role="status">Thank you! Your order has been placed.</p>`
        : nothing
    }
    <p>Status: <span aria-live="polite" id="order-status">${statusBadge(order.status)}</span>
      <span class="muted" id=${LIVE_MARK} hidden>· updates live</span>
      ${order.status === 'pending' && !order.payment.action ? html`<span class="muted">Waiting for the payment provider; this page updates by itself.</span>` : nothing}</p>
    ${
      order.status === 'pending' && order.payment.action?.url
        ? html`<p class="alert info" role="status">Your bank needs you to confirm this payment.
          <a class="button" href=${order.payment.action.url}>Confirm with your bank</a></p>`
        : nothing
    }
    ${order.cancelReason ? html`<p class="muted" data-testid="cancel-reason">${cancellationText(order.cancelReason)}</p>` : nothing}
    <p>Placed ${dateTime(order.createdAt)} · Payment ${paymentText(order.payment.status)}
      ${order.payment.refunded.amount > 0 ? html` · refunded ${money(order.payment.refunded)}` : nothing}</p>
    ${balanceText(order) ? html`<p data-balance>${balanceText(order)}</p>` : nothing}
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Items</caption>
      <thead><tr><th scope="col">Item</th><th scope="col">Quantity</th><th scope="col">Price</th><th scope="col">Total</th></tr></thead>
      <tbody>
        ${order.items.map(
          (
            line,
          ) => html`<tr><td>${line.name} <span class="muted">${line.sku}</span></td><td>${line.quantity}</td>
            <td>${money(line.unitPrice)}${line.priceList ? html`<br /><span class="muted">${line.priceList.name}</span>` : nothing}</td>${lineTotalCell(line, order.totals)}</tr>`,
        )}
      </tbody>
    </table></div>
    <div class="columns">
      <section aria-labelledby="ship-to">
        <h2 id="ship-to">Shipping to</h2>
        <address>
          ${order.shippingAddress.name}<br />${order.shippingAddress.line1}<br />
          ${order.shippingAddress.line2 ? html`${order.shippingAddress.line2}<br />` : nothing}
          ${order.shippingAddress.postalCode} ${order.shippingAddress.city}<br />${order.shippingAddress.country}
        </address>
        ${order.shippingMethod?.name ? html`<p>${order.shippingMethod.name}</p>` : nothing}
      </section>
      <section aria-labelledby="totals-heading">
        <h2 id="totals-heading">Totals</h2>
        ${totalsTable(order.totals, 'Order totals')}
      </section>
    </div>
    ${
      shipments.items.length > 0
        ? html`<section aria-labelledby="shipments-heading">
          <h2 id="shipments-heading">Shipments</h2>
          <ul class="shipments">
            ${shipments.items.map(
              (shipment) => html`<li class="card" data-testid="shipment">
                <p><strong>${shipment.carrier}</strong> · tracking number <span class="tracking">${shipment.trackingNumber}</span></p>
                <p>${itemList(shipment.items)} · sent ${dateTime(shipment.createdAt)}</p>
              </li>`,
            )}
          </ul>
        </section>`
        : nothing
    }
    ${
      returns.items.length > 0
        ? html`<section aria-labelledby="returns-heading">
          <h2 id="returns-heading">Returns</h2>
          <ul class="returns">
            ${returns.items.map(
              (item) => html`<li class="card" data-testid="return">
                <p><strong>${returnStatusText(item.status)}</strong>${item.refund ? html` · refund ${money(item.refund)}` : nothing}</p>
                <p>${itemList(item.items)} · asked ${dateTime(item.createdAt)} · “${item.reason}”</p>
              </li>`,
            )}
          </ul>
        </section>`
        : nothing
    }
    ${cancellable ? html`<p><button type="button" class="danger" @click=${cancel}>Cancel order</button></p>` : nothing}
    ${
      returnable && guest
        ? html`<p data-testid="guest-returns">To send items back, <a href="/register">create an account</a> with ${order.email}: once
          the address is confirmed, this order is in it, with a form to return them.</p>`
        : nothing
    }
    ${
      returnable && !guest
        ? html`<details>
          <summary>Return items</summary>
          <form class="stack" @submit=${requestReturn}>
            ${order.items
              .filter((line) => (returnableOf.get(line.id) ?? 0) > 0)
              .map(
                (line) => html`<label>${line.name}: quantity to return (up to ${returnableOf.get(line.id)})
                  <input type="number" name=${`qty-${line.id}`} min="0" max=${returnableOf.get(line.id) ?? 0} value="0" /></label>`,
              )}
            <label>Reason <input name="reason" required maxlength="500" /></label>
            <button type="submit">Request return</button>
          </form>
        </details>`
        : nothing
    }
  `;
}
