import { html, nothing } from 'lit-html';
import { newIdempotencyKey } from '../api.ts';
import { decimalString, parseMoneyInput } from '../money.ts';
import type { Category, Collection, CustomerGroup } from '../types.ts';
import { type AppContext, act, type Content, formValues, STORE_CURRENCY } from '../ui.ts';

interface Promotion {
  id: string;
  code?: string;
  name?: string;
  automatic: boolean;
  kind: 'percentage' | 'fixed' | 'free_shipping' | 'buy_x_get_y';
  value: number;
  buyQuantity?: number;
  getQuantity?: number;
  percentOff?: number;
  target?: {
    productIds?: string[];
    categorySlugs?: string[];
    collectionSlugs?: string[];
    minQuantity?: number;
    customerGroups?: string[];
  };
  priority: number;
  stackable: boolean;
  currency?: string;
  minSubtotal?: number;
  usageLimit?: number;
  perCustomerLimit?: number;
  budget?: number;
  timesUsed: number;
  discountGiven: number;
  active: boolean;
}

interface Simulation {
  orders: number;
  truncated: boolean;
  qualifying: number;
  customers: number;
  cost: Array<{ amount: number; currency: string }>;
  refusedByLimits: number;
}

const amountIn = (promotion: Pick<Promotion, 'currency'>, amount: number) =>
  `${decimalString({ amount, currency: promotion.currency ?? STORE_CURRENCY })} ${promotion.currency ?? STORE_CURRENCY}`;

function valueText(promotion: Promotion): string {
  if (promotion.kind === 'percentage') return `${promotion.value}% off`;
  if (promotion.kind === 'free_shipping') return 'Free shipping';
  if (promotion.kind === 'buy_x_get_y') {
    const off = promotion.percentOff === 100 ? 'free' : `at ${promotion.percentOff}% off`;
    return `Buy ${promotion.buyQuantity}, get ${promotion.getQuantity} ${off} (the cheapest)`;
  }
  return `${amountIn(promotion, promotion.value)} off`;
}

/** What it discounts, in words: categories and collections by name, products by count. */
function targetText(
  promotion: Promotion,
  categories: Map<string, string>,
  groups: Map<string, string>,
  collections: Map<string, string>,
): string {
  const target = promotion.target;
  const parts = [
    ...(target?.categorySlugs ?? []).map((slug) => categories.get(slug) ?? slug),
    ...(target?.collectionSlugs ?? []).map((slug) => `the ${collections.get(slug) ?? slug} collection`),
    ...(target?.productIds?.length
      ? [`${target.productIds.length} product${target.productIds.length === 1 ? '' : 's'}`]
      : []),
  ];
  const what = parts.length > 0 ? parts.join(', ') : 'Everything';
  const whom = target?.customerGroups?.length
    ? `, for ${target.customerGroups.map((id) => groups.get(id) ?? 'a customer group').join(' or ')}`
    : '';
  return `${what}${target?.minQuantity ? `, from ${target.minQuantity} items` : ''}${whom}`;
}

const title = (promotion: Promotion) => promotion.name ?? promotion.code ?? 'Promotion';

export async function promotionsPage(ctx: AppContext): Promise<Content> {
  const [{ items }, { items: categoryList }, { items: groups }, { items: collectionList }] =
    await Promise.all([
      ctx.api.get<{ items: Promotion[] }>('/v1/promotions'),
      ctx.api.get<{ items: Category[] }>('/v1/categories'),
      ctx.api.get<{ items: CustomerGroup[] }>('/v1/customer-groups'),
      ctx.api.get<{ items: Collection[] }>('/v1/collections'),
    ]);
  const collections = new Map(collectionList.map((collection) => [collection.slug, collection.name]));
  const categories = new Map(categoryList.map((category) => [category.slug, category.name]));
  const groupNames = new Map(groups.map((group) => [group.id, group.name]));
  const money = (raw: string, what: string) => {
    if (!raw.trim()) return undefined;
    const amount = parseMoneyInput(raw, STORE_CURRENCY);
    if (amount === undefined) throw new Error(`The ${what} is not an amount`);
    return amount;
  };
  const create = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      const kind = values.kind as Promotion['kind'];
      const automatic = values.applies === 'automatic';
      const value =
        kind === 'fixed' ? money(values.value, 'value') : kind === 'percentage' ? Number(values.value) : 0;
      if (value === undefined || Number.isNaN(value)) throw new Error('The value is not a number');
      const minSubtotal = money(values.minSubtotal, 'minimum subtotal');
      const budget = money(values.budget, 'budget');
      const target = {
        ...(values.category ? { categorySlugs: [values.category] } : {}),
        ...(values.collection ? { collectionSlugs: [values.collection] } : {}),
        ...(values.minQuantity ? { minQuantity: Number(values.minQuantity) } : {}),
        ...(values.group ? { customerGroups: [values.group] } : {}),
      };
      await ctx.api.post(
        '/v1/promotions',
        {
          ...(values.code.trim() ? { code: values.code.trim() } : {}),
          ...(values.name.trim() ? { name: values.name.trim() } : {}),
          automatic,
          kind,
          ...(kind === 'buy_x_get_y'
            ? {
                buyQuantity: Number(values.buyQuantity),
                getQuantity: Number(values.getQuantity),
                percentOff: Number(values.percentOff),
              }
            : { value }),
          ...(kind === 'fixed' || budget !== undefined ? { currency: STORE_CURRENCY } : {}),
          ...(Object.keys(target).length > 0 ? { target } : {}),
          priority: Number(values.priority || 0),
          stackable: values.stackable === 'on',
          ...(minSubtotal !== undefined ? { minSubtotal } : {}),
          ...(budget !== undefined ? { budget } : {}),
          ...(values.usageLimit ? { usageLimit: Number(values.usageLimit) } : {}),
          ...(values.perCustomerLimit ? { perCustomerLimit: Number(values.perCustomerLimit) } : {}),
        },
        { headers: { 'idempotency-key': newIdempotencyKey() } },
      );
      form.reset();
      await ctx.refresh();
      ctx.flash(
        'info',
        `${values.name.trim() || values.code.trim().toUpperCase() || 'The promotion'} created.`,
      );
    });
  };
  const simulate = (promotion: Promotion) => (event: Event) =>
    act(ctx, event, async () => {
      const to = new Date();
      const from = new Date(to.getTime() - 30 * 86_400_000);
      const result = await ctx.api.post<Simulation>(`/v1/promotions/${promotion.id}/simulate`, {
        from: from.toISOString(),
        to: to.toISOString(),
      });
      const cost = result.cost.map((amount) => amountIn(amount, amount.amount));
      ctx.flash(
        'info',
        `Over the last 30 days, ${title(promotion)} would have discounted ${result.qualifying} of ${result.orders} orders` +
          ` (${result.customers} customer${result.customers === 1 ? '' : 's'}), costing ${cost.join(' and ') || 'nothing'}` +
          `${result.refusedByLimits > 0 ? `; its limits would have refused ${result.refusedByLimits} more` : ''}` +
          `${result.truncated ? ' (the newest 10,000 orders replayed)' : ''}.`,
      );
    });
  const deactivate = (promotion: Promotion) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/promotions/${promotion.id}`);
      await ctx.refresh();
      ctx.flash('info', `${title(promotion)} deactivated.`);
    });
  return html`
    <h1>Promotions</h1>
    <p class="muted">Promotions apply highest priority first, each to what the ones before it left.
      One that does not combine stops those after it.</p>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Promotions</caption>
      <thead><tr><th scope="col">Promotion</th><th scope="col">Discount</th><th scope="col">Applies to</th>
        <th scope="col">Priority</th><th scope="col">Used</th><th scope="col">Given</th><th scope="col">State</th></tr></thead>
      <tbody>
        ${items.map(
          (promotion) => html`<tr data-promotion=${title(promotion)}>
            <td>${promotion.name ? html`${promotion.name}<br />` : nothing}${
              promotion.automatic
                ? html`<span class="muted">Automatic</span>`
                : html`<code>${promotion.code}</code>`
            }</td>
            <td>${valueText(promotion)}${
              promotion.minSubtotal
                ? html`<br /><span class="muted">from ${amountIn(promotion, promotion.minSubtotal)}</span>`
                : nothing
            }</td>
            <td>${targetText(promotion, categories, groupNames, collections)}</td>
            <td>${promotion.priority}${promotion.stackable ? '' : html`<br /><span class="muted">does not combine</span>`}</td>
            <td>${promotion.timesUsed}${promotion.usageLimit ? ` of ${promotion.usageLimit}` : ''}</td>
            <td>${amountIn(promotion, promotion.discountGiven)}${promotion.budget ? ` of ${amountIn(promotion, promotion.budget)}` : ''}</td>
            <td>${
              promotion.active
                ? html`Active <button type="button" class="link" @click=${deactivate(promotion)} aria-label=${`Deactivate ${title(promotion)}`}>Deactivate</button>`
                : 'Inactive'
            }
              <button type="button" class="link" @click=${simulate(promotion)} aria-label=${`Simulate ${title(promotion)} on the last 30 days`}>Simulate</button></td>
          </tr>`,
        )}
      </tbody>
    </table></div>
    ${items.length === 0 ? html`<p class="muted">No promotions yet.</p>` : nothing}
    <h2>New promotion</h2>
    <form class="stack narrow" @submit=${create} aria-label="New promotion">
      <fieldset>
        <legend>How it applies</legend>
        <label class="variant"><input type="radio" name="applies" value="code" checked /> With a code the shopper enters</label>
        <label class="variant"><input type="radio" name="applies" value="automatic" /> Automatically, to every cart it fits</label>
      </fieldset>
      <label>Code (for a code) <input name="code" minlength="2" maxlength="40" pattern="[A-Za-z0-9_\\-]+" /></label>
      <label>Name shoppers read (optional) <input name="name" maxlength="100" placeholder="3 for 2 on lamps" /></label>
      <label>Kind <select name="kind">
        <option value="percentage">Percentage off</option>
        <option value="fixed">Fixed amount off (${STORE_CURRENCY})</option>
        <option value="free_shipping">Free shipping</option>
        <option value="buy_x_get_y">Buy some, get some (the cheapest) discounted</option>
      </select></label>
      <label>Value (percent, or amount for fixed) <input name="value" inputmode="decimal" value="10" /></label>
      <div class="columns">
        <label>Buy (units) <input name="buyQuantity" type="number" min="1" max="100" value="2" /></label>
        <label>Get (units) <input name="getQuantity" type="number" min="1" max="100" value="1" /></label>
        <label>Percent off those <input name="percentOff" type="number" min="1" max="100" value="100" /></label>
      </div>
      <label>Only for the category <select name="category">
        <option value="">Every item</option>
        ${categoryList.map((category) => html`<option value=${category.slug}>${category.name}</option>`)}
      </select></label>
      ${
        collectionList.length > 0
          ? html`<label>Only for the collection <select name="collection">
            <option value="">Any collection</option>
            ${collectionList.map((collection) => html`<option value=${collection.slug}>${collection.name}</option>`)}
          </select></label>`
          : nothing
      }
      <label>From this many items of it (optional) <input name="minQuantity" type="number" min="1" /></label>
      <label>Only for the customer group <select name="group">
        <option value="">Every shopper</option>
        ${groups.map((group) => html`<option value=${group.id}>${group.name}</option>`)}
      </select></label>
      <label>Priority <input name="priority" type="number" min="-1000" max="1000" value="0" /></label>
      <label class="variant"><input type="checkbox" name="stackable" checked /> Combines with the promotions after it</label>
      <label>Minimum subtotal (${STORE_CURRENCY}, optional) <input name="minSubtotal" inputmode="decimal" /></label>
      <label>Budget: the most it may give away (${STORE_CURRENCY}, optional) <input name="budget" inputmode="decimal" /></label>
      <label>Usage limit (optional) <input name="usageLimit" type="number" min="1" /></label>
      <label>Per customer limit (optional) <input name="perCustomerLimit" type="number" min="1" /></label>
      <button type="submit" class="primary">Create promotion</button>
    </form>
  `;
}
