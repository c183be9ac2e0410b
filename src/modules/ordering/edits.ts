import { badRequest, conflict } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { formatMoney } from '../../platform/money.ts';
import type { CartLine, CheckoutCart } from '../cart/index.ts';
import type { PricedDiscount } from '../pricing/index.ts';
import type { EditRefund, EditRow, OrderItemRow, OrderRow, OrderVersion } from './store.ts';

/** What staff change of an unshipped order: lines to add, lines to remove, quantities to change. */
export interface EditInput {
  add?: ReadonlyArray<{ variantId: string; quantity: number }>;
  remove?: readonly string[];
  change?: ReadonlyArray<{ itemId: string; quantity: number }>;
}

/** An edit worked out against the order as it is: its next version and what that changes. */
export interface EditPlan {
  before: OrderVersion;
  after: OrderVersion;
  /** The new total less the old. */
  difference: number;
  /** Units sold more (positive) or fewer (negative), per variant. */
  stock: Array<{ variantId: string; delta: number }>;
}

type Line = Omit<OrderItemRow, 'orderId'>;

/** A priced cart line as an order keeps it, with an id of its own: what checkout and edits sell. */
export const orderLineOf = (line: CartLine): Line => ({
  id: uuidv7(),
  variantId: line.variantId,
  sku: line.sku,
  name: line.name,
  quantity: line.quantity,
  unitAmount: line.unitPrice.amount,
  lineAmount: line.lineTotal.amount,
  discountAmount: line.discount.amount,
  taxAmount: line.tax.amount,
  priceList: line.priceList ?? null,
});

export const versionOf = (order: OrderRow, items: readonly OrderItemRow[]): OrderVersion => ({
  items: items.map(({ orderId: _order, ...line }) => line),
  subtotalAmount: order.subtotalAmount,
  discountAmount: order.discountAmount,
  taxAmount: order.taxAmount,
  totalAmount: order.totalAmount,
  discounts: order.discounts,
});

const scaled = (amount: number, from: number, to: number) => Math.round((amount * to) / from);

/** The variants staff want to add, refused when one is a line already (change its quantity instead). */
export function addedLines(items: readonly OrderItemRow[], input: EditInput) {
  const added = new Map<string, number>();
  for (const line of input.add ?? []) {
    const existing = items.find((item) => item.variantId === line.variantId);
    if (existing && !input.remove?.includes(existing.id))
      throw badRequest(
        'EDIT_LINE_EXISTS',
        `This order has ${existing.name} already: change that line's quantity instead of adding it again`,
      );
    added.set(line.variantId, (added.get(line.variantId) ?? 0) + line.quantity);
  }
  return [...added].map(([variantId, quantity]) => ({ id: uuidv7(), variantId, quantity }));
}

/**
 * The order's next version. Lines it keeps keep the prices they were sold at: a changed quantity
 * keeps the unit price, and its discount and tax move in proportion. Added lines come priced
 * (`added`: a cart of them alone, for this customer and address, with their price lists,
 * automatic promotions and tax). Shipping is not changed by an edit.
 */
export function planEdit(
  order: OrderRow,
  items: readonly OrderItemRow[],
  input: EditInput,
  added: CheckoutCart | undefined,
): EditPlan {
  const before = versionOf(order, items);
  const known = new Set(items.map((item) => item.id));
  for (const id of [...(input.remove ?? []), ...(input.change ?? []).map((change) => change.itemId)]) {
    if (!known.has(id))
      throw badRequest(
        'EDIT_LINE_UNKNOWN',
        'A line to remove or change is not on this order: reload it and try again',
      );
  }
  const removed = new Set(input.remove ?? []);
  const quantities = new Map((input.change ?? []).map((change) => [change.itemId, change.quantity]));
  const kept: Line[] = [];
  const ratios = new Map<string, { from: number; to: number }>();
  for (const item of before.items) {
    if (removed.has(item.id)) continue;
    const to = quantities.get(item.id) ?? item.quantity;
    if (to !== item.quantity) ratios.set(item.id, { from: item.quantity, to });
    kept.push(
      to === item.quantity
        ? item
        : {
            ...item,
            quantity: to,
            lineAmount: item.unitAmount * to,
            discountAmount: scaled(item.discountAmount, item.quantity, to),
            taxAmount: scaled(item.taxAmount, item.quantity, to),
          },
    );
  }
  const newLines = (added?.items ?? []).map(orderLineOf);
  const afterItems = [...kept, ...newLines];
  if (afterItems.length === 0)
    throw badRequest('EDIT_EMPTY', 'An edit cannot take every line off an order: cancel the order instead');
  if (removed.size === 0 && ratios.size === 0 && newLines.length === 0)
    throw badRequest('EDIT_NO_CHANGE', 'This edit changes nothing: add, remove or change a line');

  const sum = (lines: readonly Line[], pick: (line: Line) => number) =>
    lines.reduce((total, line) => total + pick(line), 0);
  const charge = (line: Line) =>
    line.lineAmount - line.discountAmount + (order.taxInclusive ? 0 : line.taxAmount);
  const difference = sum(afterItems, charge) - sum(before.items, charge);
  const after: OrderVersion = {
    items: afterItems,
    subtotalAmount:
      before.subtotalAmount + sum(afterItems, (l) => l.lineAmount) - sum(before.items, (l) => l.lineAmount),
    discountAmount:
      before.discountAmount +
      sum(afterItems, (l) => l.discountAmount) -
      sum(before.items, (l) => l.discountAmount),
    taxAmount: before.taxAmount + sum(afterItems, (l) => l.taxAmount) - sum(before.items, (l) => l.taxAmount),
    totalAmount: before.totalAmount + difference,
    discounts: [...keptDiscounts(before.discounts, removed, ratios), ...addedDiscounts(added, newLines)],
  };
  const stock = new Map<string, number>();
  const move = (variantId: string, delta: number) =>
    stock.set(variantId, (stock.get(variantId) ?? 0) + delta);
  for (const item of before.items) move(item.variantId, -item.quantity);
  for (const item of afterItems) move(item.variantId, item.quantity);
  return {
    before,
    after,
    difference,
    stock: [...stock]
      .map(([variantId, delta]) => ({ variantId, delta }))
      .filter((change) => change.delta !== 0),
  };
}

/** The order's discounts over the lines it keeps: removed lines drop out, changed ones scale. */
function keptDiscounts(
  discounts: readonly PricedDiscount[],
  removed: ReadonlySet<string>,
  ratios: ReadonlyMap<string, { from: number; to: number }>,
): PricedDiscount[] {
  return discounts.flatMap((discount) => {
    const lines = discount.lines
      .filter((line) => !removed.has(line.itemId))
      .map((line) => {
        const ratio = ratios.get(line.itemId);
        return ratio ? { ...line, amount: scaled(line.amount, ratio.from, ratio.to) } : line;
      });
    const amount = lines.reduce((total, line) => total + line.amount, 0) + (discount.shippingAmount ?? 0);
    return amount > 0 ? [{ ...discount, amount, lines }] : [];
  });
}

/** Automatic promotions that discounted the added lines, named by their new order lines. */
function addedDiscounts(added: CheckoutCart | undefined, newLines: readonly Line[]): PricedDiscount[] {
  if (!added) return [];
  const itemOf = new Map(added.items.map((line, index) => [line.id, newLines[index]!.id]));
  return added.totals.discounts.map(({ amount: _amount, shipping: _shipping, lines, ...discount }) => {
    const kept = lines.map((line) => ({ itemId: itemOf.get(line.itemId)!, amount: line.amount.amount }));
    return { ...discount, amount: kept.reduce((total, line) => total + line.amount, 0), lines: kept };
  });
}

/**
 * An edited total must still cover what was given back already and what a gift card or store
 * credit paid (an edit gives back to the payment the difference was paid with).
 */
export function assertCovers(order: OrderRow, plan: EditPlan): void {
  const floor = order.refundedAmount + order.balanceAmount;
  if (plan.after.totalAmount >= Math.max(floor, 1)) return;
  const money = (amount: number) => formatMoney({ amount, currency: order.currency });
  throw conflict(
    'EDIT_BELOW_PAID',
    floor > 0
      ? `This edit would bring the total to ${money(plan.after.totalAmount)}, below the ${money(floor)} refunded or paid by gift card or store credit already`
      : 'This edit would bring the total to nothing: cancel the order instead',
  );
}

/**
 * Where a lowered total's refund comes from: the payments of earlier edits first (newest first,
 * each up to what it took less what later edits gave back of it), then the order's own payment.
 */
export function planRefunds(orderId: string, edits: readonly EditRow[], amount: number): EditRefund[] {
  const givenBack = new Map<string, number>();
  for (const edit of edits)
    for (const refund of edit.refunds)
      givenBack.set(refund.paymentOf, (givenBack.get(refund.paymentOf) ?? 0) + refund.amount);
  let left = amount;
  const refunds: EditRefund[] = [];
  const charged = edits
    .filter((edit) => edit.chargedAmount > 0 && (edit.status === 'applied' || edit.status === 'refunding'))
    .toReversed();
  for (const edit of charged) {
    const share = Math.min(left, edit.chargedAmount - (givenBack.get(edit.id) ?? 0));
    if (share > 0) refunds.push({ paymentOf: edit.id, amount: share });
    left -= Math.max(share, 0);
  }
  if (left > 0) refunds.push({ paymentOf: orderId, amount: left });
  return refunds;
}
