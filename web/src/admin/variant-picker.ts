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

/** A picked variant and how many of it. */
export type PickedLine = PickedVariant & { quantity: number };

/** Adds a picked variant to the list, one unit, unless it is there already. */
export function addPicked(lines: PickedLine[], variant: PickedVariant): void {
  if (!lines.some((line) => line.variantId === variant.variantId)) lines.push({ ...variant, quantity: 1 });
}

/** Sets a picked line's quantity from its input's change; 0 takes it off the list. */
export function setPickedQuantity(lines: PickedLine[], variantId: string, event: Event): void {
  const quantity = Number((event.currentTarget as HTMLInputElement).value) || 0;
  const index = lines.findIndex((line) => line.variantId === variantId);
  if (quantity <= 0) lines.splice(index, 1);
  else lines[index]!.quantity = quantity;
}

/** The picked lines as a table whose quantities staff change (`changed` redraws). */
export const pickedTable = (lines: PickedLine[], changed: () => void) =>
  html`<div class="table-scroll"><table class="lines"><thead><tr><th scope="col">Item</th><th scope="col">Price</th><th scope="col">Quantity</th></tr></thead>
    <tbody>${lines.map(
      (
        line,
      ) => html`<tr><td>${line.name} <span class="muted">${line.sku}</span></td><td>${money(line.price)}</td>
        <td><label><span class="visually-hidden">Quantity of ${line.name}</span>
          <input type="number" min="0" max="999" .value=${String(line.quantity)}
            @change=${(event: Event) => {
              setPickedQuantity(lines, line.variantId, event);
              changed();
            }} /></label></td></tr>`,
    )}</tbody></table></div>`;
