import { html, nothing, render, type TemplateResult } from 'lit-html';
import { type Api, ApiError, createApi } from './api.ts';
import { describeError } from './errors.ts';
import { formatMoney, type Money } from './money.ts';
import { matchPath, startRouter } from './router.ts';
import { browserGuestStore, browserSessionStore } from './session.ts';
import type { Order, OrderStatus } from './types.ts';

export { describeError };

export type Content = TemplateResult | typeof nothing;
export type Drawing = () => Content;

/** Dispatched on document after each draw, for code that adjusts what lit-html rendered. */
export const RENDERED = 'emporium:rendered';

export interface Flash {
  kind: 'error' | 'info';
  message: string;
}

export interface AppContext {
  api: Api;
  navigate(to: string, replace?: boolean): void;
  /** Loads the current page again and redraws it. */
  refresh(): Promise<void>;
  /** Shows a message above the page (role=alert for errors, status otherwise) until the next page. */
  flash(kind: Flash['kind'], message: string): void;
  /** Takes the message above the page away. */
  clearFlash(): void;
  /** Redraws without loading (after local state changed). */
  redraw(): void;
  /** Names the page in the browser's title once its content is known (e.g. the product's name). */
  setTitle(title: string): void;
  /** Runs `task` when the shopper next goes to another page (closing what this page opened). */
  onLeave(task: () => void): void;
}

export interface PageRoute {
  pattern: string;
  /** A page that needs a signed-in user: without one, the app goes to sign-in and comes back after. */
  signedIn?: boolean;
  title: (params: Record<string, string>) => string;
  /**
   * The page's content, or a function that draws it: a page with state of its own (rows added to
   * a form) returns the function, and `ctx.redraw()` calls it again without loading.
   */
  view: (
    ctx: AppContext,
    params: Record<string, string>,
    query: URLSearchParams,
  ) => Promise<Content | Drawing> | Content | Drawing;
}

export interface AppOptions {
  /** The name after each page's title; read on every page (a shop may be renamed while open). */
  appName: () => string;
  base: string;
  routes: PageRoute[];
  signInPath: string;
  layout: (ctx: AppContext, content: Content, flash: Flash | null) => TemplateResult;
  notFound: () => Content;
  /** Whether a visitor who is not signed in may shop as a guest, in their language (the storefront, not the console). */
  guests?: boolean;
}

export const money = (value: Money) => formatMoney(value);

/** The store's default currency, which the server writes into the page: variant prices are in it. */
export const STORE_CURRENCY =
  document.querySelector<HTMLMetaElement>('meta[name="emporium-store-currency"]')?.content || 'EUR';

/** The catalog's languages, the shop's own first (the server writes them into the page). */
export const STORE_LOCALES = (
  document.querySelector<HTMLMetaElement>('meta[name="emporium-store-locales"]')?.content || 'en'
).split(',');

/** A language's name in the English of the console's sentences ("German" for de). */
export const languageName = (locale: string) =>
  new Intl.DisplayNames(['en'], { type: 'language' }).of(locale) ?? locale;

const SHOPPER_LOCALE_KEY = 'emporium.locale';

/**
 * The language the shopper reads the catalog in: the one they chose in this browser, else the
 * first of the browser's own the shop has. Sent as Accept-Language with every call.
 */
export const shopperLocale = {
  get(): string {
    const chosen = localStorage.getItem(SHOPPER_LOCALE_KEY);
    if (chosen && STORE_LOCALES.includes(chosen)) return chosen;
    const languages = navigator.languages.map((tag) => tag.toLowerCase());
    return (
      STORE_LOCALES.find((locale) => languages.some((tag) => tag.split('-')[0] === locale.split('-')[0])) ??
      STORE_LOCALES[0]
    );
  },
  set: (locale: string) => localStorage.setItem(SHOPPER_LOCALE_KEY, locale),
};

const SHOPPER_CURRENCY_KEY = 'emporium.currency';

/**
 * The currency the shopper's cart is in (its region's, once it has an address), remembered in
 * this browser so the shelf shows the prices they will pay from the first page on.
 */
export const shopperCurrency = {
  get: () => localStorage.getItem(SHOPPER_CURRENCY_KEY) ?? STORE_CURRENCY,
  set: (currency: string) => localStorage.setItem(SHOPPER_CURRENCY_KEY, currency),
};

/** A variant's price in the shopper's currency where it has one, else its store price. */
export function shelfPrice(variant: { price: Money; prices: Money[] }): Money {
  const currency = shopperCurrency.get();
  if (variant.price.currency === currency) return variant.price;
  return variant.prices.find((price) => price.currency === currency) ?? variant.price;
}

/** An order's state in words, as shoppers and staff read it. */
export const STATUS_TEXT: Record<OrderStatus, string> = {
  pending: 'Pending payment',
  confirmed: 'Confirmed',
  cancelled: 'Cancelled',
  partially_shipped: 'Partly shipped',
  shipped: 'Shipped',
};

export const statusBadge = (status: OrderStatus) =>
  html`<span class="badge status-${status}" data-status=${status}>${STATUS_TEXT[status] ?? status}</span>`;

const PAYMENT_TEXT: Record<string, string> = {
  pending: 'waiting for the provider',
  requires_action: 'waiting for you to confirm it with your bank',
  authorized: 'authorized',
  partially_captured: 'partly taken, the rest as the items ship',
  declined: 'declined',
  captured: 'paid',
  voided: 'released, nothing charged',
  refunded: 'refunded',
  partially_refunded: 'partly refunded',
  failed: 'failed, nothing charged',
  not_required: 'paid by gift card',
};

/** A payment's state as the shopper and staff read it. */
export const paymentText = (status: string) => PAYMENT_TEXT[status] ?? 'being processed';

/** What a gift card or store credit paid of an order, and what went back to it, as one sentence. */
export function balanceText(order: Pick<Order, 'giftCard' | 'storeCredit'>): string | undefined {
  const paid = order.giftCard ?? order.storeCredit;
  if (!paid) return undefined;
  const from = order.giftCard ? `the gift card ending ${order.giftCard.last4}` : 'store credit';
  const back = paid.refunded.amount > 0 ? `, ${money(paid.refunded)} of it given back there` : '';
  return `${money(paid.amount)} from ${from}${back}.`;
}

const RETURN_TEXT: Record<string, string> = {
  requested: 'Requested: waiting for the parcel',
  receiving: 'Arrived: being refunded',
  received: 'Received and refunded',
};

export const returnStatusText = (status: string) => RETURN_TEXT[status] ?? 'In progress';

export const shortId = (id: string) => id.slice(-8);

/** The lines a fulfillment or return names, by the product names the order shows ("2 × Mug, 1 × Tee"). */
export function itemListOf(order: { items: Array<{ id: string; name: string }> }) {
  const nameOf = new Map(order.items.map((line) => [line.id, line.name]));
  return (items: Array<{ orderItemId: string; quantity: number }>) =>
    items.map((item) => `${item.quantity} × ${nameOf.get(item.orderItemId) ?? 'an item'}`).join(', ');
}

/** A list's pages: where the reader is, and links to the pages either side. */
export function pager(
  list: { total: number; page: number; size: number },
  noun: string,
  link: (page: number) => string,
  labels = { previous: '← Newer', next: 'Older →' },
): Content {
  const pages = Math.max(1, Math.ceil(list.total / list.size));
  return html`<nav class="pager" aria-label="Pages">
    ${list.page > 1 ? html`<a href=${link(list.page - 1)}>${labels.previous}</a>` : nothing}
    <span>${list.total} ${noun} · page ${list.page} of ${pages}</span>
    ${list.page < pages ? html`<a href=${link(list.page + 1)}>${labels.next}</a>` : nothing}
  </nav>`;
}

/** Why an order was cancelled, in the words the cancellation email uses. */
export function cancellationText(reason: string): string {
  switch (reason) {
    case 'payment_declined':
      return 'The card was declined, so the order was not placed. Nothing was charged; the items went back to the cart.';
    case 'reservation_expired':
      return 'The payment did not complete in time, so the order was not placed. Any amount taken for it was refunded; the items went back to the cart.';
    case 'cancelled_by_customer':
      return 'Cancelled by the customer; the payment was refunded.';
    case 'cancelled_by_staff':
      return 'Cancelled by the shop; the payment was refunded.';
    default:
      return 'The payment could not be completed, so the order was not placed. Nothing was charged.';
  }
}

export const dateTime = (iso: string) =>
  html`<time datetime=${iso}>${new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}</time>`;

/** The page's main landmark: the flash message (an alert for errors), then the page itself. */
export const mainView = (content: Content, flash: Flash | null) => html`<main id="main" tabindex="-1">
  ${
    flash
      ? html`<p class="flash alert ${flash.kind}" role=${flash.kind === 'error' ? 'alert' : 'status'}>${flash.message}</p>`
      : nothing
  }
  ${content}
</main>`;

/** The values of a submitted form as strings. */
export function formValues(event: SubmitEvent): Record<string, string> {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  return Object.fromEntries([...new FormData(form)].map(([key, value]) => [key, String(value)]));
}

/**
 * Runs a user action with its button disabled; a refused action shows the API's own words as an
 * alert instead of failing silently.
 */
export async function act(ctx: AppContext, event: Event, task: () => Promise<void>): Promise<void> {
  const form = (event.currentTarget as Element).closest('form');
  const controls = form
    ? [...form.querySelectorAll<HTMLButtonElement>('button')]
    : [event.currentTarget as HTMLButtonElement];
  for (const control of controls) control.disabled = true;
  // A message about an earlier attempt goes as soon as the person tries again.
  ctx.clearFlash();
  try {
    await task();
  } catch (error) {
    ctx.flash('error', describeError(error));
  } finally {
    for (const control of controls) control.disabled = false;
  }
}

/**
 * Tables sit in `.table-scroll` boxes that scroll sideways when the screen is narrower than the
 * table. A box that does scroll becomes a named region in the tab order, so a keyboard can scroll
 * it and a screen reader says what it holds; one that fits stays out of the way.
 */
function markScrollingTables(root: HTMLElement) {
  for (const box of root.querySelectorAll<HTMLElement>('.table-scroll')) {
    if (box.scrollWidth > box.clientWidth) {
      const caption = box.querySelector('caption')?.textContent?.trim();
      box.setAttribute('role', 'region');
      box.setAttribute('aria-label', `${caption || 'Table'}, scrolls sideways`);
      box.tabIndex = 0;
    } else {
      box.removeAttribute('role');
      box.removeAttribute('aria-label');
      box.removeAttribute('tabindex');
    }
  }
}

/** Starts a single-page app on #app: routing, loading, errors and the sign-in redirect. */
export function startApp(options: AppOptions): AppContext {
  const root = document.getElementById('app')!;
  // The static "Loading…" of index.html is not lit-html's to update: clear it once.
  root.replaceChildren();
  const store = browserSessionStore();
  const api = createApi({
    store,
    ...(options.guests ? { guest: browserGuestStore(), language: shopperLocale.get } : {}),
  });
  let content: Content | Drawing = nothing;
  let flash: Flash | null = null;
  let sequence = 0;
  let leaving: (() => void)[] = [];
  // After a navigation the new page's main landmark takes the focus, so a screen reader reads it.
  let moveFocus = false;

  const draw = () => {
    render(options.layout(ctx, typeof content === 'function' ? content() : content, flash), root);
    markScrollingTables(root);
    document.dispatchEvent(new Event(RENDERED));
  };
  addEventListener('resize', () => markScrollingTables(root));

  async function load(): Promise<void> {
    const current = ++sequence;
    const path = location.pathname.replace(/\/+$/, '') || '/';
    const query = new URLSearchParams(location.search);
    const found = options.routes
      .map((route) => ({ route, params: matchPath(route.pattern, path) }))
      .find((candidate) => candidate.params);
    if (!found) {
      document.title = `Not found · ${options.appName()}`;
      content = options.notFound();
      draw();
      return;
    }
    const { route, params } = found as { route: PageRoute; params: Record<string, string> };
    if (route.signedIn && !api.session()) {
      ctx.navigate(
        `${options.signInPath}?next=${encodeURIComponent(location.pathname + location.search)}`,
        true,
      );
      return;
    }
    document.title = `${route.title(params)} · ${options.appName()}`;
    root.querySelector('main')?.setAttribute('aria-busy', 'true');
    let next: Content | Drawing;
    try {
      next = await route.view(ctx, params, query);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        ctx.navigate(`${options.signInPath}?next=${encodeURIComponent(location.pathname)}`, true);
        return;
      }
      next = html`<h1>Something went wrong</h1>
        <p role="alert" class="alert error">${describeError(error)}</p>
        <p><button type="button" @click=${() => ctx.refresh()}>Try again</button></p>`;
    }
    if (current !== sequence) return;
    content = next;
    draw();
    const main = root.querySelector('main');
    main?.removeAttribute('aria-busy');
    if (moveFocus) main?.focus({ preventScroll: true });
    moveFocus = false;
  }

  const router = startRouter(options.base, () => {
    for (const task of leaving) task();
    leaving = [];
    flash = null;
    moveFocus = true;
    void load();
  });
  const ctx: AppContext = {
    api,
    navigate: router.navigate,
    refresh: load,
    flash(kind, message) {
      flash = { kind, message };
      draw();
      root.querySelector('.flash')?.scrollIntoView({ block: 'nearest' });
    },
    clearFlash() {
      if (!flash) return;
      flash = null;
      draw();
    },
    redraw: draw,
    setTitle(title) {
      document.title = `${title} · ${options.appName()}`;
    },
    onLeave(task) {
      leaving.push(task);
    },
  };
  store.onChange(() => void load());
  void load();
  return ctx;
}
