import { allocate, applyBasisPoints, cumulativeShare } from './money.ts';

export type PromotionKind = 'percentage' | 'fixed' | 'free_shipping';

export interface PricingLine {
  id: string;
  unitAmount: number;
  quantity: number;
}

export interface AppliedPromotion {
  code: string;
  kind: PromotionKind;
  /** percentage: whole percent 1..100; fixed: minor units in the cart's currency; free_shipping: unused. */
  value: number;
}

export interface PricingInput {
  currency: string;
  lines: PricingLine[];
  promotion?: AppliedPromotion;
  shippingAmount?: number;
  /** Tax rate of the destination in basis points (2000 = 20 %), applied to goods and shipping. */
  taxRateBasisPoints?: number;
}

export interface PricedLine {
  id: string;
  quantity: number;
  subtotal: number;
  discount: number;
  tax: number;
  /** What the customer pays for this line: subtotal − discount + tax. */
  total: number;
}

export interface PricedCart {
  currency: string;
  lines: PricedLine[];
  subtotal: number;
  discountTotal: number;
  shippingTotal: number;
  shippingTax: number;
  taxTotal: number;
  total: number;
}

/**
 * The one place totals are computed, for the cart, the checkout and the order. Pure: the same
 * input always gives the same output, in integer minor units.
 *
 * - Discounts are allocated across lines in proportion to their subtotals, to the unit, so a
 *   refund of some lines can give back exactly their share.
 * - Tax is computed per line on the discounted amount, rounded half-to-even, and on shipping.
 * - total = subtotal − discountTotal + shippingTotal + taxTotal, never negative.
 */
export function priceCart(input: PricingInput): PricedCart {
  const subtotals = input.lines.map((line) => line.unitAmount * line.quantity);
  const subtotal = subtotals.reduce((a, b) => a + b, 0);
  const promotion = input.promotion;
  let discountTotal = 0;
  if (promotion?.kind === 'percentage')
    discountTotal = applyBasisPoints(subtotal, Math.min(100, promotion.value) * 100);
  if (promotion?.kind === 'fixed') discountTotal = Math.min(promotion.value, subtotal);
  const discounts = allocate(discountTotal, subtotals);
  const rate = input.taxRateBasisPoints ?? 0;
  const lines = input.lines.map((line, index) => {
    const taxable = subtotals[index] - discounts[index];
    const tax = applyBasisPoints(taxable, rate);
    return {
      id: line.id,
      quantity: line.quantity,
      subtotal: subtotals[index],
      discount: discounts[index],
      tax,
      total: taxable + tax,
    };
  });
  const shippingTotal = promotion?.kind === 'free_shipping' ? 0 : (input.shippingAmount ?? 0);
  const shippingTax = applyBasisPoints(shippingTotal, rate);
  const taxTotal = lines.reduce((sum, line) => sum + line.tax, 0) + shippingTax;
  return {
    currency: input.currency,
    lines,
    subtotal,
    discountTotal,
    shippingTotal,
    shippingTax,
    taxTotal,
    total: subtotal - discountTotal + shippingTotal + taxTotal,
  };
}

/**
 * What some units of an order are worth, after the `earlier` units: what a return
 * gives back, and what a shipment captures (PAYMENTS_CAPTURE=on_shipment). Each line's share of
 * what was paid for it (discount and tax prorated) is computed cumulatively, so parts add up to at
 * most the line's total, a whole line to exactly its total, and the share of a subset never
 * exceeds the share of the set: what returns give back stays within what shipments captured.
 * Shipping goes with the last units, so all shipments capture, and a full return refunds, exactly
 * the order's total.
 */
export function shareOf(
  priced: Pick<PricedCart, 'lines' | 'shippingTotal' | 'shippingTax'>,
  earlier: ReadonlyMap<string, number>,
  units: ReadonlyMap<string, number>,
): number {
  let share = 0;
  let everything = true;
  for (const line of priced.lines) {
    const before = Math.min(earlier.get(line.id) ?? 0, line.quantity);
    const after = Math.min(before + (units.get(line.id) ?? 0), line.quantity);
    share +=
      cumulativeShare(line.total, after, line.quantity) - cumulativeShare(line.total, before, line.quantity);
    if (after < line.quantity) everything = false;
  }
  const shippingBefore = priced.lines.every((line) => (earlier.get(line.id) ?? 0) >= line.quantity);
  if (everything && !shippingBefore) share += priced.shippingTotal + priced.shippingTax;
  return share;
}
