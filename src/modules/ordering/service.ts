import { timeoutSignal } from '../../platform/context.ts';
import { type Db, transact } from '../../platform/db/index.ts';
import { emailAddressOf, normaliseEmail } from '../../platform/email-address.ts';
import { badRequest, conflict, DomainError, forbidden, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import { can, type OrderViewer, type Principal } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { formatMoney } from '../../platform/money.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../platform/opaque-token.ts';
import {
  type CartLine,
  type CartService,
  type CheckoutCart,
  discountsIn,
  type Money,
  type Totals,
} from '../cart/index.ts';
import type { BalanceSource, GiftCardService, OrderBalance } from '../giftcards/index.ts';
import { type InventoryService, outOfStock } from '../inventory/index.ts';
import type { PricedDiscount, PricingService, ShippingMethod } from '../pricing/index.ts';
import {
  addedLines,
  assertCovers,
  type EditInput,
  type EditPlan,
  orderLineOf,
  planEdit,
  planRefunds,
} from './edits.ts';
import {
  cancellationPending,
  editDeclined,
  invalidState,
  nothingToPay,
  paymentDeclined,
  paymentFailed,
  refundCurrencyMismatch,
  totalChanged,
} from './errors.ts';
import { orderEvent, paymentRequested } from './events.ts';
import { type AuthorizedPayment, createSaga, type PaymentState, type PaymentsPort } from './saga.ts';
import { assertTransition, type OrderStatus } from './state.ts';
import {
  type DraftLine,
  type DraftRow,
  type EditRow,
  type OrderItemRow,
  type OrderRow,
  type OrderSource,
  type RefundRow,
  type RefundStatus,
  orderStore as store,
} from './store.ts';

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  items: CartLine[];

  total: Money;
  totals: Totals;
  shippingAddress: ShippingAddress;
  payment: {
    status: string;
    amount: Money;
    /** Taken so far: all of it once placed, or shipment by shipment with PAYMENTS_CAPTURE=on_shipment. */
    captured: Money;
    refunded: Money;
    /** What the shopper must do to finish paying (3-D Secure), while the payment waits for them. */
    action?: { type: 'redirect' | 'use_stripe_sdk'; url?: string; clientSecret?: string };
  };
  /** What a gift card paid (the payment paid the rest), and what went back to it. */
  giftCard?: { last4: string; amount: Money; refunded: Money };
  /** What the customer's store credit paid, and what went back to it. */
  storeCredit?: { amount: Money; refunded: Money };
  promotionCode?: string;
  shippingMethod?: ShippingMethod;
  cancelReason?: string;
  /** 1 as placed; each edit makes the next (GET /v1/orders/{id}/edits lists them). */
  version: number;
  /** A guest's order: the address its mail goes to. */
  email?: string;
  /** A guest's checkout answer only: the token that opens this order (send it as Order-Token). */
  orderToken?: string;
  createdAt: string;
  updatedAt: string;
}

/** A refund staff issued, as the API shows it. */
export interface Refund {
  id: string;
  orderId: string;
  amount: Money;
  reason: string;
  status: RefundStatus;
  issuedBy: string;
  createdAt: string;
}

const toRefund = (row: RefundRow, currency: string): Refund => ({
  id: row.id,
  orderId: row.orderId,
  amount: { amount: row.amount, currency },
  reason: row.reason,
  status: row.status,
  issuedBy: row.issuedBy,
  createdAt: row.createdAt.toISOString(),
});

/** One version of an order: what an edit changed, and the money it moved. */
export interface OrderEdit {
  id: string;
  version: number;
  status: 'pending' | 'applied' | 'failed';
  /** Each line whose quantity changed: 0 before for an added line, 0 after for a removed one. */
  changes: Array<{ name: string; sku: string; before: number; after: number }>;
  totalBefore: Money;
  totalAfter: Money;
  difference: Money;
  /** Charged to a card for this edit. */
  charged: Money;
  /** Given back for this edit. */
  refunded: Money;
  reason?: string;
  editedBy: string;
  createdAt: string;
}

/** An edit worked out before it is made: the order's lines and totals after it, and the difference. */
export interface EditPreview {
  items: CartLine[];
  totals: Totals;
  difference: Money;
  /** What happens to the difference: charged to a card, collected outside the shop, refunded, or nothing. */
  settlement: 'charge' | 'offline' | 'refund' | 'none';
}

function toEdit(row: EditRow, currency: string): OrderEdit {
  const money = (amount: number): Money => ({ amount, currency });
  const byVariant = new Map<string, { name: string; sku: string; before: number; after: number }>();
  const line = (item: { variantId: string; name: string; sku: string }) =>
    byVariant.get(item.variantId) ??
    byVariant
      .set(item.variantId, { name: item.name, sku: item.sku, before: 0, after: 0 })
      .get(item.variantId)!;
  for (const item of row.before.items) line(item).before += item.quantity;
  for (const item of row.after.items) line(item).after += item.quantity;
  return {
    id: row.id,
    version: row.version,
    status: row.status === 'applied' ? 'applied' : row.status === 'failed' ? 'failed' : 'pending',
    changes: [...byVariant.values()].filter((change) => change.before !== change.after),
    totalBefore: money(row.before.totalAmount),
    totalAfter: money(row.after.totalAmount),
    difference: money(row.difference),
    charged: money(row.chargedAmount),
    refunded: money(row.refunds.reduce((sum, refund) => sum + refund.amount, 0)),
    ...(row.reason ? { reason: row.reason } : {}),
    editedBy: row.editedBy,
    createdAt: row.createdAt.toISOString(),
  };
}

/** A staff draft, priced as a cart of its lines would be for its customer and address. */
export interface DraftOrder {
  id: string;
  status: 'open' | 'completed';
  customerId?: string;
  email?: string;
  items: CartLine[];
  totals: Totals;
  shippingAddress: ShippingAddress;
  shippingMethod?: ShippingMethod;
  /** The order it became, once completed. */
  orderId?: string;
  createdAt: string;
}

/** Lines of a draft, one per variant (repeats summed), each with an id of its own. */
function mergeDraftLines(items: ReadonlyArray<{ variantId: string; quantity: number }>): DraftLine[] {
  const quantities = new Map<string, number>();
  for (const item of items)
    quantities.set(item.variantId, (quantities.get(item.variantId) ?? 0) + item.quantity);
  return [...quantities].map(([variantId, quantity]) => ({ id: uuidv7(), variantId, quantity }));
}

function toDraft(
  row: DraftRow,
  priced: { items: CartLine[]; totals: Totals; shippingMethod?: ShippingMethod },
): DraftOrder {
  return {
    id: row.id,
    status: row.status,
    ...(row.customerId ? { customerId: row.customerId } : {}),
    ...(row.email ? { email: row.email } : {}),
    items: priced.items,
    totals: priced.totals,
    shippingAddress: row.shippingAddress as unknown as ShippingAddress,
    ...(priced.shippingMethod ? { shippingMethod: priced.shippingMethod } : {}),
    ...(row.orderId ? { orderId: row.orderId } : {}),
    createdAt: row.createdAt.toISOString(),
  };
}

export interface CheckoutResult {
  /** 201 confirmed, 202 still settling. */
  status: 201 | 202;
  order: Order;
}

export interface OrderingSettings {
  reservationTtlSeconds: number;
  requestTimeoutMs: number;
  /** How long a checkout request may spend on the payment before answering 202. */
  paymentBudgetMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** PAYMENTS_CAPTURE=on_shipment: orders are confirmed authorized; shipments capture. */
  captureOnShipment: boolean;
  /** Where the storefront is: payment links point there. */
  publicUrl: string;
}

/** How long a draft order's payment link works. */
const PAYMENT_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A draft as whoever holds its payment link sees it: what they pay for, not who made it. */
export interface PayableDraft {
  status: 'open' | 'completed';
  items: CartLine[];
  totals: Totals;
  shippingAddress: ShippingAddress;
  shippingMethod?: ShippingMethod;
}

const linkInvalid = () =>
  new DomainError(
    404,
    'PAYMENT_LINK_INVALID',
    'Payment link not found',
    'This payment link has expired or was never made: ask the shop for a new one',
  );

/** Who may look at an order: a signed-in user (their own; staff any), or a guest with its Order-Token. */

const isUniqueViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === '23505';

/** Staff who may see every order (their role holds orders:read), not only their own. */
const seesAllOrders = (principal: Principal) => can(principal, 'orders:read');

/**
 * The order as the API shows it. Its payment's state is the payments module's; an order that
 * never reached the provider shows `pending` while it is pending and `failed` (nothing charged) after.
 */
function toOrder(
  row: OrderRow,
  items: OrderItemRow[],
  payment: PaymentState | undefined,
  balance?: OrderBalance,
): Order {
  const money = (amount: number): Money => ({ amount, currency: row.currency });
  // A gift card or store credit that paid it all leaves nothing for a payment provider.
  const paidFromBalance = row.balanceAmount === row.totalAmount && row.balanceAmount > 0;
  const order: Order = {
    id: row.id,
    userId: row.userId,
    status: row.status,
    items: items.map((item) => ({
      id: item.id,
      variantId: item.variantId,
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unitPrice: money(item.unitAmount),
      lineTotal: money(item.lineAmount),
      discount: money(item.discountAmount),
      tax: money(item.taxAmount),
      ...(item.priceList && { priceList: item.priceList }),
    })),
    total: money(row.totalAmount),
    totals: {
      subtotal: money(row.subtotalAmount),
      discountTotal: money(row.discountAmount),
      discounts: discountsIn(row.discounts, row.currency),
      shippingTotal: money(row.shippingAmount),
      taxTotal: money(row.taxAmount + row.shippingTaxAmount),
      total: money(row.totalAmount),
      taxInclusive: row.taxInclusive,
    },
    shippingAddress: row.shippingAddress as unknown as ShippingAddress,
    payment: {
      status:
        payment?.status ??
        (row.paidOffline
          ? 'paid_offline'
          : paidFromBalance
            ? 'not_required'
            : row.status === 'pending'
              ? 'pending'
              : 'failed'),
      amount: money(Math.max(0, row.totalAmount - row.balanceAmount)),
      captured: money(payment?.capturedAmount ?? 0),
      refunded: money(payment?.refundedAmount ?? 0),
      ...(payment?.action && row.status === 'pending' && { action: payment.action }),
    },
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
  if (balance?.last4) {
    order.giftCard = {
      last4: balance.last4,
      amount: money(balance.amount),
      refunded: money(balance.returned),
    };
  } else if (balance) {
    order.storeCredit = { amount: money(balance.amount), refunded: money(balance.returned) };
  }
  if (row.promotionCode) order.promotionCode = row.promotionCode;
  if (row.shippingMethod) order.shippingMethod = row.shippingMethod;
  if (row.cancelReason) order.cancelReason = row.cancelReason;
  if (row.guestEmail) order.email = row.guestEmail;
  return order;
}

/** The cart's discounts as the order keeps them: its lines named by the order's item ids. */
function orderDiscounts(cart: CheckoutCart, items: ReadonlyArray<{ id: string }>): PricedDiscount[] {
  const itemOf = new Map(cart.items.map((line, index) => [line.id, items[index].id]));
  return cart.totals.discounts.map(({ amount, shipping, lines, ...discount }) => ({
    ...discount,
    amount: amount.amount,
    ...(shipping && { shippingAmount: shipping.amount }),
    lines: lines.map((line) => ({ itemId: itemOf.get(line.itemId)!, amount: line.amount.amount })),
  }));
}

/** Orders of a period as a promotion simulation replays them. */
export interface PlacedHistory {
  orders: Array<{
    id: string;
    userId: string;
    currency: string;
    shippingAmount: number;
    lines: Array<{ id: string; variantId: string; unitAmount: number; quantity: number }>;
  }>;
  truncated: boolean;
}

/** A guest's address for their order mail, checked as sign-up checks one. */
function guestEmailOf(raw: string | undefined): string {
  if (raw === undefined)
    throw badRequest('EMAIL_REQUIRED', 'Enter your email address: the order confirmation is sent there', {
      errors: [{ path: '/email', message: 'a guest checkout needs an email address' }],
    });
  return emailAddressOf(raw, 'Enter an email address such as ada@example.com');
}

/** What an order is placed from: a shopper's cart, a staff draft, or an exchange (no cart to take or give back). */
interface Placing {
  shopper: Pick<Principal, 'id' | 'role'>;
  cart: CheckoutCart;
  shippingAddress: ShippingAddress;
  paymentToken?: string;
  balance?: BalanceSource;
  idempotencyKey: string;
  guestEmail: string | null;
  source: OrderSource;
  draft?: { id: string; paidOffline: boolean };
}

/** What ordering reads of the accounts (identity). */
export interface OrderCustomers {
  user(id: string): Promise<{ name: string }>;
  customers(query: { q: string; page: number; size: number }): Promise<{ users: Array<{ id: string }> }>;
}

/** At most this many customers whose email or name matches a search have their orders found. */
const SEARCH_CUSTOMERS = 100;

export function createOrderingService(deps: {
  db: Db;
  cart: Pick<CartService, 'forCheckout' | 'priceLines' | 'clear' | 'restore'>;
  /** Who the customers are (identity): a draft is for an account that exists; staff search orders by them. */
  customers: OrderCustomers;
  pricing: Pick<PricingService, 'redeem' | 'release'>;
  inventory: Pick<
    InventoryService,
    'reserve' | 'commit' | 'release' | 'restock' | 'reservations' | 'changeSold' | 'availability'
  >;
  giftCards: Pick<GiftCardService, 'redeem' | 'releaseRest' | 'creditBack' | 'revokeCredit' | 'ofOrders'>;
  payments: PaymentsPort;
  bus: Pick<EventBus, 'append' | 'appending' | 'nudge'>;
  logger: Logger;
  metrics: Metrics;
  settings: OrderingSettings;
}) {
  const { db, settings } = deps;
  const saga = createSaga({
    ...deps,
    maxAttempts: settings.maxAttempts,
    retryBaseMs: settings.retryBaseMs,
    captureOnShipment: settings.captureOnShipment,
    reservationTtlMs: settings.reservationTtlSeconds * 1000,
  });
  const outcomes = deps.metrics.counter('checkout_outcomes_total', 'Checkout results by outcome', [
    'outcome',
  ]);
  // The request holds its new order's saga this long; after that, recovery may take over.
  const requestClaimMs = settings.requestTimeoutMs + 5_000;

  /**
   * Each order's payment, with what edits charged to payments of their own added in: its money is
   * theirs together. Edits are read only for orders that were edited.
   */
  async function paymentsOf(rows: readonly OrderRow[]): Promise<Map<string, PaymentState>> {
    const edited = rows.filter((row) => row.version > 1).map((row) => row.id);
    const charged = edited.length > 0 ? await store.chargedEdits(db, edited) : [];
    const orderOf = new Map(charged.map((edit) => [edit.id, edit.orderId]));
    const paid = await deps.payments.ofOrders([...rows.map((row) => row.id), ...orderOf.keys()]);
    const payments = new Map(paid.filter((p) => !orderOf.has(p.orderId)).map((p) => [p.orderId, { ...p }]));
    for (const extra of paid.filter((p) => orderOf.has(p.orderId))) {
      const orderId = orderOf.get(extra.orderId)!;
      const main = payments.get(orderId);
      if (!main) {
        payments.set(orderId, { ...extra, orderId });
        continue;
      }
      main.capturedAmount += extra.capturedAmount;
      main.refundedAmount += extra.refundedAmount;
    }
    return payments;
  }

  /** Orders with their lines and payments: three reads, however many orders (four with edits). */
  async function withDetails(rows: OrderRow[]): Promise<Order[]> {
    const ids = rows.map((row) => row.id);
    const withCards = rows.filter((row) => row.balanceAmount > 0).map((row) => row.id);
    const [items, payments, cards] = await Promise.all([
      store.itemsOf(db, ids),
      paymentsOf(rows),
      // Read only for orders a gift card or store credit paid for: the others cost no statement.
      withCards.length > 0 ? deps.giftCards.ofOrders(withCards) : new Map<string, OrderBalance>(),
    ]);
    const lines = Map.groupBy(items, (item) => item.orderId);
    return rows.map((row) => toOrder(row, lines.get(row.id) ?? [], payments.get(row.id), cards.get(row.id)));
  }

  /**
   * Gives an order's money back: the gift card's or store credit's share first (credited to it), the
   * provider the rest, each once per `key`. When the provider refuses its part, the card's
   * credit is taken back too, so a refused refund gives back nothing.
   */
  async function refundMoney(
    orderId: string,
    amount: number,
    key: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const toBalance = await deps.giftCards.creditBack(orderId, amount, key);
    if (toBalance === amount) return;
    // Paid outside the shop: staff pay it back the same way; the order records the refund.
    if ((await store.byId(db, orderId))?.paidOffline) return;
    try {
      await deps.payments.refund(orderId, amount - toBalance, key, signal);
    } catch (error) {
      if (toBalance > 0 && error instanceof DomainError && error.status < 500) {
        if (!(await deps.giftCards.revokeCredit(orderId, key)))
          deps.logger.warn(
            { orderId, key },
            'a refused refund’s credit to a gift card or store credit was already spent',
          );
      }
      throw error;
    }
  }

  /**
   * Pays a requested staff refund, then books it on the order with its event, once. A definitive
   * no from payments (more than was captured, nothing captured) rejects it and is thrown on.
   */
  async function completeRefund(refund: RefundRow, signal?: AbortSignal): Promise<RefundRow> {
    if (refund.status !== 'requested') return refund;
    try {
      await refundMoney(refund.orderId, refund.amount, `${refund.id}:staff`, signal);
    } catch (error) {
      if (error instanceof DomainError && error.status === 409)
        await store.settleRefund(db, refund.id, 'rejected');
      throw error;
    }
    await transact(db, async (tx) => {
      if (!(await store.settleRefund(tx, refund.id, 'refunded'))) return;
      await store.addRefund(tx, refund.orderId, refund.amount);
      const order = (await store.byId(tx, refund.orderId))!;
      await deps.bus.append(tx, [
        orderEvent('payment.refunded', order, {
          amount: refund.amount,
          reason: refund.reason,
          refundId: refund.id,
        }),
      ]);
    });
    deps.bus.nudge();
    return { ...refund, status: 'refunded' };
  }

  async function load(id: string): Promise<Order> {
    const row = await store.byId(db, id);
    if (!row) throw notFound('Order');
    return (await withDetails([row]))[0]!;
  }

  function answer(order: Order): CheckoutResult {
    if (order.status === 'cancelled') {
      outcomes.inc({ outcome: order.cancelReason ?? 'cancelled' });
      if (order.cancelReason === 'payment_declined') {
        throw paymentDeclined(order.id);
      }
      throw paymentFailed(order.id);
    }
    outcomes.inc({ outcome: order.status });
    return { status: order.status === 'pending' ? 202 : 201, order };
  }

  /** Whom a draft's order is for: the customer's account, or a guest known by the draft's email. */
  const draftShopper = (draft: DraftRow): Pick<Principal, 'id' | 'role'> =>
    draft.customerId ? { id: draft.customerId, role: 'customer' } : { id: draft.id, role: 'guest' };

  const priceDraft = (draft: DraftRow) =>
    deps.cart.priceLines(draftShopper(draft), {
      id: draft.id,
      lines: draft.items,
      shippingAddress: draft.shippingAddress as unknown as ShippingAddress,
    });

  /** A draft as staff see it: priced now, or once completed as the order it became was placed. */
  async function draftView(row: DraftRow): Promise<DraftOrder> {
    if (row.status === 'completed') {
      const order = await load(row.orderId!);
      return toDraft(row, { items: order.items, totals: order.totals, shippingMethod: order.shippingMethod });
    }
    return toDraft(row, await priceDraft(row));
  }

  /** Stores a new payment link of the draft: its token (shown once; the hash is kept) works for a week. */
  async function newPaymentLink(draftId: string): Promise<{ token: string; expiresAt: Date }> {
    const { token, hash } = newOpaqueToken();
    const expiresAt = new Date(Date.now() + PAYMENT_LINK_TTL_MS);
    await store.insertPaymentLink(db, draftId, hash, expiresAt);
    return { token, expiresAt };
  }

  /**
   * Places a priced order: (1) one transaction creates the pending order, reserves the stock,
   * takes what a gift card or store credit pays and empties the cart; (2) the saga authorizes
   * and (3) captures and confirms. `orderedBefore` answers a retry whose first attempt made it.
   */
  async function place(
    placing: Placing,
    orderedBefore: (error: unknown) => Promise<CheckoutResult>,
    signal?: AbortSignal,
  ): Promise<CheckoutResult> {
    const { cart } = placing;
    const orderId = uuidv7();
    const items = cart.items.map(orderLineOf);
    const created = await transact(db, async (tx) => {
      // The local steps first: what a gift card or store credit paid goes into the order row.
      const { balanceAmount } = await saga.begin(tx, {
        id: orderId,
        userId: placing.shopper.id,
        lines: items,
        country: placing.shippingAddress.country,
        currency: cart.currency,
        totalAmount: cart.totals.total.amount,
        balance: placing.balance,
        paymentToken: placing.paymentToken,
        source: placing.source,
        promotionCode: cart.promotion?.code ?? null,
        redemptions: cart.totals.discounts.map((discount) => ({
          promotionId: discount.promotionId,
          amount: discount.amount.amount,
        })),
      });
      const inserted = await store.insertOrder(
        tx,
        {
          id: orderId,
          userId: placing.shopper.id,
          currency: cart.currency,
          subtotalAmount: cart.totals.subtotal.amount,
          discountAmount: cart.totals.discountTotal.amount,
          shippingAmount: cart.totals.shippingTotal.amount,
          taxAmount: cart.totals.taxTotal.amount - cart.shippingTax.amount,
          shippingTaxAmount: cart.shippingTax.amount,
          taxInclusive: cart.totals.taxInclusive,
          totalAmount: cart.totals.total.amount,
          promotionCode: cart.promotion?.code ?? null,
          discounts: orderDiscounts(cart, items),
          shippingMethod: cart.shippingMethod ?? null,
          shippingAddress: { ...placing.shippingAddress },
          paymentToken: placing.paymentToken ?? null,
          balanceAmount,
          draftOrderId: placing.draft?.id ?? null,
          source: placing.source,
          paidOffline: placing.draft?.paidOffline ?? false,
          idempotencyKey: placing.idempotencyKey,
          claimMs: requestClaimMs,
          guestEmail: placing.guestEmail,
        },
        items,
        deps.bus.appending([
          orderEvent('order.created', {
            id: orderId,
            userId: placing.shopper.id,
            status: 'pending',
            totalAmount: cart.totals.total.amount,
            currency: cart.currency,
            cancelReason: null,
          }),
        ]),
      );
      // A draft becomes this order in the same transaction: only one order is ever made of it.
      if (placing.draft && !(await store.completeDraft(tx, placing.draft.id, orderId)))
        throw conflict('DRAFT_COMPLETED', 'This draft order was completed already');
      return inserted;
    }).catch((error) => {
      if (error instanceof DomainError && error.code === 'OUT_OF_STOCK')
        outcomes.inc({ outcome: 'out_of_stock' });
      if (isUniqueViolation(error)) return orderedBefore(error);
      throw error;
    });
    if ('status' in created) return created;
    deps.bus.nudge();

    const budget = timeoutSignal(settings.paymentBudgetMs, signal);
    try {
      const settled = await saga.advance(orderId, budget.signal, created.order);
      const payment = settled.payment ?? (await deps.payments.ofOrders([orderId]))[0];
      const giftCard =
        settled.order.balanceAmount > 0 ? (await deps.giftCards.ofOrders([orderId])).get(orderId) : undefined;
      return answer(toOrder(settled.order, created.items, payment, giftCard));
    } finally {
      budget.clear();
    }
  }

  /** Why this order cannot be edited now, or undefined when it can. */
  function editRefusal(order: OrderRow): DomainError | undefined {
    if (settings.captureOnShipment)
      return conflict(
        'EDIT_NOT_ACCEPTED',
        'Orders cannot be edited while this shop takes payment at shipment: cancel and place a new one',
      );
    if (order.status === 'pending') return invalidState('The order is still being paid; edit it once it is');
    if (order.status !== 'confirmed')
      return invalidState(
        `Only an order not yet shipped can be edited; this one is ${order.status.replace('_', ' ')}`,
      );
    if (order.sagaStep !== 'done') return invalidState('The order is being cancelled; it cannot be edited');
    if (order.chargingFulfillmentId)
      return invalidState('A shipment of this order is being charged right now; try again in a moment', {
        retryAfterSeconds: 5,
      });
    return undefined;
  }

  /** The edit worked out against the order as it is now: added lines priced for its customer and address. */
  async function planFor(id: string, input: EditInput): Promise<{ order: OrderRow; plan: EditPlan }> {
    const order = await store.byId(db, id);
    if (!order) throw notFound('Order');
    const refusal = editRefusal(order);
    if (refusal) throw refusal;
    const items = await store.itemsOf(db, [id]);
    const lines = addedLines(items, input);
    const added =
      lines.length > 0
        ? await deps.cart.priceLines(
            { id: order.userId, role: order.guestEmail && !order.guestClaimedAt ? 'guest' : 'customer' },
            {
              id: order.id,
              lines,
              shippingAddress: order.shippingAddress as unknown as ShippingAddress,
              currency: order.currency,
            },
          )
        : undefined;
    const plan = planEdit(order, items, input, added);
    assertCovers(order, plan);
    return { order, plan };
  }

  /** A repeated edit request: the order it made, or why it made none. */
  async function repeated(row: EditRow): Promise<Order> {
    if (row.status === 'applied' || row.status === 'refunding') return load(row.orderId);
    if (row.status === 'failed')
      throw conflict(
        'IDEMPOTENCY_KEY_REUSED',
        'This key named an edit that was not made: send the edit again with a new key',
      );
    throw editUnderWay();
  }

  const editUnderWay = () =>
    conflict('EDIT_IN_PROGRESS', 'Another edit of this order is being made; reload it and try again', {
      headers: { 'retry-after': '5' },
    });

  /**
   * Gives back what an edit's own payment took, the edit not applied (it stays `undoing` until the
   * provider has answered), then marks it failed. A no-op for an edit that was applied meanwhile.
   */
  async function undoCharge(edit: Pick<EditRow, 'id' | 'status'>, signal?: AbortSignal): Promise<void> {
    if (edit.status === 'charging' && !(await store.moveEdit(db, edit.id, ['charging'], 'undoing'))) return;
    let payment: PaymentState | undefined = (await deps.payments.ofOrders([edit.id]))[0];
    if (payment && ['pending', 'requires_action', 'authorized'].includes(payment.status)) {
      payment = await deps.payments.voidAuthorization(edit.id, signal).catch(async (error) => {
        // Captured already, its answer lost (a crash, a timeout): the capture, repeated under its
        // key, tells us so, and the refund below gives it back.
        if (!(error instanceof DomainError && error.status < 500)) throw error;
        return deps.payments.capture(edit.id, signal);
      });
    }
    if (payment && payment.capturedAmount > payment.refundedAmount)
      await deps.payments.refundRest(edit.id, 'undo', signal);
    await store.moveEdit(db, edit.id, ['undoing'], 'failed');
  }

  /** Charges a raised total to the card, under the edit's own payment; declines say nothing changed. */
  async function chargeEdit(edit: EditRow, currency: string, token: string, signal?: AbortSignal) {
    let authorized: AuthorizedPayment;
    try {
      authorized = await deps.payments.authorize(
        { orderId: edit.id, amount: edit.difference, currency, token },
        signal,
      );
    } catch (error) {
      if (error instanceof DomainError && error.status < 500) throw editDeclined(error);
      throw error;
    }
    if (authorized.status === 'requires_action')
      throw editDeclined(
        badRequest('PAYMENT_ACTION_REQUIRED', 'The card asks its holder to confirm the payment'),
      );
    try {
      await deps.payments.capture(edit.id, signal, authorized);
    } catch (error) {
      if (error instanceof DomainError && error.status < 500) throw editDeclined(error);
      throw error;
    }
  }

  /** Pays a lowered total's refunds as planned, once each, then marks the edit applied. */
  async function refundEdit(edit: Pick<EditRow, 'id' | 'refunds'>, signal?: AbortSignal): Promise<void> {
    for (const refund of edit.refunds) {
      await deps.payments
        .refund(refund.paymentOf, refund.amount, `edit:${edit.id}`, signal)
        .catch((error) => {
          // Nothing left to give back: a cancellation refunded all there was meanwhile.
          if (!(error instanceof DomainError && error.code === 'REFUND_EXCEEDS_CAPTURED')) throw error;
          deps.logger.warn(
            { editId: edit.id, paymentOf: refund.paymentOf },
            'an order edit’s refund found nothing left',
          );
        });
    }
    await store.moveEdit(db, edit.id, ['refunding'], 'applied');
  }

  /** Edits whose request stopped half-way: a charge not applied goes back; a refund planned is paid. */
  async function settleEdits(limit: number): Promise<number> {
    const stalled = await store.unsettledEdits(db, requestClaimMs, limit);
    for (const edit of stalled) {
      await (edit.status === 'refunding' ? refundEdit(edit) : undoCharge(edit)).catch((error) =>
        deps.logger.error(
          { err: error, orderId: edit.orderId, editId: edit.id },
          'order edit recovery failed',
        ),
      );
    }
    return stalled.length;
  }

  return {
    /**
     * Checks out the user's cart: (1) one transaction creates the pending order, reserves the
     * stock and empties the cart; (2) the saga authorizes and (3) captures and confirms.
     */
    async checkout(
      principal: Principal,
      input: {
        shippingAddress: ShippingAddress;
        /** Pays what a gift card or store credit does not; none is needed when they pay it all. */
        paymentToken?: string;
        giftCardCode?: string;
        /** The shopper's store credit pays first (not with a gift card). */
        useStoreCredit?: boolean;
        idempotencyKey: string;
        /** A guest's address for the confirmation (required of guests; a user's mail goes to their account's). */
        email?: string;
        /** The total the shopper was shown; checkout refuses when the cart now costs otherwise. */
        expectedTotal?: Money;
      },
      signal?: AbortSignal,
    ): Promise<CheckoutResult> {
      // A retry whose first attempt died after creating the order finds that order instead of
      // making a second. It is looked for only when this attempt cannot go on: the cart was
      // emptied by the first attempt, or the insert hits the (user, key) unique constraint.
      const orderedBefore = async (error: unknown): Promise<CheckoutResult> => {
        const existing = await store.byIdempotencyKey(db, principal.id, input.idempotencyKey);
        if (existing) return answer(await load(existing.id));
        throw error;
      };

      if (input.giftCardCode && input.useStoreCredit)
        throw badRequest('ONE_BALANCE', 'Pay with a gift card or with store credit, not both');
      const guestEmail = principal.role === 'guest' ? guestEmailOf(input.email) : null;
      // A provider known to be down: answer 503 at once instead of creating an order that cannot be paid.
      deps.payments.assertAvailable();
      let cart: CheckoutCart;
      try {
        cart = await deps.cart.forCheckout(principal, input.shippingAddress.country);
      } catch (error) {
        return orderedBefore(error);
      }
      const expected = input.expectedTotal;
      if (expected && (expected.amount !== cart.total.amount || expected.currency !== cart.total.currency)) {
        outcomes.inc({ outcome: 'total_changed' });
        throw totalChanged(cart, expected);
      }
      // Providers take no zero payments; an order nobody pays for is not a checkout.
      if (cart.total.amount === 0) {
        outcomes.inc({ outcome: 'nothing_to_pay' });
        throw nothingToPay();
      }
      return place(
        {
          shopper: principal,
          cart,
          shippingAddress: input.shippingAddress,
          paymentToken: input.paymentToken,
          balance: input.giftCardCode
            ? { giftCardCode: input.giftCardCode }
            : input.useStoreCredit
              ? { storeCreditOf: principal.id }
              : undefined,
          idempotencyKey: input.idempotencyKey,
          guestEmail,
          source: 'cart',
        },
        orderedBefore,
        signal,
      );
    },

    /**
     * Staff build an order for a customer (or an email address): the lines are priced now, as a
     * cart of them would be for that customer and address, so a mistake is refused at once.
     */
    async createDraft(
      staff: Principal,
      input: {
        customerId?: string;
        email?: string;
        items: Array<{ variantId: string; quantity: number }>;
        shippingAddress: ShippingAddress;
      },
    ): Promise<DraftOrder> {
      if ((input.customerId === undefined) === (input.email === undefined))
        throw badRequest(
          'DRAFT_CUSTOMER',
          'A draft order is for a customer or for an email address: give one of them',
        );
      if (input.customerId) await deps.customers.user(input.customerId);
      const draft: DraftRow = {
        id: uuidv7(),
        customerId: input.customerId ?? null,
        email: input.email === undefined ? null : guestEmailOf(input.email),
        items: mergeDraftLines(input.items),
        shippingAddress: { ...input.shippingAddress },
        status: 'open',
        orderId: null,
        createdBy: staff.id,
        createdAt: new Date(),
      };
      const priced = await priceDraft(draft);
      const row = await store.insertDraft(db, draft);
      return toDraft(row, priced);
    },

    async getDraft(id: string): Promise<DraftOrder> {
      const row = await store.draftById(db, id);
      if (!row) throw notFound('Draft order');
      return draftView(row);
    },

    /** A new token that opens the draft's payment page, for a week; undefined once it is completed. */
    async issuePaymentLink(draftId: string): Promise<string | undefined> {
      const draft = await store.draftById(db, draftId);
      if (!draft || draft.status === 'completed') return undefined;
      return (await newPaymentLink(draftId)).token;
    },

    /**
     * A link the customer pays the draft with: answered to staff, and when `send`, mailed to the
     * customer with a token of the mail's own (the event carries none).
     */
    async paymentLink(
      draftId: string,
      send: boolean,
    ): Promise<{ url: string; expiresAt: string; sent: boolean }> {
      const draft = await store.draftById(db, draftId);
      if (!draft) throw notFound('Draft order');
      if (draft.status === 'completed')
        throw conflict('DRAFT_COMPLETED', 'This draft order was completed already');
      const priced = await priceDraft(draft);
      const { token, expiresAt } = await newPaymentLink(draftId);
      if (send) {
        await transact(db, (tx) => deps.bus.append(tx, [paymentRequested(draft, priced.total)]));
        deps.bus.nudge();
      }
      return {
        url: `${settings.publicUrl}/pay?token=${encodeURIComponent(token)}`,
        expiresAt: expiresAt.toISOString(),
        sent: send,
      };
    },

    /** The draft a payment link opens, priced now; 404 for a token that opens none. */
    async payableDraft(linkToken: string): Promise<PayableDraft> {
      const row = await store.draftByLink(db, hashOpaqueToken(linkToken));
      if (!row) throw linkInvalid();
      const {
        id: _id,
        customerId: _customer,
        email: _email,
        orderId: _order,
        createdAt: _at,
        ...shown
      } = await draftView(row);
      return shown;
    },

    /**
     * The customer pays the draft through its link: it is placed like any checkout, and the answer
     * carries a token that opens the order (as a guest checkout's does). Paid already: 409.
     */
    async payDraft(linkToken: string, paymentToken: string, signal?: AbortSignal): Promise<CheckoutResult> {
      const row = await store.draftByLink(db, hashOpaqueToken(linkToken));
      if (!row) throw linkInvalid();
      if (row.status === 'completed') throw conflict('DRAFT_COMPLETED', 'This order has been paid already');
      const result = await this.completeDraft(row.id, { paymentToken }, signal);
      return {
        ...result,
        order: { ...result.order, orderToken: await this.issueOrderToken(result.order.id) },
      };
    },

    /** The open drafts, newest first: whom each is for and how many units, unpriced. */
    async openDrafts() {
      const rows = await store.openDrafts(db, 100);
      return rows.map((row) => ({
        id: row.id,
        ...(row.customerId ? { customerId: row.customerId } : {}),
        ...(row.email ? { email: row.email } : {}),
        itemCount: row.items.reduce((sum, line) => sum + line.quantity, 0),
        createdAt: row.createdAt.toISOString(),
      }));
    },

    /**
     * Completes a draft into an order, once: with a card token (charged now) or paid outside the
     * shop. Priced again now, reserved and confirmed like any checkout; a repeat answers the
     * order it became.
     */
    async completeDraft(
      id: string,
      input: { paymentToken?: string; paidOffline?: boolean },
      signal?: AbortSignal,
    ): Promise<CheckoutResult> {
      const draft = await store.draftById(db, id);
      if (!draft) throw notFound('Draft order');
      if (draft.status === 'completed') return answer(await load(draft.orderId!));
      if (!input.paymentToken === !input.paidOffline)
        throw badRequest(
          'DRAFT_PAYMENT',
          'Charge a card token or mark the order paid outside the shop: one of them',
        );
      const shopper = draftShopper(draft);
      // Each attempt is an order of its own: one whose payment fails is cancelled and gives the
      // draft back (open again), so the next attempt places a new one.
      const idempotencyKey = `draft:${draft.id}:${uuidv7()}`;
      const orderedBefore = async (error: unknown): Promise<CheckoutResult> => {
        const now = await store.draftById(db, draft.id);
        if (now?.status === 'completed') return answer(await load(now.orderId!));
        throw error;
      };
      if (input.paymentToken) deps.payments.assertAvailable();
      const cart = await priceDraft(draft);
      if (cart.total.amount === 0) throw nothingToPay();
      return place(
        {
          shopper,
          cart,
          shippingAddress: draft.shippingAddress as unknown as ShippingAddress,
          paymentToken: input.paymentToken,
          idempotencyKey,
          guestEmail: draft.email,
          draft: { id: draft.id, paidOffline: input.paidOffline === true },
          source: 'draft',
        },
        orderedBefore,
        signal,
      ).catch((error: unknown) => {
        // Another completion got there first: answer the order it made.
        if (error instanceof DomainError && error.code === 'DRAFT_COMPLETED') return orderedBefore(error);
        throw error;
      });
    },

    /** What an edit would make of the order, without making it: what staff confirm. */
    async previewEdit(id: string, input: EditInput): Promise<EditPreview> {
      const { order, plan } = await planFor(id, input);
      const after = toOrder(
        { ...order, ...plan.after },
        plan.after.items.map((item) => ({ ...item, orderId: id })),
        undefined,
      );
      return {
        items: after.items,
        totals: after.totals,
        difference: { amount: plan.difference, currency: order.currency },
        settlement:
          plan.difference === 0
            ? 'none'
            : order.paidOffline
              ? 'offline'
              : plan.difference > 0
                ? 'charge'
                : 'refund',
      };
    },

    /**
     * Staff change an order before it ships: lines added, removed or changed. A raised total is
     * charged to a card first (the edit's own payment), a lowered one refunded after, to the
     * payments it was paid with; an order paid outside the shop settles the difference there. The
     * edit is applied in one transaction under the order's lock, only on the version it was
     * worked out on, with the stock sold or put back; the order keeps each version. `key` makes a
     * retry answer the edit it made.
     */
    async edit(
      staff: Principal,
      id: string,
      input: EditInput & { reason?: string; paymentToken?: string; key: string },
      signal?: AbortSignal,
    ): Promise<Order> {
      // A retry of an edit made already answers it, though the order it was planned on is gone.
      const made = await store.editByKey(db, id, input.key);
      if (made) return repeated(made);
      const { order, plan } = await planFor(id, input);
      const charging = plan.difference > 0 && !order.paidOffline;
      if (charging && !input.paymentToken)
        throw badRequest(
          'PAYMENT_TOKEN_REQUIRED',
          `This edit adds ${formatMoney({ amount: plan.difference, currency: order.currency })} to the total: charge it to a card`,
        );
      if (charging) {
        deps.payments.assertAvailable();
        // Not charged for units that are not there (the transaction checks again, under the locks).
        const wanted = plan.stock.filter((change) => change.delta > 0);
        const free = await deps.inventory.availability(wanted.map((change) => change.variantId));
        const short = wanted.filter((change) => (free.get(change.variantId) ?? 0) < change.delta);
        if (short.length > 0) throw outOfStock(short.map((change) => change.variantId));
      }
      const edit = {
        id: uuidv7(),
        orderId: id,
        version: order.version + 1,
        status: 'charging' as const,
        before: plan.before,
        after: plan.after,
        difference: plan.difference,
        refunds: [],
        reason: input.reason ?? null,
        editedBy: staff.id,
        key: input.key,
      };
      const giveBack = (error: unknown) =>
        deps.logger.warn(
          { err: error, editId: edit.id },
          'an order edit’s charge is left for recovery to give back',
        );
      if (charging) {
        const written = await store.insertEdit(db, edit);
        if (!written) throw editUnderWay();
        if (!written.inserted) return repeated(written.row);
        try {
          await chargeEdit(written.row, order.currency, input.paymentToken!, signal);
        } catch (error) {
          await undoCharge(written.row, signal).catch(giveBack);
          throw error;
        }
      }
      let outcome: { row: EditRow; repeat: boolean };
      try {
        outcome = await transact(db, async (tx) => {
          const locked = await store.lockById(tx, id);
          if (!locked) throw notFound('Order');
          const refusal = editRefusal(locked);
          if (refusal) throw refusal;
          if (locked.version !== order.version) throw editUnderWay();
          let row: EditRow;
          if (charging) {
            if (!(await store.moveEdit(tx, edit.id, ['charging'], 'applied', plan.difference)))
              throw editUnderWay();
            row = {
              ...edit,
              status: 'applied',
              chargedAmount: plan.difference,
              createdAt: new Date(),
              updatedAt: new Date(),
            };
          } else {
            // A lowered total's refunds are planned here, under the lock, so a retry pays the same ones.
            const refunds =
              plan.difference < 0 && !order.paidOffline
                ? planRefunds(id, await store.editsOf(tx, id), -plan.difference)
                : [];
            const written = await store.insertEdit(tx, {
              ...edit,
              status: refunds.length > 0 ? 'refunding' : 'applied',
              refunds,
            });
            if (!written) throw editUnderWay();
            if (!written.inserted) return { row: written.row, repeat: true };
            row = written.row;
          }
          await deps.inventory.changeSold(
            tx,
            id,
            plan.stock,
            (order.shippingAddress as unknown as ShippingAddress).country,
          );
          if (!(await store.applyVersion(tx, id, edit.version, plan.after))) throw editUnderWay();
          await deps.bus.append(tx, [
            orderEvent(
              'order.edited',
              { ...locked, totalAmount: plan.after.totalAmount },
              { version: edit.version, difference: { amount: plan.difference, currency: order.currency } },
            ),
          ]);
          return { row, repeat: false };
        });
      } catch (error) {
        if (charging) await undoCharge({ id: edit.id, status: 'charging' }, signal).catch(giveBack);
        throw error;
      }
      if (outcome.repeat) return repeated(outcome.row);
      deps.bus.nudge();
      if (outcome.row.status === 'refunding')
        await refundEdit(outcome.row, signal).catch((error) =>
          deps.logger.warn({ err: error, editId: edit.id }, 'an order edit’s refund is left for recovery'),
        );
      return load(id);
    },

    /** The order's versions after the first, oldest first: what each edit changed and the money it moved. */
    async edits(id: string): Promise<OrderEdit[]> {
      const order = await store.byId(db, id);
      if (!order) throw notFound('Order');
      return (await store.editsOf(db, id)).map((row) => toEdit(row, order.currency));
    },

    async get(viewer: OrderViewer, id: string): Promise<Order> {
      if ('orderToken' in viewer) return this.getWithToken(id, viewer.orderToken);
      const principal = viewer;
      const row = await store.byId(db, id);
      // Another customer's order is answered exactly like a missing one.
      if (!row || (row.userId !== principal.id && !seesAllOrders(principal))) throw notFound('Order');
      return (await withDetails([row]))[0]!;
    },

    /** The order a guest's Order-Token opens; any other token is answered as a missing order. */
    async getWithToken(id: string, token: string): Promise<Order> {
      if (!(await store.tokenOpens(db, id, hashOpaqueToken(token)))) throw notFound('Order');
      return load(id);
    },

    /** A new token that opens this order alone (a guest's checkout answer, each mail's link). */
    async issueOrderToken(orderId: string): Promise<string> {
      const { token, hash } = newOpaqueToken();
      await store.insertToken(db, orderId, hash);
      return token;
    },

    /** Where a guest order's mail goes, with a fresh link token; undefined for an account's order. */
    async guestContact(orderId: string): Promise<{ email: string; token: string } | undefined> {
      const row = await store.byId(db, orderId);
      if (!row?.guestEmail || row.guestClaimedAt) return undefined;
      return { email: row.guestEmail, token: await this.issueOrderToken(orderId) };
    },

    /** An erased account: its orders stay, without the personal fields. */
    anonymiseOrdersOf: (userId: string) => store.anonymiseOrdersOf(db, userId),

    /** A user proved this address: the guest orders placed with it become theirs. */
    claimGuestOrders: (userId: string, email: string) =>
      store.claimGuestOrders(db, userId, normaliseEmail(email)),

    async list(
      principal: Principal,
      query: {
        page: number;
        size: number;
        status?: OrderStatus;
        userId?: string;
        /** Staff: text in the order's number or email, or in its customer's email or name. */
        q?: string;
        from?: Date;
        to?: Date;
      },
    ): Promise<{ items: Order[]; page: number; size: number; total: number }> {
      const staff = seesAllOrders(principal);
      const text = staff ? query.q?.trim() : undefined;
      const search = text
        ? {
            text,
            userIds: (await deps.customers.customers({ q: text, page: 1, size: SEARCH_CUSTOMERS })).users.map(
              (user) => user.id,
            ),
          }
        : undefined;
      const filter = {
        userId: staff ? query.userId : principal.id,
        status: query.status,
        from: query.from,
        to: query.to,
        search,
      };
      const { rows, total } = await store.list(db, filter, {
        offset: (query.page - 1) * query.size,
        limit: query.size,
      });
      return {
        items: await withDetails(rows),
        page: query.page,
        size: query.size,
        total,
      };
    },

    /**
     * Owner (before shipping) or staff: refund the payment and return the stock. The decision is
     * one conditional update under the order's row lock (confirmed, nothing else moving it); from
     * then on fulfillment cannot ship it, so the order ends cancelled-and-refunded or, when the
     * shipment got there first, this answers 409 and refunds nothing.
     */
    async cancel(principal: Principal, id: string, signal?: AbortSignal): Promise<Order> {
      const order = await this.get(principal, id);
      const byStaff = order.userId !== principal.id;
      if (byStaff && !can(principal, 'orders:write'))
        throw forbidden(`Your role (${principal.role}) may look at orders but not cancel them`);
      const reason = byStaff ? 'cancelled_by_staff' : 'cancelled_by_customer';
      const started = await store.beginCancellation(db, id, reason, requestClaimMs);
      if (!started) {
        const now = await load(id);
        if (now.status === 'pending') {
          throw invalidState('The order is still being paid; try again in a moment');
        }
        assertTransition(now.status, 'cancelled');
        if (now.status === 'confirmed' && (await store.byId(db, id))?.chargingFulfillmentId)
          throw invalidState('A shipment of this order is being charged right now; try again in a moment', {
            retryAfterSeconds: 5,
          });
        // Confirmed, but a step is already moving it: a cancellation under way (or a refund retried).
        throw invalidState('The order is already being cancelled', { retryAfterSeconds: 5 });
      }
      await saga.advance(id, signal, started);
      const after = await load(id);
      if (after.status !== 'cancelled') {
        throw cancellationPending();
      }
      return after;
    },

    /**
     * Staff refund part of a paid order, with why. The payments module reserves the amount before
     * the provider is asked, so however many refunds race (staff, returns, a cancel), together
     * they never pass what was captured; the order books it once the provider confirmed. The key
     * names the refund: repeating it (a retry, or recovery after a crash) refunds once.
     */
    async refund(
      principal: Principal,
      id: string,
      input: { amount: Money; reason: string; key: string },
      signal?: AbortSignal,
    ): Promise<Refund> {
      const order = await store.byId(db, id);
      if (!order) throw notFound('Order');
      if (order.status === 'pending')
        throw invalidState('The order is still being paid; refund it once it is');
      if (input.amount.currency !== order.currency) throw refundCurrencyMismatch(order.currency);
      const requested = await store.requestRefund(db, {
        orderId: id,
        key: input.key,
        amount: input.amount.amount,
        reason: input.reason,
        issuedBy: principal.id,
      });
      if (requested.amount !== input.amount.amount || requested.reason !== input.reason)
        throw conflict('IDEMPOTENCY_KEY_REUSED', 'This key named another refund of this order');
      return toRefund(await completeRefund(requested, signal), order.currency);
    },

    refundMoney,

    async refunds(id: string): Promise<Refund[]> {
      const order = await store.byId(db, id);
      if (!order) throw notFound('Order');
      return (await store.refundsOf(db, id)).map((row) => toRefund(row, order.currency));
    },

    /**
     * The shopper's payment moved at the provider (a webhook, or they came back from their bank):
     * an order that waited for it goes on now, once, whoever asks.
     */
    async resume(id: string): Promise<void> {
      const waiting = await store.resumeAwaiting(db, id, requestClaimMs);
      if (waiting) await saga.advance(id, undefined, waiting);
    },

    /** The owner came back from their bank: bring the payment up to date and go on with the order. */
    async confirmPayment(viewer: OrderViewer, id: string, signal?: AbortSignal): Promise<Order> {
      const order = await this.get(viewer, id);
      if (order.status !== 'pending') return order;
      await deps.payments.refresh(id, signal);
      await this.resume(id);
      return load(id);
    },

    /** Resumes sagas that stalled (crash, provider outage, slow answer), and staff refunds; one batch. */
    async recoverOnce(limit = 20): Promise<number> {
      const claimed = await store.claimStalled(db, limit, requestClaimMs);
      for (const id of claimed) {
        try {
          await saga.advance(id);
        } catch (error) {
          deps.logger.error({ err: error, orderId: id }, 'order recovery failed');
        }
      }
      const refunds = await store.stalledRefunds(db, requestClaimMs, limit);
      for (const refund of refunds) {
        await completeRefund(refund).catch((error) =>
          deps.logger.error({ err: error, orderId: refund.orderId }, 'refund recovery failed'),
        );
      }
      return claimed.length + refunds.length + (await settleEdits(limit));
    },

    transitions: (id: string) => store.transitions(db, id),

    /**
     * What each of these users bought, for staff's customer views: paid orders counted, what they
     * kept paid per currency (total less refunds), and when they last ordered. Users who never
     * bought anything are left out.
     */
    async spendingOf(userIds: readonly string[]): Promise<Map<string, CustomerSpending>> {
      const spending = new Map<string, CustomerSpending>();
      for (const row of await store.spendingOf(db, userIds)) {
        const last = new Date(row.lastOrderAt).toISOString();
        const entry = spending.get(row.userId) ?? { orderCount: 0, spent: [], lastOrderAt: last };
        entry.orderCount += row.orders;
        entry.spent.push({ amount: Number(row.spent), currency: row.currency.trim() });
        if (last > entry.lastOrderAt) entry.lastOrderAt = last;
        spending.set(row.userId, entry);
      }
      return spending;
    },

    /** Whether the user has paid for any of these variants (reviews are for buyers). */
    hasBought: (userId: string, variantIds: readonly string[]) => store.hasBought(db, userId, variantIds),

    /**
     * What was bought in [from, to), as a promotion simulation replays it: each order not cancelled,
     * oldest first, with its lines at the prices charged before any discount. At most `limit`
     * orders (the newest); `truncated` says there were more.
     */
    async placedBetween(from: Date, to: Date, limit: number): Promise<PlacedHistory> {
      const rows = await store.placedBetween(db, from, to, limit + 1);
      const kept = rows.slice(0, limit).reverse();
      const items = await store.itemsOf(
        db,
        kept.map((row) => row.id),
      );
      return {
        truncated: rows.length > limit,
        orders: kept.map((row) => ({
          id: row.id,
          userId: row.userId,
          currency: row.currency,
          shippingAmount: row.shippingAmount,
          lines: items
            .filter((item) => item.orderId === row.id)
            .map((item) => ({
              id: item.id,
              variantId: item.variantId,
              unitAmount: item.unitAmount,
              quantity: item.quantity,
            })),
        })),
      };
    },

    /** For the fulfillment module: lock an order, move it along its shipping states, book refunds. */
    fulfillment: {
      /** The order as fulfillment sees it (no payment token, no saga internals), locked. */
      async lock(
        tx: Db,
        id: string,
      ): Promise<{ order: OrderToFulfil; items: OrderLineToFulfil[] } | undefined> {
        const order = await store.lockById(tx, id);
        if (!order) return undefined;
        const items = await store.itemsOf(tx, [id]);
        return {
          order: {
            id: order.id,
            userId: order.userId,
            status: order.status,
            currency: order.currency,
            shippingAmount: order.shippingAmount,
            shippingTaxAmount: order.shippingTaxAmount,
            taxInclusive: order.taxInclusive,
            cancelling: order.sagaStep === 'cancel_refund',
            chargingFulfillmentId: order.chargingFulfillmentId,
            paidOffline: order.paidOffline,
            createdAt: order.createdAt,
          },
          items: items.map(({ orderId: _order, unitAmount: _unit, ...line }) => line),
        };
      },
      async setShipping(tx: Db, order: OrderToFulfil, to: 'partially_shipped' | 'shipped'): Promise<void> {
        if (order.status === to) return;
        assertTransition(order.status, to);
        if (!(await store.advance(tx, order.id, { from: order.status, status: to, settled: true }))) {
          throw invalidState('The order is being cancelled; it cannot ship');
        }
      },
      /** A shipment's capture begins: the order is held so nothing else ships or cancels it meanwhile. */
      hold: (tx: Db, id: string, fulfillmentId: string) => store.holdForCapture(tx, id, fulfillmentId, null),
      /** The capture ended (shipped, or refused): the order is free again. */
      release: (tx: Db, id: string, fulfillmentId: string) =>
        store.holdForCapture(tx, id, null, fulfillmentId),
      addRefund: (tx: Db, id: string, amount: number) => store.addRefund(tx, id, amount),

      /**
       * Replacement goods for a return, priced now for the order's customer and address as a cart
       * of them would be. Exchanges pay through store credit, so they need the customer's account.
       */
      async priceReplacement(
        orderId: string,
        lines: ReadonlyArray<{ variantId: string; quantity: number }>,
      ): Promise<CheckoutCart> {
        const order = await store.byId(db, orderId);
        if (!order) throw notFound('Order');
        if (order.guestEmail && !order.guestClaimedAt)
          throw conflict(
            'EXCHANGE_NEEDS_ACCOUNT',
            'Exchanges are for customers with an account: receive the return as a refund and place a new order',
          );
        return deps.cart.priceLines(
          { id: order.userId, role: 'customer' },
          {
            id: order.id,
            lines: mergeDraftLines(lines),
            shippingAddress: order.shippingAddress as unknown as ShippingAddress,
            currency: order.currency,
          },
        );
      },

      /**
       * The order that ships a return's replacements: paid first from the store credit the
       * return's refund became, a card for any rest; once per `key` (a retry answers it).
       */
      async placeReplacement(
        orderId: string,
        key: string,
        cart: CheckoutCart,
        paymentToken: string | undefined,
        signal?: AbortSignal,
      ): Promise<CheckoutResult> {
        const order = (await store.byId(db, orderId))!;
        const idempotencyKey = `exchange:${key}`;
        const orderedBefore = async (error: unknown): Promise<CheckoutResult> => {
          const existing = await store.byIdempotencyKey(db, order.userId, idempotencyKey);
          if (existing) return answer(await load(existing.id));
          throw error;
        };
        const existing = await store.byIdempotencyKey(db, order.userId, idempotencyKey);
        if (existing) return answer(await load(existing.id));
        return place(
          {
            shopper: { id: order.userId, role: 'customer' },
            cart,
            shippingAddress: order.shippingAddress as unknown as ShippingAddress,
            paymentToken,
            balance: { storeCreditOf: order.userId },
            idempotencyKey,
            guestEmail: null,
            source: 'exchange',
          },
          orderedBefore,
          signal,
        );
      },
      currencies: (ids: readonly string[]) => store.currencies(db, ids),
      /** The order's currency when the viewer may see it (owner, staff, its Order-Token), else undefined. */
      async currencyIfVisible(viewer: OrderViewer, id: string): Promise<string | undefined> {
        const row = await store.byId(db, id);
        if (!row) return undefined;
        const sees =
          'orderToken' in viewer
            ? await store.tokenOpens(db, id, hashOpaqueToken(viewer.orderToken))
            : row.userId === viewer.id || seesAllOrders(viewer);
        return sees ? row.currency : undefined;
      },
    },
  };
}

export type OrderingService = ReturnType<typeof createOrderingService>;

/** What a customer bought, as staff see it. */
export interface CustomerSpending {
  /** Paid orders: confirmed or shipped, even in part. */
  orderCount: number;
  /** What they kept paid (totals less refunds), one amount per currency they bought in. */
  spent: Money[];
  lastOrderAt: string;
}

/** What fulfillment needs of an order it ships or takes back. */
export interface OrderToFulfil {
  id: string;
  userId: string;
  status: OrderStatus;
  currency: string;
  shippingAmount: number;
  shippingTaxAmount: number;
  /** The amounts contain their tax: a line charges its amount less discount, tax not added. */
  taxInclusive: boolean;
  /** A cancellation has begun: nothing may ship. */
  cancelling: boolean;
  /** A shipment whose capture is in flight holds the order. */
  chargingFulfillmentId: string | null;
  /** Paid outside the shop: no payment to take a share of. */
  paidOffline: boolean;
  createdAt: Date;
}

/** A line as fulfillment needs it: what was sold, and what it cost after discount and tax. */
export interface OrderLineToFulfil {
  id: string;
  variantId: string;
  sku: string;
  name: string;
  quantity: number;
  lineAmount: number;
  discountAmount: number;
  taxAmount: number;
}
