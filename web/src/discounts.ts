import { html, nothing } from 'lit-html';
import type { Totals } from './types.ts';
import { money } from './ui.ts';

type Discount = Totals['discounts'][number];

/** What a shopper or staff member reads for a discount: its name, else the code entered. */
export const discountLabel = (discount: Discount) =>
  discount.name ?? (discount.code ? `Code ${discount.code}` : 'Promotion');

/**
 * A line's total, and under it why the price is what it is: each promotion that took something
 * off this line and how much (the lines of a discount add up to it, so these add up to the
 * line's discount).
 */
export function lineTotalCell(line: { id: string; lineTotal: Totals['subtotal'] }, totals: Totals) {
  const reasons = totals.discounts.flatMap((discount) =>
    discount.lines
      .filter((touched) => touched.itemId === line.id)
      .map((touched) => ({ label: discountLabel(discount), amount: touched.amount })),
  );
  return html`<td>${money(line.lineTotal)}${
    reasons.length > 0
      ? html`<ul class="why-price" aria-label="Why this price">
          ${reasons.map((reason) => html`<li>${reason.label}: −${money(reason.amount)}</li>`)}
        </ul>`
      : nothing
  }</td>`;
}

/** One row per discount under the totals' "Discount", so the sum explains itself. */
export function discountRows(totals: Totals) {
  return totals.discounts.map(
    (discount) => html`<tr class="discount-detail" data-discount=${discountLabel(discount)}>
      <th scope="row">${discountLabel(discount)}</th>
      <td>${discount.amount.amount > 0 ? html`−${money(discount.amount)}` : nothing}${
        discount.shipping && discount.shipping.amount > 0
          ? html` free shipping (−${money(discount.shipping)})`
          : nothing
      }</td>
    </tr>`,
  );
}
