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
 * What returning some units gives back: each line's share of what was paid for it (discount and
 * tax prorated), computed cumulatively so that partial returns add up to at most the line's total
 * and a line returned in full gives back exactly its total. Shipping is refunded once everything
 * has come back, so a full return refunds exactly what was captured.
 */
export function refundFor(
  priced: Pick<PricedCart, 'lines' | 'shippingTotal' | 'shippingTax'>,
  alreadyReturned: ReadonlyMap<string, number>,
  returning: ReadonlyMap<string, number>,
): number {
  let refund = 0;
  let everythingBack = true;
  for (const line of priced.lines) {
    const before = Math.min(alreadyReturned.get(line.id) ?? 0, line.quantity);
    const after = Math.min(before + (returning.get(line.id) ?? 0), line.quantity);
    refund +=
      cumulativeShare(line.total, after, line.quantity) - cumulativeShare(line.total, before, line.quantity);
    if (after < line.quantity) everythingBack = false;
  }
  const shippingAlreadyBack = priced.lines.every(
    (line) => (alreadyReturned.get(line.id) ?? 0) >= line.quantity,
  );
  if (everythingBack && !shippingAlreadyBack) refund += priced.shippingTotal + priced.shippingTax;
  return refund;
}
