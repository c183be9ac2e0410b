import { html, nothing } from 'lit-html';
import { ADMIN_BASE } from '../../../src/modules/web/pages.ts';
import { ApiError, newIdempotencyKey } from '../api.ts';
import { decimalString, parseMoneyInput } from '../money.ts';
import type { Category, Page, Product, Stock, StockLocation, Variant } from '../types.ts';
import {
  type AppContext,
  act,
  type Content,
  type Drawing,
  describeError,
  formValues,
  money,
  pager,
  STORE_CURRENCY,
} from '../ui.ts';
import { imagesSection } from './product-images.ts';
import { translationsSection } from './product-translations.ts';

const PAGE_SIZE = 20;

export async function productsPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const request = new URLSearchParams({
    size: String(PAGE_SIZE),
    page: query.get('page') ?? '1',
    sort: '-createdAt',
  });
  if (query.get('q')) request.set('q', query.get('q')!);
  const archived = query.get('archived') === '1';
  const [list, categories] = await Promise.all([
    ctx.api.get<Page<Product>>(`/v1/${archived ? 'archived-products' : 'products'}?${request}`),
    ctx.api.get<{ items: Category[] }>('/v1/categories'),
  ]);
  const categoryName = new Map(categories.items.map((category) => [category.slug, category.name]));
  const restore = (product: Product) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.post(`/v1/products/${product.id}/restore`);
      await ctx.refresh();
      ctx.flash('info', `${product.name} is back in the shop.`);
    });
  const search = (event: SubmitEvent) => {
    const values = formValues(event);
    const next = new URLSearchParams({
      ...(values.q.trim() ? { q: values.q.trim() } : {}),
      ...(archived ? { archived: '1' } : {}),
    });
    ctx.navigate(`/admin${next.size > 0 ? `?${next}` : ''}`);
  };
  const createCategory = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      await ctx.api.post('/v1/categories', {
        slug: values.slug.trim(),
        name: values.name.trim(),
        ...(values.parentSlug ? { parentSlug: values.parentSlug } : {}),
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', `Category ${values.name} created.`);
    });
  };
  const selectAll = (event: Event) => {
    const on = (event.target as HTMLInputElement).checked;
    for (const box of document.querySelectorAll<HTMLInputElement>('#bulk input[name="product"]'))
      box.checked = on;
  };
  const changeSelected = (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const chosen = new Set(data.getAll('product').map(String));
    const products = list.items.filter((product) => chosen.has(product.id));
    return act(ctx, event, async () => {
      if (products.length === 0) throw new Error('Select at least one product');
      const done = await applyBulk(
        ctx,
        products,
        String(data.get('action')),
        String(data.get('value') ?? '').trim(),
      );
      // Done with this selection: the next change starts from none.
      form.reset();
      await ctx.refresh();
      ctx.flash('info', done);
    });
  };
  const pageLink = (to: number) =>
    `/admin?${new URLSearchParams({
      ...(query.get('q') ? { q: query.get('q')! } : {}),
      ...(archived ? { archived: '1' } : {}),
      page: String(to),
    })}`;
  return html`
    <h1>${archived ? 'Archived products' : 'Products'}</h1>
    <p><a class="button primary" href="/admin/products/new">New product</a>
      <a href="/admin/import">Import and export</a>
      ${archived ? html`<a href="/admin">Products in the shop</a>` : html`<a href="/admin?archived=1">Archived products</a>`}</p>
    <form class="inline" role="search" aria-label="Search products" @submit=${search}>
      <label>Search by name, words or SKU <input type="search" name="q" .value=${query.get('q') ?? ''} /></label>
      <button type="submit">Search</button>
    </form>
    ${list.items.length === 0 ? html`<p class="muted">${archived ? 'Nothing is archived.' : 'No products match.'}</p>` : nothing}
    <form id="bulk" class="stack" @submit=${changeSelected} aria-label="Change the selected products">
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">${archived ? 'Archived products' : 'Products, newest first'}</caption>
      <thead><tr><th scope="col"><input type="checkbox" aria-label="Select every product on this page" @change=${selectAll} /></th><th scope="col">Name</th><th scope="col">SKUs</th><th scope="col">Price</th><th scope="col">Available</th><th scope="col">Categories</th>${archived ? html`<th scope="col"><span class="visually-hidden">Action</span></th>` : nothing}</tr></thead>
      <tbody>
        ${list.items.map(
          (product) => html`<tr data-product=${product.id}>
            <td><input type="checkbox" name="product" value=${product.id} aria-label="Select ${product.name}" /></td>
            <td><a href="/admin/products/${product.id}">${product.name}</a></td>
            <td>${skusText(product.variants)}</td>
            <td>${priceRangeText(product.variants)}</td>
            <td>${product.variants.reduce((sum, variant) => sum + variant.available, 0)}</td>
            <td>${product.categories.map((slug) => categoryName.get(slug) ?? slug).join(', ')}</td>
            ${archived ? html`<td><button type="button" @click=${restore(product)}>Restore</button></td>` : nothing}
          </tr>`,
        )}
      </tbody>
    </table></div>
    ${list.items.length > 0 ? bulkControls(archived) : nothing}
    </form>
    ${pager(list, 'products', pageLink, { previous: '← Previous', next: 'Next →' })}
    <details>
      <summary>New category</summary>
      <form class="stack narrow" @submit=${createCategory} aria-label="New category">
        <label>Slug <input name="slug" required pattern="[a-z0-9]+(-[a-z0-9]+)*" maxlength="80" /></label>
        <label>Name <input name="name" required maxlength="200" /></label>
        <label>Parent <select name="parentSlug"><option value="">None</option>
          ${categories.items.map((category) => html`<option value=${category.slug}>${category.name}</option>`)}</select></label>
        <button type="submit">Create category</button>
      </form>
    </details>
  `;
}

/** What staff may do to the selected products at once; the value box says what it needs. */
function bulkControls(archived: boolean) {
  return html`<fieldset class="inline">
    <legend>With the selected products</legend>
    <label>Change <select name="action">
      ${
        archived
          ? html`<option value="restore">Restore to the shop</option>`
          : html`<option value="reprice">Raise or lower prices by a percentage</option>
            <option value="price">Set the price (${STORE_CURRENCY})</option>
            <option value="stock">Set the stock on hand (first location)</option>
            <option value="archive">Archive</option>`
      }
    </select></label>
    ${archived ? nothing : html`<label>By or to <input name="value" size="8" inputmode="decimal" placeholder="e.g. 10, -15, 24.90" /></label>`}
    <button type="submit">Apply</button>
  </fieldset>`;
}

/** A product's SKUs in a list row: the first, and how many more (its page lists them all). */
const skusText = (variants: readonly Variant[]) =>
  variants.length > 1 ? `${variants[0].sku} and ${variants.length - 1} more` : (variants[0]?.sku ?? '');

/** A product's price in a list row: one price, or its cheapest to dearest variant. */
function priceRangeText(variants: readonly Variant[]): string {
  if (variants.length === 0) return '';
  const amounts = variants.map((variant) => variant.price.amount);
  const [low, high] = [Math.min(...amounts), Math.max(...amounts)];
  const { currency } = variants[0].price;
  return low === high
    ? money({ amount: low, currency })
    : `${money({ amount: low, currency })} – ${money({ amount: high, currency })}`;
}

const productCount = (count: number) => `${count} ${count === 1 ? 'product' : 'products'}`;

/**
 * Applies one change to the products: prices and archiving in one all-or-nothing call; stock one
 * SKU at a time through the audited stock route (each an absolute count, so a retry is harmless).
 * Answers what was done, in a sentence.
 */
async function applyBulk(
  ctx: AppContext,
  products: Product[],
  action: string,
  value: string,
): Promise<string> {
  const productIds = products.map((product) => product.id);
  if (action === 'archive' || action === 'restore') {
    const done = await ctx.api.post<{ changed: number }>('/v1/products/bulk', {
      productIds,
      change: { kind: action },
    });
    return `${productCount(done.changed)} ${action === 'archive' ? 'archived' : 'back in the shop'}.`;
  }
  if (action === 'reprice') {
    const percent = Number(value.replace('%', ''));
    if (!Number.isInteger(percent) || percent === 0 || percent < -90 || percent > 500)
      throw new Error('Enter a whole percentage between -90 and 500, such as 10 or -15');
    const done = await ctx.api.post<{ changed: number }>('/v1/products/bulk', {
      productIds,
      change: { kind: 'reprice', percent },
    });
    return `Prices of ${productCount(done.changed)} ${percent > 0 ? 'raised' : 'lowered'} by ${Math.abs(percent)}%.`;
  }
  if (action === 'price') {
    const amount = parseMoneyInput(value, STORE_CURRENCY);
    if (amount === undefined) throw new Error('Enter the price, such as 24.90');
    const done = await ctx.api.post<{ changed: number }>('/v1/products/bulk', {
      productIds,
      change: { kind: 'price', amount: { amount, currency: STORE_CURRENCY } },
    });
    return `${productCount(done.changed)} now cost ${money({ amount, currency: STORE_CURRENCY })}.`;
  }
  const onHand = Number(value);
  if (!/^\d+$/.test(value) || onHand > 1_000_000)
    throw new Error('Enter the stock on hand as a whole number, such as 25');
  const skus = products.flatMap((product) => product.variants.map((variant) => variant.sku));
  for (const sku of skus) await ctx.api.put<Stock>(`/v1/inventory/${encodeURIComponent(sku)}`, { onHand });
  return `Stock set to ${onHand} for ${skus.length} ${skus.length === 1 ? 'variant' : 'variants'} of ${productCount(products.length)}.`;
}

function attributesText(attributes: Record<string, unknown>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
}

function parseAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (!pair.trim()) continue;
    const [key, ...rest] = pair.split('=');
    if (!key.trim() || rest.length === 0)
      throw new Error(`Attribute "${pair.trim()}" should look like size=M`);
    attributes[key.trim()] = rest.join('=').trim();
  }
  return attributes;
}

/** "Size: S, M, L" per line → the API's options. */
function parseOptions(text: string): Array<{ name: string; values: string[] }> {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [name, ...rest] = line.split(':');
      const values = rest
        .join(':')
        .split(',')
        .map((value) => value.trim())
        .filter(Boolean);
      if (!name.trim() || values.length === 0)
        throw new Error(`Option "${line.trim()}" should look like Size: S, M, L`);
      return { name: name.trim(), values };
    });
}

/** Every combination of the options' values, in order (the variant matrix). */
function combinations(options: Array<{ name: string; values: string[] }>): Array<Record<string, string>> {
  return options.reduce<Array<Record<string, string>>>(
    (rows, option) => rows.flatMap((row) => option.values.map((value) => ({ ...row, [option.name]: value }))),
    [{}],
  );
}

/** A variant row the form shows before it is saved (generated from the options). */
interface DraftRow {
  sku: string;
  price: string;
  options: Record<string, string>;
}

/** The form's variant rows as the API's variants; existing ones keep their id (and other-currency prices). */
function variantsFrom(values: Record<string, string>, rows: number, existing: Variant[]) {
  const variants = [];
  for (let row = 0; row < rows; row++) {
    const sku = values[`sku-${row}`]?.trim();
    if (!sku) continue;
    const amount = parseMoneyInput(values[`price-${row}`] ?? '', STORE_CURRENCY);
    if (amount === undefined) throw new Error(`The price of ${sku} is not an amount like 19.99`);
    const known = existing[row];
    const stock = values[`stock-${row}`];
    variants.push({
      ...(known ? { id: known.id } : {}),
      sku,
      price: { amount, currency: STORE_CURRENCY },
      ...(known?.prices.length ? { prices: known.prices } : {}),
      attributes: parseAttributes(values[`attributes-${row}`] ?? ''),
      options: parseAttributes(values[`options-${row}`] ?? ''),
      taxClass: values[`taxClass-${row}`] || 'standard',
      ...(!known && stock ? { stock: Number(stock) } : {}),
    });
  }
  if (variants.length === 0) throw new Error('A product needs at least one variant with a SKU');
  return variants;
}

export async function productFormPage(ctx: AppContext, params: Record<string, string>): Promise<Drawing> {
  const creating = !params.id;
  const [loaded, categories, taxClasses] = await Promise.all([
    creating ? null : ctx.api.request<Product>('GET', `/v1/products/${params.id}`),
    ctx.api.get<{ items: Category[] }>('/v1/categories'),
    ctx.api.get<{ items: Array<{ code: string; name: string }> }>('/v1/tax-classes'),
  ]);
  const product = loaded?.body;
  if (product) ctx.setTitle(`Edit ${product.name}`);
  const [stock, translations] = product
    ? await Promise.all([stockSection(ctx, product), translationsSection(ctx, product)])
    : [nothing, nothing];
  const images = product ? imagesSection(ctx, product) : undefined;
  // The version this form edits: a save sends it as If-Match, so a concurrent edit is not overwritten.
  const etag = loaded?.headers.get('etag') ?? undefined;
  const existing = product?.variants ?? [];
  const drafts: DraftRow[] = [];
  let rows = existing.length + 1;
  let createKey: string | null = null;

  const save = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const body = {
        name: values.name.trim(),
        description: values.description,
        categorySlugs: categories.items
          .map((category) => category.slug)
          .filter((slug) => values[`category-${slug}`]),
        options: parseOptions(values.options ?? ''),
        variants: variantsFrom(values, rows, existing),
      };
      try {
        if (creating) {
          createKey ??= newIdempotencyKey();
          const created = await ctx.api.post<Product>('/v1/products', body, {
            headers: { 'idempotency-key': createKey },
          });
          createKey = null;
          ctx.navigate(`/admin/products/${created.id}`, true);
          ctx.flash('info', `Product ${created.name} created.`);
        } else {
          await ctx.api.put(`/v1/products/${params.id}`, body, { headers: etag ? { 'if-match': etag } : {} });
          await ctx.refresh();
          ctx.flash('info', 'Saved.');
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) {
          throw new Error(
            'Someone else changed this product since you opened it. Reload the page to see their version, then make your change again.',
          );
        }
        if (!(error instanceof ApiError) || error.code !== 'NETWORK_ERROR') createKey = null;
        throw error;
      }
    });
  };
  const archive = (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm('Archive this product? It disappears from the shop; past orders keep it.')) return;
      await ctx.api.delete(`/v1/products/${params.id}`, { headers: etag ? { 'if-match': etag } : {} });
      ctx.navigate('/admin');
    });
  const restore = (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.post(`/v1/products/${params.id}/restore`, undefined, {
        headers: etag ? { 'if-match': etag } : {},
      });
      await ctx.refresh();
      ctx.flash('info', `${product!.name} is back in the shop.`);
    });
  const addRow = () => {
    rows++;
    ctx.redraw();
  };
  // The variant matrix: a row for every combination of the options no row has yet.
  const makeVariants = (event: Event) => {
    const form = (event.currentTarget as HTMLButtonElement).form!;
    const values = Object.fromEntries(new FormData(form)) as Record<string, string>;
    let options: ReturnType<typeof parseOptions>;
    try {
      options = parseOptions(values.options ?? '');
    } catch (error) {
      return ctx.flash('error', (error as Error).message);
    }
    if (options.length === 0) return ctx.flash('error', 'Write an option first, like Size: S, M, L');
    // New rows are made afresh each time (the first SKU typed is their stem); saved variants stay.
    const taken = existing.map((variant) => attributesText(variant.options));
    const base = (values['sku-0'] || values.name || 'SKU')
      .trim()
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .toUpperCase();
    const fresh = combinations(options).filter((combination) => !taken.includes(attributesText(combination)));
    drafts.length = 0;
    for (const combination of fresh) {
      drafts.push({
        sku: `${base}-${Object.values(combination).join('-')}`.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64),
        price: values['price-0'] ?? '',
        options: combination,
      });
    }
    rows = existing.length + drafts.length + 1;
    ctx.redraw();
    ctx.flash(
      'info',
      fresh.length === 0
        ? 'Every combination has a row already.'
        : `${fresh.length} variant rows added: check their SKUs and prices, then save.`,
    );
  };
  const variantRow = (row: number) => {
    const variant = existing[row];
    const draft = drafts[row - existing.length];
    return html`<tr>
      <td><label><span class="visually-hidden">SKU ${row + 1}</span>
        <input name=${`sku-${row}`} .value=${variant?.sku ?? draft?.sku ?? ''} pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" /></label></td>
      <td><label><span class="visually-hidden">Price ${row + 1} (${STORE_CURRENCY})</span>
        <input name=${`price-${row}`} inputmode="decimal" size="8" .value=${variant ? decimalString(variant.price) : (draft?.price ?? '')} /></label></td>
      <td><label><span class="visually-hidden">Options ${row + 1}</span>
        <input name=${`options-${row}`} placeholder="Size=M" .value=${attributesText(variant?.options ?? draft?.options ?? {})} /></label></td>
      <td><label><span class="visually-hidden">Attributes ${row + 1}</span>
        <input name=${`attributes-${row}`} placeholder="size=M, colour=red" .value=${variant ? attributesText(variant.attributes) : ''} /></label></td>
      <td><label><span class="visually-hidden">Tax class ${row + 1}</span>
        <select name=${`taxClass-${row}`}>
          ${taxClasses.items.map(
            (taxClass) =>
              html`<option value=${taxClass.code} ?selected=${(variant?.taxClass ?? 'standard') === taxClass.code}>${taxClass.name}</option>`,
          )}
        </select></label></td>
      <td>${
        variant
          ? html`${variant.available} available`
          : html`<label><span class="visually-hidden">Initial stock ${row + 1}</span>
            <input name=${`stock-${row}`} type="number" min="0" size="6" placeholder="stock" /></label>`
      }</td>
    </tr>`;
  };

  // A function: "Add a variant row" draws the form again with one more row, keeping what was typed.
  return () => html`
    <nav aria-label="Breadcrumb"><a href="/admin">← Products</a></nav>
    <h1>${creating ? 'New product' : `Edit ${product!.name}`}</h1>
    ${product?.archivedAt ? html`<p class="alert info" role="status">This product is archived: the shop does not show it. <button type="button" @click=${restore}>Restore it</button></p>` : nothing}
    ${product ? html`<p class="muted"><a href="/products/${product.id}">See it in the shop</a></p>` : nothing}
    <form class="stack" @submit=${save} aria-label=${creating ? 'New product' : 'Edit product'}>
      <label>Name <input name="name" required maxlength="200" .value=${product?.name ?? ''} /></label>
      <label>Description <textarea name="description" rows="4" maxlength="10000" .value=${product?.description ?? ''}></textarea></label>
      <fieldset>
        <legend>Categories</legend>
        <div class="checks">
          ${categories.items.length === 0 ? html`<p class="muted">No categories yet.</p>` : nothing}
          ${categories.items.map(
            (category) => html`<label class="check"><input type="checkbox" name=${`category-${category.slug}`}
              ?checked=${product?.categories.includes(category.slug) ?? false} /> ${category.name}</label>`,
          )}
        </div>
      </fieldset>
      <fieldset>
        <legend>Options</legend>
        <label>One option per line, its values after a colon
          <textarea name="options" rows="3" placeholder=${'Size: S, M, L\nColour: Red, Blue'}
            .value=${product?.options.map((option) => `${option.name}: ${option.values.join(', ')}`).join('\n') ?? ''}></textarea></label>
        <button type="button" @click=${makeVariants}>Make variants from options</button>
      </fieldset>
      <fieldset>
        <legend>Variants (price in ${STORE_CURRENCY}; leave a SKU empty to skip its row)</legend>
        <div class="table-scroll"><table class="lines">
          <thead><tr><th scope="col">SKU</th><th scope="col">Price</th><th scope="col">Options</th><th scope="col">Attributes</th><th scope="col">Tax class</th><th scope="col">Stock</th></tr></thead>
          <tbody>${Array.from({ length: rows }, (_, row) => variantRow(row))}</tbody>
        </table></div>
        <button type="button" @click=${addRow}>Add a variant row</button>
      </fieldset>
      <button type="submit" class="primary">${creating ? 'Create product' : 'Save changes'}</button>
    </form>
    ${images ? images() : html`<p class="muted">Images can be added once the product is created.</p>`}
    ${translations}
    ${stock}
    ${product && !product.archivedAt ? html`<p><button type="button" class="danger" @click=${archive}>Archive product</button></p>` : nothing}
  `;
}

async function stockSection(ctx: AppContext, product: Product): Promise<Content> {
  const [stocks, locations] = await Promise.all([
    Promise.all(
      product.variants.map((variant) =>
        ctx.api
          .get<Stock>(`/v1/inventory/${encodeURIComponent(variant.sku)}`)
          .catch((error) => describeError(error)),
      ),
    ),
    ctx.api
      .get<{ items: StockLocation[] }>('/v1/stock-locations')
      .then((page) => page.items)
      .catch(() => [] as StockLocation[]),
  ]);
  const nameOf = (code: string) => locations.find((location) => location.code === code)?.name ?? code;
  const stockUrl = (sku: string) => `/v1/inventory/${encodeURIComponent(sku)}`;
  const adjust = (sku: string) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.post(`${stockUrl(sku)}/adjustments`, {
        delta: Number(values.delta),
        reason: values.reason.trim(),
      });
      await ctx.refresh();
      ctx.flash('info', `Stock of ${sku} adjusted.`);
    });
  };
  const setAt = (sku: string) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.put(`${stockUrl(sku)}/locations/${values.location}`, { onHand: Number(values.onHand) });
      await ctx.refresh();
      ctx.flash('info', `Stock of ${sku} at ${nameOf(values.location)} set to ${values.onHand}.`);
    });
  };
  const transfer = (sku: string) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.post(`${stockUrl(sku)}/transfers`, {
        from: values.from,
        to: values.to,
        quantity: Number(values.quantity),
      });
      await ctx.refresh();
      ctx.flash(
        'info',
        `${values.quantity} of ${sku} moved from ${nameOf(values.from)} to ${nameOf(values.to)}.`,
      );
    });
  };
  const choices = (selected?: string) =>
    locations.map(
      (location) =>
        html`<option value=${location.code} ?selected=${location.code === selected}>${location.name}</option>`,
    );
  const perLocation = (
    sku: string,
    stock: Stock,
  ) => html`<tr class="sub" data-sku-locations=${sku}><td colspan="5">
    <div class="table-scroll"><table class="lines compact" aria-label=${`Stock of ${sku} by location`}>
      <thead><tr><th scope="col">Location</th><th scope="col">On hand</th><th scope="col">Reserved</th><th scope="col">Available</th></tr></thead>
      <tbody>${stock.locations.map(
        (share) =>
          html`<tr data-location=${share.code}><td>${nameOf(share.code)}</td><td data-location-stock="onHand">${share.onHand}</td><td>${share.reserved}</td><td>${share.available}</td></tr>`,
      )}</tbody>
    </table></div>
    ${
      locations.length > 0
        ? html`<form class="inline" @submit=${setAt(sku)} aria-label=${`Set stock of ${sku} at a location`}>
            <label>At <select name="location">${choices(stock.locations[0]?.code)}</select></label>
            <label>On hand <input name="onHand" type="number" required min="0" size="5" /></label>
            <button type="submit">Set</button>
          </form>`
        : nothing
    }
    ${
      locations.length > 1
        ? html`<form class="inline" @submit=${transfer(sku)} aria-label=${`Move stock of ${sku} between locations`}>
            <label>Move <input name="quantity" type="number" required min="1" size="4" /></label>
            <label>from <select name="from">${choices(stock.locations[0]?.code)}</select></label>
            <label>to <select name="to">${choices(locations.find((location) => location.code !== stock.locations[0]?.code)?.code)}</select></label>
            <button type="submit">Move</button>
          </form>`
        : nothing
    }
  </td></tr>`;
  return html`<section aria-labelledby="stock-heading">
    <h2 id="stock-heading">Stock</h2>
    <p class="muted">The totals are the sums of the <a href="${ADMIN_BASE}/locations">locations</a>; an adjustment
      changes the first location holding the SKU.</p>
    <div class="table-scroll"><table class="lines">
      <thead><tr><th scope="col">SKU</th><th scope="col">On hand</th><th scope="col">Reserved</th><th scope="col">Available</th><th scope="col">Adjust</th></tr></thead>
      <tbody>
        ${stocks.map((stock, index) => {
          const sku = product.variants[index].sku;
          if (typeof stock === 'string') return html`<tr><td>${sku}</td><td colspan="4">${stock}</td></tr>`;
          return html`<tr data-sku=${sku}>
            <td>${sku}</td><td data-stock="onHand">${stock.onHand}</td><td>${stock.reserved}</td><td>${stock.available}</td>
            <td><form class="inline" @submit=${adjust(sku)} aria-label=${`Adjust stock of ${sku}`}>
              <label>Change by <input name="delta" type="number" required size="5" /></label>
              <label>Reason <input name="reason" required maxlength="200" value="stock count" /></label>
              <button type="submit">Adjust</button>
            </form></td>
          </tr>
          ${perLocation(sku, stock)}`;
        })}
      </tbody>
    </table></div>
  </section>`;
}
