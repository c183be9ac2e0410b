import { html, nothing } from 'lit-html';
import { ADMIN_BASE } from '../../../src/modules/web/pages.ts';
import { type AppContext, money, shortId } from '../ui.ts';

/** A staff-feed event as the console shows it: a sentence and where it leads. */
interface Notice {
  id: string;
  text: string;
  href: string;
}

interface FeedEvent {
  id?: string;
  type?: string;
  data?: {
    orderId?: string;
    total?: { amount: number; currency: string };
    sku?: string;
    available?: number;
  };
}

/** The newest few are kept: a busy shop's stream must not grow the page without end. */
const KEPT = 5;
/** After a dropped connection (a deploy, an expired token), the console reconnects after this. */
const RECONNECT_MS = 3_000;
/** Pages whose figures a new order changes: they reload when one comes. */
const REFRESHED = [`${ADMIN_BASE}/dashboard`, `${ADMIN_BASE}/orders`];

let socket: WebSocket | null = null;
let reconnect: ReturnType<typeof setTimeout> | undefined;
let notices: Notice[] = [];

function noticeOf(event: FeedEvent): Notice | undefined {
  if (!event.id || !event.data) return undefined;
  if (event.type === 'order.confirmed' && event.data.orderId)
    return {
      id: event.id,
      text: `New order #${shortId(event.data.orderId)}${event.data.total ? ` for ${money(event.data.total)}` : ''}`,
      href: `${ADMIN_BASE}/orders/${event.data.orderId}`,
    };
  if (event.type === 'inventory.low' && event.data.sku) {
    const left = event.data.available ?? 0;
    return {
      id: event.id,
      text: `Running low: ${event.data.sku}, ${left <= 0 ? 'none' : left} left`,
      href: `${ADMIN_BASE}?${new URLSearchParams({ q: event.data.sku })}`,
    };
  }
  return undefined;
}

/**
 * Follows the shop's staff feed (new paid orders, low stock) while staff who read orders are
 * signed in: each appears as a notice without a reload, and the dashboard and order list reload.
 * One socket for the console; the token goes in the first message, not the URL.
 */
export function followShop(ctx: AppContext): void {
  const session = ctx.api.session();
  if (!session?.user.permissions.includes('orders:read')) {
    stopFollowing();
    return;
  }
  if (socket || reconnect || !('WebSocket' in window)) return;
  const opened = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`,
  );
  socket = opened;
  opened.addEventListener('open', () =>
    opened.send(JSON.stringify({ type: 'auth', token: session.accessToken })),
  );
  opened.addEventListener('message', (message) => {
    const notice = noticeOf(JSON.parse(String(message.data)) as FeedEvent);
    if (!notice || notices.some((each) => each.id === notice.id)) return;
    notices = [notice, ...notices].slice(0, KEPT);
    if (REFRESHED.includes(location.pathname)) void ctx.refresh();
    else ctx.redraw();
  });
  opened.addEventListener('close', () => {
    if (socket !== opened) return;
    socket = null;
    reconnect = setTimeout(() => {
      reconnect = undefined;
      followShop(ctx);
    }, RECONNECT_MS);
  });
}

function stopFollowing(): void {
  clearTimeout(reconnect);
  reconnect = undefined;
  const closing = socket;
  socket = null;
  closing?.close();
  notices = [];
}

/** The notices, newest first, in a polite live region so a screen reader reads each as it comes. */
export function liveNotices(ctx: AppContext) {
  const dismiss = (id: string) => {
    notices = notices.filter((notice) => notice.id !== id);
    ctx.redraw();
  };
  return html`<aside class="notices" aria-live="polite" aria-label="Live updates">
    ${
      notices.length === 0
        ? nothing
        : html`<ul>${notices.map(
            (notice) => html`<li data-notice=${notice.id}><a href=${notice.href}>${notice.text}</a>
              <button type="button" class="link" aria-label="Dismiss: ${notice.text}" @click=${() => dismiss(notice.id)}>Dismiss</button></li>`,
          )}</ul>`
    }
  </aside>`;
}
