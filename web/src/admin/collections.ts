import { html, nothing } from 'lit-html';
import { decimalString, parseMoneyInput } from '../money.ts';
import type { Category, Collection, Page, Product } from '../types.ts';
import { type AppContext, act, type Drawing, formValues, STORE_CURRENCY } from '../ui.ts';

const price = (amount: number) => decimalString({ amount, currency: STORE_CURRENCY });

/**
 * Collections: a hand-picked list of products (found by search, kept in the order picked) or
 * rules that pick them (a category, a price range).
 */
export async function collectionsPage(ctx: AppContext): Promise<Drawing> {
  const [collections, categories] = await Promise.all([
    ctx.api.get<{ items: Collection[] }>('/v1/collections'),
    ctx.api.get<{ items: Category[] }>('/v1/categories'),
  ]);
  const categoryName = new Map(categories.items.map((category) => [category.slug, category.name]));
  let kind: 'manual' | 'rules' = 'manual';
  let found: Product[] = [];
  const picked = new Map<string, string>();

  const describe = (collection: Collection) => {
    if (!collection.rules) {
      const count = collection.productIds?.length ?? 0;
      return `${count} ${count === 1 ? 'product' : 'products'}, picked by hand`;
    }
    const { category, minPrice, maxPrice } = collection.rules;
    return [
      category ? `in ${categoryName.get(category) ?? category}` : 'every product',
      minPrice !== undefined ? `from ${price(minPrice)} ${STORE_CURRENCY}` : '',
      maxPrice !== undefined ? `up to ${price(maxPrice)} ${STORE_CURRENCY}` : '',
    ]
      .filter(Boolean)
      .join(', ');
  };
  const search = (event: SubmitEvent) => {
    const { q } = formValues(event);
    return act(ctx, event, async () => {
      const query = new URLSearchParams({ size: '20', ...(q.trim() ? { q: q.trim() } : {}) });
      found = (await ctx.api.get<Page<Product>>(`/v1/products?${query}`)).items;
      ctx.redraw();
    });
  };
  const toggle = (product: Product) => (event: Event) => {
    if ((event.currentTarget as HTMLInputElement).checked) picked.set(product.id, product.name);
    else picked.delete(product.id);
    ctx.redraw();
  };
  const create = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const amount = (field: 'minPrice' | 'maxPrice', label: string) => {
        if (!values[field]?.trim()) return {};
        const parsed = parseMoneyInput(values[field], STORE_CURRENCY);
        if (parsed === undefined) throw new Error(`${label} is not an amount like 19.99`);
        return { [field]: parsed };
      };
      const rules = {
        ...(values.category ? { category: values.category } : {}),
        ...amount('minPrice', 'The lowest price'),
        ...amount('maxPrice', 'The highest price'),
      };
      if (kind === 'manual' && picked.size === 0)
        throw new Error('Pick at least one product for the collection');
      await ctx.api.post('/v1/collections', {
        slug: values.slug.trim(),
        name: values.name.trim(),
        description: values.description,
        ...(kind === 'manual' ? { productIds: [...picked.keys()] } : { rules }),
      });
      await ctx.refresh();
      ctx.flash('info', `Collection ${values.name.trim()} created.`);
    });
  };
  const remove = (collection: Collection) => (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm(`Delete the collection ${collection.name}? Its products stay in the shop.`)) return;
      await ctx.api.delete(`/v1/collections/${collection.slug}`);
      await ctx.refresh();
      ctx.flash('info', `Collection ${collection.name} deleted.`);
    });
  const choose = (next: typeof kind) => () => {
    kind = next;
    ctx.redraw();
  };

  return () => html`
    <h1>Collections</h1>
    ${collections.items.length === 0 ? html`<p class="muted">No collections yet.</p>` : nothing}
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Collections</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">What is in it</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        ${collections.items.map(
          (collection) => html`<tr data-collection=${collection.slug}>
            <td><a href="/?collection=${collection.slug}">${collection.name}</a></td>
            <td>${describe(collection)}</td>
            <td><button type="button" class="danger" @click=${remove(collection)}>Delete</button></td>
          </tr>`,
        )}
      </tbody>
    </table></div>

    <h2>New collection</h2>
    <form class="inline" role="search" aria-label="Search for products to pick" @submit=${search} ?hidden=${kind !== 'manual'}>
      <label>Find products <input type="search" name="q" /></label>
      <button type="submit">Find</button>
    </form>
    <form class="stack" @submit=${create} aria-label="New collection">
      <label>Name <input name="name" required maxlength="200" /></label>
      <label>Slug (in the shop's address) <input name="slug" required pattern="[a-z0-9]+(-[a-z0-9]+)*" maxlength="80" /></label>
      <label>Description <textarea name="description" rows="2" maxlength="10000"></textarea></label>
      <fieldset>
        <legend>Products</legend>
        <label class="check"><input type="radio" name="kind" value="manual" .checked=${kind === 'manual'} @change=${choose('manual')} /> Picked by hand</label>
        <label class="check"><input type="radio" name="kind" value="rules" .checked=${kind === 'rules'} @change=${choose('rules')} /> Picked by rules</label>
      </fieldset>
      ${
        kind === 'manual'
          ? html`<fieldset>
            <legend>Picked (${picked.size})</legend>
            ${found.length === 0 && picked.size === 0 ? html`<p class="muted">Find products above, then tick them.</p>` : nothing}
            <div class="checks">
              ${[...picked].map(
                ([id, name]) =>
                  html`<label class="check"><input type="checkbox" checked @change=${toggle({ id, name } as Product)} /> ${name}</label>`,
              )}
              ${found
                .filter((product) => !picked.has(product.id))
                .map(
                  (product) =>
                    html`<label class="check"><input type="checkbox" @change=${toggle(product)} /> ${product.name}</label>`,
                )}
            </div>
          </fieldset>`
          : html`<fieldset>
            <legend>Rules (a product must match all that are given)</legend>
            <label>Category (and those below it)
              <select name="category"><option value="">Any category</option>
                ${categories.items.map((category) => html`<option value=${category.slug}>${category.name}</option>`)}
              </select></label>
            <label>Lowest price (${STORE_CURRENCY}) <input name="minPrice" inputmode="decimal" size="8" /></label>
            <label>Highest price (${STORE_CURRENCY}) <input name="maxPrice" inputmode="decimal" size="8" /></label>
          </fieldset>`
      }
      <button type="submit" class="primary">Create collection</button>
    </form>
  `;
}
