import { html, nothing } from 'lit-html';
import type { Money } from '../money.ts';
import type { Page, Product } from '../types.ts';
import { type AppContext, act, formValues, money } from '../ui.ts';

/** A variant staff picked to add to an order or a draft. */
export interface PickedVariant {
  variantId: string;
  sku: string;
  name: string;
  price: Money;
}

/**
 * Finds products by name or SKU, the way the shop's search does, and hands the variant chosen to
 * `onPick`. Returns the function that draws it, for a page that redraws itself.
 */
export function variantPicker(ctx: AppContext, onPick: (variant: PickedVariant) => void) {
  let found: PickedVariant[] | undefined;
  const search = (event: SubmitEvent) => {
    const { q } = formValues(event);
    return act(ctx, event, async () => {
      const query = new URLSearchParams({ size: '10', ...(q.trim() ? { q: q.trim() } : {}) });
      const products = await ctx.api.get<Page<Product>>(`/v1/products?${query}`);
      found = products.items.flatMap((product) =>
        product.variants.map((variant) => ({
          variantId: variant.id,
          sku: variant.sku,
          name: product.variants.length > 1 ? `${product.name} (${variant.sku})` : product.name,
          price: variant.price,
        })),
      );
      ctx.redraw();
    });
  };
  const pick = (variant: PickedVariant) => () => {
    onPick(variant);
    found = undefined;
    ctx.redraw();
  };
  return () => html`
    <form class="inline" @submit=${search} aria-label="Find a product to add">
      <label>Product name or SKU <input name="q" maxlength="100" /></label>
      <button type="submit">Find</button>
    </form>
    ${
      found === undefined
        ? nothing
        : found.length === 0
          ? html`<p class="muted">No product matches.</p>`
          : html`<ul class="plain" aria-label="Products found">${found.map(
              (
                variant,
              ) => html`<li>${variant.name} <span class="muted">${variant.sku}</span> · ${money(variant.price)}
                <button type="button" @click=${pick(variant)}>Add ${variant.name}</button></li>`,
            )}</ul>`
    }
  `;
}
