import { allocate, applyBasisPoints, containedTax, cumulativeShare } from './money.ts';

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
  /** Prices (and shipping) already contain the tax: it is extracted, not added. */
  taxInclusive?: boolean;
}

export interface PricedLine {
  id: string;
  quantity: number;
  subtotal: number;
  discount: number;
  tax: number;
  /** What the customer pays for this line: subtotal − discount, plus tax unless it is contained. */
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
  /** The amounts contain their tax (taxTotal is part of subtotal and shipping, not added). */
  taxInclusive: boolean;
}

/** What a priced line charges: its subtotal less discount, plus its tax unless the prices contain it. */
export function lineCharge(line: { subtotal: number; discount: number; tax: number }, taxInclusive: boolean) {
  return line.subtotal - line.discount + (taxInclusive ? 0 : line.tax);
}

/** What shipping charges: its price, plus its tax unless the price contains it. */
export function shippingCharge(priced: Pick<PricedCart, 'shippingTotal' | 'shippingTax' | 'taxInclusive'>) {
  return priced.shippingTotal + (priced.taxInclusive ? 0 : priced.shippingTax);
}

/**
 * The one place totals are computed, for the cart, the checkout and the order. Pure: the same
 * input always gives the same output, in integer minor units.
 *
 * - Discounts are allocated across lines in proportion to their subtotals, to the unit, so a
 *   refund of some lines can give back exactly their share.
 * - Tax is computed per line on the discounted amount, rounded half-to-even, and on shipping.
 *   Where prices contain tax (`taxInclusive`), the tax contained in each discounted line is
 *   extracted instead, gross × rate / (1 + rate) rounded half-to-even, so the gross amounts the
 *   shopper saw are exactly what is charged and only the split into net and tax is rounded.
 * - total = subtotal − discountTotal + shippingTotal (+ taxTotal unless contained), never negative.
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
  const taxInclusive = input.taxInclusive ?? false;
  const taxOf = (amount: number) =>
    taxInclusive ? containedTax(amount, rate) : applyBasisPoints(amount, rate);
  const lines = input.lines.map((line, index) => {
    const priced = { subtotal: subtotals[index], discount: discounts[index], tax: 0 };
    priced.tax = taxOf(priced.subtotal - priced.discount);
    return { id: line.id, quantity: line.quantity, ...priced, total: lineCharge(priced, taxInclusive) };
  });
  const shippingTotal = promotion?.kind === 'free_shipping' ? 0 : (input.shippingAmount ?? 0);
  const shippingTax = taxOf(shippingTotal);
  const taxTotal = lines.reduce((sum, line) => sum + line.tax, 0) + shippingTax;
  return {
    currency: input.currency,
    lines,
    subtotal,
    discountTotal,
    shippingTotal,
    shippingTax,
    taxTotal,
    total: subtotal - discountTotal + shippingTotal + (taxInclusive ? 0 : taxTotal),
    taxInclusive,
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
  priced: Pick<PricedCart, 'lines' | 'shippingTotal' | 'shippingTax' | 'taxInclusive'>,
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
  if (everything && !shippingBefore) share += shippingCharge(priced);
  return share;
}
