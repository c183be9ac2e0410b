import { html, nothing } from 'lit-html';
import { parseMoneyInput } from '../money.ts';
import type { CustomerGroup, Page, Product } from '../types.ts';
import { type AppContext, act, type Content, dateTime, formValues, STORE_CURRENCY } from '../ui.ts';

interface PriceList {
  id: string;
  name: string;
  customerGroup?: string;
  startsAt?: string;
  endsAt?: string;
  active: boolean;
  prices: Array<{ variantId: string; amount: { amount: number; currency: string }; minQuantity: number }>;
}

/** How many price rows the form offers: a product's tiers fit. */
const ROWS = 3;

/** The variant a SKU names, found the way the shop's search finds SKUs. */
async function variantBySku(ctx: AppContext, sku: string): Promise<string> {
  const found = await ctx.api.get<Page<Product>>(`/v1/products?q=${encodeURIComponent(sku)}&size=5`);
  const variant = found.items
    .flatMap((product) => product.variants)
    .find((candidate) => candidate.sku === sku);
  if (!variant) throw new Error(`No product has the SKU ${sku}`);
  return variant.id;
}

export async function priceListsPage(ctx: AppContext): Promise<Content> {
  const [{ items }, { items: groups }] = await Promise.all([
    ctx.api.get<{ items: PriceList[] }>('/v1/price-lists'),
    ctx.api.get<{ items: CustomerGroup[] }>('/v1/customer-groups'),
  ]);
  const groupName = (id?: string) =>
    id ? (groups.find((group) => group.id === id)?.name ?? 'a group') : 'Everyone';
  const window = (list: PriceList) =>
    list.startsAt || list.endsAt
      ? `${list.startsAt ? `from ${dateTime(list.startsAt)}` : ''}${list.startsAt && list.endsAt ? ' ' : ''}${list.endsAt ? `until ${dateTime(list.endsAt)}` : ''}`
      : 'Always';

  const create = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      const prices = [];
      for (let row = 0; row < ROWS; row++) {
        const sku = values[`sku-${row}`]?.trim();
        if (!sku) continue;
        const amount = parseMoneyInput(values[`price-${row}`] ?? '', STORE_CURRENCY);
        if (amount === undefined) throw new Error(`The price for ${sku} is not an amount like 9.99`);
        prices.push({
          variantId: await variantBySku(ctx, sku),
          amount: { amount, currency: STORE_CURRENCY },
          minQuantity: Number(values[`from-${row}`] || 1),
        });
      }
      if (prices.length === 0) throw new Error('Give at least one SKU and its price');
      await ctx.api.post('/v1/price-lists', {
        name: values.name.trim(),
        ...(values.group ? { customerGroup: values.group } : {}),
        ...(values.startsAt ? { startsAt: new Date(values.startsAt).toISOString() } : {}),
        ...(values.endsAt ? { endsAt: new Date(values.endsAt).toISOString() } : {}),
        prices,
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', `Price list ${values.name.trim()} created.`);
    });
  };
  const deactivate = (list: PriceList) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/price-lists/${list.id}`);
      await ctx.refresh();
      ctx.flash('info', `${list.name} deactivated: carts are priced without it.`);
    });

  return html`
    <h1>Price lists</h1>
    <p class="muted">A cart line is charged the best price that applies to it: the shelf price, or a lower one
      from a list for everyone or for the shopper's group, from the quantity the line reaches.</p>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Price lists</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">For</th><th scope="col">When</th><th scope="col">Prices</th><th scope="col">State</th></tr></thead>
      <tbody>
        ${items.map(
          (list) => html`<tr data-price-list=${list.name}>
            <td>${list.name}</td><td>${groupName(list.customerGroup)}</td><td>${window(list)}</td>
            <td>${list.prices.length} price${list.prices.length === 1 ? '' : 's'}${
              list.prices.some((price) => price.minQuantity > 1)
                ? html`<br /><span class="muted">from ${Math.min(...list.prices.map((price) => price.minQuantity))} units up</span>`
                : nothing
            }</td>
            <td>${
              list.active
                ? html`Active <button type="button" class="link" @click=${deactivate(list)} aria-label=${`Deactivate ${list.name}`}>Deactivate</button>`
                : 'Inactive'
            }</td>
          </tr>`,
        )}
      </tbody>
    </table></div>
    ${items.length === 0 ? html`<p class="muted">No price lists yet: every cart pays the shelf price.</p>` : nothing}
    <h2>New price list</h2>
    <form class="stack narrow" @submit=${create} aria-label="New price list">
      <label>Name <input name="name" required maxlength="100" placeholder="Wholesale" /></label>
      <label>For <select name="group"><option value="">Everyone</option>
        ${groups.map((group) => html`<option value=${group.id}>${group.name}</option>`)}</select></label>
      <label>Starts (optional) <input name="startsAt" type="datetime-local" /></label>
      <label>Ends (optional) <input name="endsAt" type="datetime-local" /></label>
      <div class="table-scroll"><table class="lines">
        <caption>Prices (${STORE_CURRENCY})</caption>
        <thead><tr><th scope="col">SKU</th><th scope="col">Price</th><th scope="col">From units</th></tr></thead>
        <tbody>
          ${Array.from(
            { length: ROWS },
            (_, row) => html`<tr>
              <td><label><span class="visually-hidden">SKU ${row + 1}</span><input name=${`sku-${row}`} /></label></td>
              <td><label><span class="visually-hidden">Price ${row + 1}</span><input name=${`price-${row}`} inputmode="decimal" size="8" /></label></td>
              <td><label><span class="visually-hidden">From units ${row + 1}</span><input name=${`from-${row}`} type="number" min="1" value="1" size="4" /></label></td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      <button type="submit" class="primary">Create price list</button>
    </form>
  `;
}
