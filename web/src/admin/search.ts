import { html, nothing, render } from 'lit-html';
import { ADMIN_BASE } from '../../../src/modules/web/pages.ts';
import type { Customer, Order, Page, ProductList } from '../types.ts';
import { type AppContext, dateTime, describeError, money, STATUS_TEXT, shortId } from '../ui.ts';

interface Hit {
  href: string;
  text: string;
  detail: string;
}

interface Group {
  name: string;
  hits: Hit[];
}

/** Typing waits this long for the next key before it asks the API. */
const DEBOUNCE_MS = 200;
const PER_GROUP = 5;

/** What each part of the shop finds, for staff whose role reads it. */
const SOURCES: Array<{ name: string; permission: string; find(ctx: AppContext, q: string): Promise<Hit[]> }> =
  [
    {
      name: 'Products',
      permission: 'catalog:read',
      async find(ctx, q) {
        const found = await ctx.api.get<ProductList>(
          `/v1/products?${new URLSearchParams({ q, size: String(PER_GROUP) })}`,
        );
        return found.items.map((product) => ({
          href: `${ADMIN_BASE}/products/${product.id}`,
          text: product.name,
          detail: product.variants.map((variant) => variant.sku).join(', '),
        }));
      },
    },
    {
      name: 'Orders',
      permission: 'orders:read',
      async find(ctx, q) {
        const found = await ctx.api.get<Page<Order>>(
          `/v1/orders?${new URLSearchParams({ q, size: String(PER_GROUP) })}`,
        );
        return found.items.map((order) => ({
          href: `${ADMIN_BASE}/orders/${order.id}`,
          text: `Order #${shortId(order.id)}`,
          detail: `${order.shippingAddress.name} · ${STATUS_TEXT[order.status]} · ${money(order.total)} · ${dateTime(order.createdAt)}`,
        }));
      },
    },
    {
      name: 'Customers',
      permission: 'customers:read',
      async find(ctx, q) {
        const found = await ctx.api.get<Page<Customer>>(
          `/v1/customers?${new URLSearchParams({ q, size: String(PER_GROUP) })}`,
        );
        return found.items.map((customer) => ({
          href: `${ADMIN_BASE}/customers/${customer.id}`,
          text: customer.name,
          detail: customer.email,
        }));
      },
    },
  ];

let dialog: HTMLDialogElement | undefined;

/**
 * The console's global search (Ctrl-K or ⌘K, or the header's Search button): products, orders and
 * customers at once, each as far as the role may read them. Arrow keys move through the results.
 */
export function installSearch(ctx: AppContext): void {
  if (dialog) return;
  const opened = document.createElement('dialog');
  opened.className = 'search-dialog';
  opened.setAttribute('aria-label', 'Search the shop');
  document.body.append(opened);
  dialog = opened;
  let groups: Group[] = [];
  let asked = '';
  let error = '';
  let timer: ReturnType<typeof setTimeout> | undefined;

  const draw = () =>
    render(
      html`<form method="dialog" class="stack" @submit=${(event: Event) => event.preventDefault()}>
        <label>Search products, orders and customers
          <input type="search" name="q" autocomplete="off" maxlength="200" @input=${typed} @keydown=${moveFrom} /></label>
        ${error ? html`<p role="alert" class="alert error">${error}</p>` : nothing}
        <div role="status" class="muted">${
          asked && groups.every((group) => group.hits.length === 0) ? `Nothing matches “${asked}”.` : ''
        }</div>
        ${groups
          .filter((group) => group.hits.length > 0)
          .map(
            (group) =>
              html`<section><h2>${group.name}</h2><ul class="plain">${group.hits.map(
                (hit) => html`<li><a href=${hit.href} @click=${close} @keydown=${moveFrom}>${hit.text}</a>
                <span class="muted">${hit.detail}</span></li>`,
              )}</ul></section>`,
          )}
        <p class="muted">Press Escape to close.</p>
      </form>`,
      opened,
    );

  async function search(q: string) {
    const permissions = ctx.api.session()?.user.permissions ?? [];
    const readable = SOURCES.filter((source) => permissions.includes(source.permission as never));
    try {
      const found = await Promise.all(
        readable.map(async (source) => ({ name: source.name, hits: await source.find(ctx, q) })),
      );
      // A slower answer to an older query must not replace a newer one's.
      if (q !== (opened.querySelector('input')?.value.trim() ?? '')) return;
      groups = found;
      asked = q;
      error = '';
    } catch (failure) {
      error = describeError(failure);
    }
    draw();
  }

  function typed(event: Event) {
    const q = (event.target as HTMLInputElement).value.trim();
    clearTimeout(timer);
    if (!q) {
      groups = [];
      asked = '';
      return draw();
    }
    timer = setTimeout(() => void search(q), DEBOUNCE_MS);
  }

  /** Down and up move between the box and the results, as in a list. */
  function moveFrom(event: KeyboardEvent) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const stops = [...opened.querySelectorAll<HTMLElement>('input, a')];
    const at = stops.indexOf(event.target as HTMLElement);
    const next = stops[(at + (event.key === 'ArrowDown' ? 1 : -1) + stops.length) % stops.length];
    event.preventDefault();
    next?.focus();
  }

  function close() {
    opened.close();
  }

  document.addEventListener('keydown', (event) => {
    if (event.key.toLowerCase() === 'k' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      openSearch();
    }
  });
  draw();
}

/** Opens the search with its box focused (and what was typed before selected). */
export function openSearch(): void {
  if (!dialog || dialog.open) return;
  dialog.showModal();
  const input = dialog.querySelector('input');
  input?.focus();
  input?.select();
}
