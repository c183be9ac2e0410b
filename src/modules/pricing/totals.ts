import { allocate, applyBasisPoints, containedTax, cumulativeShare } from './money.ts';

export type PromotionKind = 'percentage' | 'fixed' | 'free_shipping' | 'buy_x_get_y';

export interface PricingLine {
  id: string;
  unitAmount: number;
  quantity: number;
  /** What a promotion's target is matched against. */
  productId?: string;
  /** The product's categories and every category above them. */
  categorySlugs?: readonly string[];
  /** The collections the product is in. */
  collectionSlugs?: readonly string[];
  /** This line's rate (its tax class's in the destination), in basis points; else the cart's. */
  taxRateBasisPoints?: number;
}

/** Which lines a promotion may discount: a line matches when it is in any list given; none given, every line. */
export interface PromotionTarget {
  productIds?: string[];
  categorySlugs?: string[];
  collectionSlugs?: string[];
  /** The matching lines must hold at least this many units together, or nothing applies. */
  minQuantity?: number;
  /**
   * Only for members of any of these customer groups. A condition on the shopper, not on lines:
   * the pricing service checks it before the totals are computed.
   */
  customerGroups?: string[];
}

export interface AppliedPromotion {
  id: string;
  /** Absent for an automatic promotion. */
  code?: string;
  name?: string;
  kind: PromotionKind;
  /**
   * percentage: whole percent 1..100; fixed: minor units in the cart's currency; buy_x_get_y: the
   * percent taken off each free unit (100 = free); free_shipping: unused.
   */
  value: number;
  target?: PromotionTarget;
  /** buy_x_get_y: for every `buyQuantity` units bought, `getQuantity` more are discounted. */
  buyQuantity?: number;
  getQuantity?: number;
  /** false: once this one gives a discount, the promotions after it do not apply. Default true. */
  stackable?: boolean;
}

export interface PricingInput {
  currency: string;
  lines: PricingLine[];
  /** In the order they apply (highest priority first); each discounts what the earlier ones left. */
  promotions?: readonly AppliedPromotion[];
  shippingAmount?: number;
  /** The destination's standard rate in basis points (2000 = 20 %): shipping's, and a line's without its own. */
  taxRateBasisPoints?: number;
  /** Prices (and shipping) already contain the tax: it is extracted, not added. */
  taxInclusive?: boolean;
}

/** One promotion's part of the totals, and the lines it touched; the lines' amounts add up to `amount`. */
export interface PricedDiscount {
  promotionId: string;
  code?: string;
  name?: string;
  kind: PromotionKind;
  amount: number;
  /** Shipping it took off (free_shipping); not part of `amount`, which is the goods' discount. */
  shippingAmount?: number;
  lines: Array<{ itemId: string; amount: number }>;
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
  /** Every promotion that took something off, in the order applied. */
  discounts: PricedDiscount[];
  /** Promotions that did not apply because a non-stackable one before them did. */
  stopped: string[];
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

const matches = (target: PromotionTarget | undefined, line: PricingLine) => {
  const byProduct = target?.productIds;
  const byCategory = target?.categorySlugs;
  const byCollection = target?.collectionSlugs;
  if (!byProduct?.length && !byCategory?.length && !byCollection?.length) return true;
  if (byProduct?.includes(line.productId ?? '')) return true;
  if (byCategory?.some((slug) => line.categorySlugs?.includes(slug))) return true;
  return byCollection?.some((slug) => line.collectionSlugs?.includes(slug)) ?? false;
};

/**
 * What one promotion takes off each line, given what the earlier ones left (`left`). Every amount
 * is at most what is left of its line, so a line is never discounted below zero.
 */
function lineDiscounts(promotion: AppliedPromotion, lines: readonly PricingLine[], left: readonly number[]) {
  const eligible = lines.map((line) => matches(promotion.target, line));
  const units = lines.reduce((sum, line, index) => sum + (eligible[index] ? line.quantity : 0), 0);
  if (units === 0 || units < (promotion.target?.minQuantity ?? 0)) return undefined;
  const weights = left.map((amount, index) => (eligible[index] ? amount : 0));
  const base = weights.reduce((a, b) => a + b, 0);
  switch (promotion.kind) {
    case 'percentage':
      return allocate(applyBasisPoints(base, Math.min(100, promotion.value) * 100), weights);
    case 'fixed':
      return allocate(Math.min(promotion.value, base), weights);
    case 'free_shipping':
      return lines.map(() => 0);
    case 'buy_x_get_y': {
      // Of every buy + get units, the cheapest `get` are discounted: the shop gives away the least.
      const group = (promotion.buyQuantity ?? 1) + (promotion.getQuantity ?? 1);
      let free = Math.floor(units / group) * (promotion.getQuantity ?? 1);
      const cheapestFirst = lines
        .map((line, index) => ({ line, index }))
        .filter(({ index }) => eligible[index])
        .sort((a, b) => a.line.unitAmount - b.line.unitAmount || a.index - b.index);
      const amounts = lines.map(() => 0);
      for (const { line, index } of cheapestFirst) {
        const taken = Math.min(free, line.quantity);
        free -= taken;
        const off = applyBasisPoints(taken * line.unitAmount, Math.min(100, promotion.value) * 100);
        amounts[index] = Math.min(off, left[index]);
      }
      return amounts;
    }
  }
}

/**
 * The one place totals are computed, for the cart, the checkout and the order. Pure: the same
 * input always gives the same output, in integer minor units.
 *
 * - Promotions apply in the order given, each to what the earlier ones left of the lines it
 *   targets; a non-stackable one that gives something stops the rest. A percentage or fixed
 *   discount is allocated across its lines in proportion to what is left of them, to the unit;
 *   buy X get Y discounts the cheapest units. Each line keeps its share, so a refund of some lines
 *   gives back exactly their discount.
 * - Tax is computed per line on the discounted amount at the line's rate (its tax class's),
 *   rounded half-to-even, and on shipping at the standard rate.
 *   Where prices contain tax (`taxInclusive`), the tax contained in each discounted line is
 *   extracted instead, gross × rate / (1 + rate) rounded half-to-even, so the gross amounts the
 *   shopper saw are exactly what is charged and only the split into net and tax is rounded.
 * - total = subtotal − discountTotal + shippingTotal (+ taxTotal unless contained), never negative.
 */
export function priceCart(input: PricingInput): PricedCart {
  const subtotals = input.lines.map((line) => line.unitAmount * line.quantity);
  const subtotal = subtotals.reduce((a, b) => a + b, 0);
  const left = [...subtotals];
  const discounts: PricedDiscount[] = [];
  const stopped: string[] = [];
  let shippingTotal = input.shippingAmount ?? 0;
  let stopping = false;
  for (const promotion of input.promotions ?? []) {
    if (stopping) {
      stopped.push(promotion.id);
      continue;
    }
    const amounts = lineDiscounts(promotion, input.lines, left);
    const amount = amounts?.reduce((a, b) => a + b, 0) ?? 0;
    const freeShipping = promotion.kind === 'free_shipping' && amounts !== undefined && shippingTotal > 0;
    if (!amounts || (amount === 0 && !freeShipping)) continue;
    const discount: PricedDiscount = {
      promotionId: promotion.id,
      kind: promotion.kind,
      amount,
      lines: [],
    };
    if (promotion.code) discount.code = promotion.code;
    if (promotion.name) discount.name = promotion.name;
    if (freeShipping) {
      discount.shippingAmount = shippingTotal;
      shippingTotal = 0;
    }
    amounts.forEach((part, index) => {
      if (part === 0) return;
      left[index] -= part;
      discount.lines.push({ itemId: input.lines[index].id, amount: part });
    });
    if (promotion.stackable === false) stopping = true;
    discounts.push(discount);
  }
  const rate = input.taxRateBasisPoints ?? 0;
  const taxInclusive = input.taxInclusive ?? false;
  const taxOf = (amount: number, at = rate) =>
    taxInclusive ? containedTax(amount, at) : applyBasisPoints(amount, at);
  const lines = input.lines.map((line, index) => {
    const priced = { subtotal: subtotals[index], discount: subtotals[index] - left[index], tax: 0 };
    priced.tax = taxOf(priced.subtotal - priced.discount, line.taxRateBasisPoints);
    return { id: line.id, quantity: line.quantity, ...priced, total: lineCharge(priced, taxInclusive) };
  });
  const discountTotal = subtotal - left.reduce((a, b) => a + b, 0);
  const shippingTax = taxOf(shippingTotal);
  const taxTotal = lines.reduce((sum, line) => sum + line.tax, 0) + shippingTax;
  return {
    currency: input.currency,
    lines,
    discounts,
    stopped,
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
