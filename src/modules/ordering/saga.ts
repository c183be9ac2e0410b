import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, DomainError } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import { formatMoney } from '../../platform/money.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { withSpan } from '../../platform/observability/tracing.ts';
import type { CartService, Destination } from '../cart/index.ts';
import type { BalanceSource, GiftCardService } from '../giftcards/index.ts';
import type { InventoryService } from '../inventory/index.ts';
import type { PricingService } from '../pricing/index.ts';
import { orderEvent } from './events.ts';
import {
  type OrderItemRow,
  type OrderRow,
  type OrderSource,
  type SagaStep,
  orderStore as store,
} from './store.ts';

/** What ordering knows of an order's payment. The payments module owns it; ordering only reads it. */
export interface PaymentState {
  orderId: string;
  status: string;
  capturedAmount: number;
  refundedAmount: number;
  /** What the shopper must do while the payment is `requires_action` (3-D Secure). */
  action?: { type: 'redirect' | 'use_stripe_sdk'; url?: string; clientSecret?: string };
}

/** The payment as authorize left it; capture given it need not read it again. */
export interface AuthorizedPayment extends PaymentState {
  id: string;
  providerAuthorizationId: string | null;
}

export interface PaymentsPort {
  authorize(
    input: { orderId: string; amount: number; currency: string; token: string },
    signal?: AbortSignal,
  ): Promise<AuthorizedPayment>;
  capture(orderId: string, signal?: AbortSignal, authorized?: AuthorizedPayment): Promise<PaymentState>;
  voidAuthorization(orderId: string, signal?: AbortSignal): Promise<PaymentState | undefined>;
  refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<PaymentState>;
  /** Refunds what no refund has taken or promised yet, once per key; how much that was. */
  refundRest(
    orderId: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<{ payment: PaymentState; amount: number }>;
  /** The payments of these orders (orders without one yet are left out). */
  ofOrders(orderIds: readonly string[]): Promise<PaymentState[]>;
  /** Throws while the provider is known to be down, so checkout refuses before reserving anything. */
  assertAvailable(): void;
  /** Asks the provider about a payment that waits for the shopper. */
  refresh(orderId: string, signal?: AbortSignal): Promise<PaymentState | undefined>;
}

export interface SagaDeps {
  db: Db;
  cart: Pick<CartService, 'clear' | 'restore'>;
  inventory: Pick<InventoryService, 'reserve' | 'commit' | 'release' | 'restock' | 'reservations'>;
  pricing: Pick<PricingService, 'redeem' | 'release'>;
  giftCards: Pick<GiftCardService, 'redeem' | 'releaseRest' | 'creditBack'>;
  payments: PaymentsPort;
  bus: Pick<EventBus, 'append' | 'appending' | 'nudge'>;
  logger: Logger;
  /** Failed attempts of a step before the saga gives up and compensates. */
  maxAttempts: number;
  /** Backoff before recovery retries a failed step: base * 2^attempt, capped. */
  retryBaseMs: number;
  /** How long the order's stock stays reserved for it. */
  reservationTtlMs: number;
  /**
   * PAYMENTS_CAPTURE=on_shipment: the saga confirms an authorized order without capturing; each
   * shipment captures its share (fulfillment), and a cancel voids what is still held.
   */
  captureOnShipment: boolean;
}

/** The order being placed, as the steps inside its creating transaction need it. */
export interface PlacedOrder {
  id: string;
  userId: string;
  lines: ReadonlyArray<{ variantId: string; quantity: number }>;
  /** Where it ships: stock is reserved from the locations serving that country first. */
  country: string;
  currency: string;
  totalAmount: number;
  /** The balance paying first (a gift card, or the shopper's store credit), and whether a payment token is there for the rest. */
  balance?: BalanceSource;
  paymentToken?: string;
  /** Placed from the shopper's cart (empty it), a staff draft or an exchange. */
  source: OrderSource;
  promotionCode: string | null;
  /** The promotions that discounted it and what each took off: counted against their limits. */
  redemptions: ReadonlyArray<{ promotionId: string; amount: number }>;
}

/**
 * A step taken in the transaction that creates the order, beside what undoes it. Local steps commit
 * together with the order, so their compensations run together too, in reverse order, in the
 * transaction that cancels it (the persisted step `undo_checkout`).
 */
interface LocalStep {
  name: 'reserve' | 'redeem' | 'pay_from_balance' | 'take_cart';
  /** `placed` gathers what the order row records of the steps (what a gift card or store credit paid). */
  run(tx: Db, order: PlacedOrder, placed: { balanceAmount: number }): Promise<void>;
  undo(tx: Db, order: OrderRow, items: OrderItemRow[]): Promise<void>;
}

/**
 * A call to the payment provider, beside the call that reverses it. Both are idempotent (their
 * keys derive from the order id), and an undo is a no-op where its step did nothing, so the saga
 * may repeat either after a crash, and compensation may start at the step that failed.
 */
interface RemoteStep {
  name: 'authorize' | 'capture';
  /** The order's cancel reason when this step fails `maxAttempts` times. */
  gaveUp: string;
  /** Returns the row when the step finished the saga; throws `Refusal` or a retryable error. */
  run(order: OrderRow, signal: AbortSignal | undefined, run: Run): Promise<OrderRow | undefined>;
  undo(order: OrderRow, signal: AbortSignal | undefined, run: Run): Promise<void>;
}

/** A definitive no (a decline, a refusal, stock no longer held): compensate now, do not retry. */
class Refusal extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

/** The payment waits for the shopper (3-D Secure): the saga pauses until the provider says they are done. */
class AwaitingShopper extends Error {}

/** How often recovery asks the provider about a payment waiting for the shopper, should no webhook come. */
const ACTION_POLL_MS = 30_000;

/** What one run of the saga carries from step to step besides the order row. */
interface Run {
  /** The payment as the last payment call left it. */
  payment?: PaymentState;
}

export interface SagaResult {
  order: OrderRow;
  /** The payment as the saga last saw it; undefined when this run made no payment call. */
  payment?: PaymentState;
}

/** A provider answer that will not change if asked again: a decline or a refusal. */
const isDefinitive = (error: unknown): error is DomainError =>
  error instanceof DomainError && error.status >= 400 && error.status < 500;

/**
 * The checkout saga: an ordered list of steps, each beside its compensation, whose position is
 * persisted in the order row (`saga_step`).
 *
 *   reserve ↔ release · redeem ↔ release redemption · take the cart ↔ put it back   (one transaction)
 *   authorize ↔ void · capture ↔ refund                                             (the provider)
 *
 * Forward, a step that succeeds hands on to the next; capture's success confirms the order and
 * commits the stock in one transaction. A refused step, or one that failed `maxAttempts` times,
 * starts compensation at its own undo and walks back to `undo_checkout`, which cancels the order.
 * Recovery resumes from the persisted step either way. Cancelling a confirmed order is not the
 * checkout undone (the shopper keeps an empty cart, the sold stock is restocked): `cancel_refund`
 * runs capture's undo (and voids an authorization still held), then restocks and releases the
 * redemption. With capture on shipment, the capture step confirms without capturing.
 */
export function createSaga(deps: SagaDeps) {
  const { db, inventory, payments, bus, logger } = deps;

  const local: LocalStep[] = [
    {
      name: 'reserve',
      run: (tx, order) =>
        inventory.reserve(
          tx,
          order.id,
          [...order.lines],
          new Date(Date.now() + deps.reservationTtlMs),
          order.country,
        ),
      undo: async (tx, order) => {
        await inventory.release(tx, order.id, order.cancelReason ?? 'checkout failed');
      },
    },
    {
      name: 'redeem',
      run: async (tx, order) => {
        await deps.pricing.redeem(tx, order.id, order.userId, order.redemptions);
      },
      undo: (tx, order) => deps.pricing.release(tx, order.id),
    },
    {
      name: 'pay_from_balance',
      // A gift card or store credit pays first, up to the total; the payment token pays the rest.
      async run(tx, order, placed) {
        if (!order.balance) return;
        if (deps.captureOnShipment) {
          throw conflict(
            'BALANCE_NOT_ACCEPTED',
            'Gift cards and store credit cannot pay while this shop takes payment at shipment; pay with a card',
          );
        }
        const taken = await deps.giftCards.redeem(tx, {
          source: order.balance,
          orderId: order.id,
          upTo: order.totalAmount,
          currency: order.currency,
        });
        const rest = order.totalAmount - taken.amount;
        if (rest > 0 && !order.paymentToken) {
          const money = (amount: number) => formatMoney({ amount, currency: order.currency });
          throw badRequest(
            'PAYMENT_TOKEN_REQUIRED',
            `${taken.name} pays ${money(taken.amount)} of the ${money(order.totalAmount)} total; pay the other ${money(rest)} with a card`,
          );
        }
        placed.balanceAmount = taken.amount;
      },
      undo: async (tx, order) => {
        await deps.giftCards.releaseRest(tx, order.id);
      },
    },
    {
      name: 'take_cart',
      // An order placed from a staff draft came from no cart.
      run: async (tx, order) => {
        if (order.source === 'cart') await deps.cart.clear(order.userId, tx);
      },
      // Nothing was bought, so the shopper gets the cart back to try again.
      undo: async (tx, order, items) => {
        // A draft's order that was not bought gives the draft back, to be completed again.
        if (order.draftOrderId) await store.reopenDraft(tx, order.draftOrderId, order.id);
        if (order.source !== 'cart') return;
        await deps.cart.restore(tx, order.userId, items, {
          promotionCode: order.promotionCode,
          shippingMethodId: order.shippingMethod?.id ?? null,
          shippingAddress: order.shippingAddress as unknown as Destination,
        });
      },
    },
  ];

  /**
   * The refund that reverses a capture: what was captured and no other refund has taken or
   * promised, under one key. Returns that amount, the same when repeated after a crash.
   */
  async function refundCapture(order: OrderRow, signal: AbortSignal | undefined, run: Run): Promise<number> {
    const key = `${order.id}:cancel`;
    const toBalance = order.balanceAmount > 0 ? await deps.giftCards.creditBack(order.id, 'rest', key) : 0;
    // A gift card or store credit that paid it all: no provider payment to refund. Paid outside
    // the shop: staff pay it back the same way; the order records it.
    if (order.paidOffline) return order.totalAmount - order.refundedAmount;
    // Edits that raised the total were paid by payments of their own: each gives back its rest too.
    const edits = order.version > 1 ? await store.chargedEdits(db, [order.id]) : [];
    let refunded = toBalance;
    for (const edit of edits) refunded += (await payments.refundRest(edit.id, 'cancel', signal)).amount;
    const ownPayment =
      edits.length === 0
        ? order.balanceAmount < order.totalAmount
        : (await payments.ofOrders([order.id])).length > 0;
    if (!ownPayment) return refunded;
    const own = await payments.refundRest(order.id, key, signal);
    run.payment = own.payment;
    return refunded + own.amount;
  }

  const remote: RemoteStep[] = [
    {
      name: 'authorize',
      gaveUp: 'payment_failed',
      async run(order, signal, run) {
        // The stock was reserved with the order; only an order resumed late may have outlived it.
        if (Date.now() - order.createdAt.getTime() > deps.reservationTtlMs / 2) {
          const reservations = await inventory.reservations(order.id);
          if (reservations.some((line) => line.status === 'held' && line.expiresAt.getTime() < Date.now())) {
            throw new Refusal('reservation_expired');
          }
        }
        // Paid outside the shop, or all by a gift card or store credit: nothing for the provider.
        if (order.paidOffline || order.balanceAmount === order.totalAmount) return undefined;
        try {
          run.payment = await payments.authorize(
            {
              orderId: order.id,
              amount: order.totalAmount - order.balanceAmount,
              currency: order.currency,
              token: order.paymentToken!,
            },
            signal,
          );
        } catch (error) {
          if (!isDefinitive(error)) throw error;
          throw new Refusal(error.code === 'PAYMENT_DECLINED' ? 'payment_declined' : 'payment_failed');
        }
        if (run.payment.status === 'requires_action') throw new AwaitingShopper();
        return undefined;
      },
      // Also reverses an authorization whose answer never came and may still arrive.
      async undo(order, signal, run) {
        run.payment = (await payments.voidAuthorization(order.id, signal)) ?? run.payment;
      },
    },
    {
      name: 'capture',
      gaveUp: 'capture_failed',
      async run(order, signal, run) {
        if (!deps.captureOnShipment && !order.paidOffline && order.balanceAmount < order.totalAmount) {
          try {
            run.payment = await payments.capture(
              order.id,
              signal,
              run.payment as AuthorizedPayment | undefined,
            );
          } catch (error) {
            if (!isDefinitive(error)) throw error;
            throw new Refusal('capture_refused');
          }
        }
        const confirmed = await transact(db, async (tx) => {
          // Stock released meanwhile (its reservation expired): the money goes back, not the goods out.
          if (!(await inventory.commit(tx, order.id))) return 'released' as const;
          // The events are what the row will say once moved, written by the same statement if it moves.
          const asConfirmed = { ...order, status: 'confirmed' as const };
          const moved = await store.advance(
            tx,
            order.id,
            { from: 'pending', status: 'confirmed', sagaStep: 'done' },
            bus.appending([
              orderEvent('order.confirmed', asConfirmed),
              ...(deps.captureOnShipment
                ? []
                : [orderEvent('payment.captured', asConfirmed, { amount: order.totalAmount })]),
            ]),
          );
          if (!moved) return (await store.byId(tx, order.id))!;
          return moved;
        });
        if (confirmed === 'released') throw new Refusal('reservation_expired');
        bus.nudge();
        return confirmed;
      },
      async undo(order, signal, run) {
        await refundCapture(order, signal, run);
      },
    },
  ];

  const forward = new Map(remote.map((step, index) => [step.name as SagaStep, index]));
  const undoOf = (index: number): SagaStep =>
    index < 0 ? 'undo_checkout' : (`undo_${remote[index]!.name}` as SagaStep);
  const undoing = new Map(remote.map((_step, index) => [undoOf(index), index]));

  const backoff = (attempt: number) => Math.min(deps.retryBaseMs * 2 ** attempt, 60_000);

  /** Starts compensation at `from`, with why; the row as written. */
  const compensateFrom = (order: OrderRow, from: SagaStep, reason: string) =>
    store.advance(db, order.id, { sagaStep: from, cancelReason: reason, releaseClaimInMs: 0 });

  /** A step that failed and may succeed if tried again: record it; past `maxAttempts` a forward step gives up. */
  async function failed(order: OrderRow, error: unknown, index?: number): Promise<OrderRow | undefined> {
    const attempts = await store.recordFailure(
      db,
      order,
      (error as Error).message ?? String(error),
      backoff(order.sagaAttempts),
    );
    logger.warn({ err: error, orderId: order.id, step: order.sagaStep, attempts }, 'saga step failed');
    if (index === undefined || attempts < deps.maxAttempts) return undefined;
    return compensateFrom(order, undoOf(index), remote[index]!.gaveUp);
  }

  /** Undoes the local steps, cancels the order and announces it: one transaction. */
  async function cancelCheckout(order: OrderRow): Promise<OrderRow | undefined> {
    const reason = order.cancelReason ?? 'checkout failed';
    const cancelled = await transact(db, async (tx) => {
      const items = await store.itemsOf(tx, [order.id]);
      for (const step of local.toReversed()) await step.undo(tx, { ...order, cancelReason: reason }, items);
      const moved = await store.advance(tx, order.id, {
        from: 'pending',
        status: 'cancelled',
        sagaStep: 'done',
        cancelReason: reason,
      });
      if (moved) await bus.append(tx, [orderEvent('order.cancelled', moved)]);
      return moved;
    });
    bus.nudge();
    return cancelled;
  }

  /** A confirmed order cancelled: the capture refunded, the sold stock back on hand, the code released. */
  async function cancelConfirmed(order: OrderRow, signal: AbortSignal | undefined, run: Run) {
    // Only what this refund paid back: a staff refund in flight beside it adds its own share.
    const owed = await refundCapture(order, signal, run);
    // Captured on shipment and nothing shipped: the authorization is still held, and is released.
    if (run.payment?.status === 'authorized')
      run.payment = (await payments.voidAuthorization(order.id, signal)) ?? run.payment;
    const cancelled = await transact(db, async (tx) => {
      const moved = await store.advance(tx, order.id, {
        from: order.status,
        status: 'cancelled',
        sagaStep: 'done',
        cancelReason: order.cancelReason ?? 'cancelled',
      });
      if (!moved) return moved;
      await store.addRefund(tx, order.id, owed);
      await inventory.restock(tx, order.id, await store.itemsOf(tx, [order.id]), 'order cancelled');
      await deps.pricing.release(tx, order.id);
      await bus.append(tx, [
        orderEvent('order.cancelled', moved),
        ...(owed > 0 ? [orderEvent('payment.refunded', moved, { amount: owed })] : []),
      ]);
      return moved;
    });
    bus.nudge();
    return cancelled;
  }

  /**
   * One step from where the row says the saga is. Returns the row to go on with (undefined: read it
   * again) and whether the saga goes on now or must wait (finished, or a step to retry later).
   */
  async function stepOnce(
    order: OrderRow,
    signal: AbortSignal | undefined,
    run: Run,
  ): Promise<{ more: boolean; order?: OrderRow }> {
    const step = order.sagaStep;
    const at = forward.get(step);
    if (at !== undefined) {
      try {
        const finished = await remote[at]!.run(order, signal, run);
        if (finished) return { more: false, order: finished };
        // The next step is not written: it follows at once, and this step repeats as a no-op should
        // the saga resume from here. It is written only if it has to wait (`failed` records it).
        return { more: true, order: { ...order, sagaStep: remote[at + 1]!.name } };
      } catch (error) {
        if (error instanceof Refusal)
          return { more: true, order: await compensateFrom(order, undoOf(at), error.reason) };
        if (error instanceof AwaitingShopper)
          return { more: false, order: await store.awaitShopper(db, order.id, ACTION_POLL_MS) };
        const compensating = await failed(order, error, at);
        return { more: compensating !== undefined, order: compensating };
      }
    }
    const undoAt = undoing.get(step);
    if (undoAt !== undefined) {
      try {
        await remote[undoAt]!.undo(order, signal, run);
      } catch (error) {
        // A definitive answer to an undo means there is nothing left to undo; anything else is retried.
        if (!isDefinitive(error)) {
          await failed(order, error);
          return { more: false };
        }
        logger.warn({ err: error, orderId: order.id, step }, 'compensation found nothing to undo');
      }
      return { more: true, order: { ...order, sagaStep: undoOf(undoAt - 1) } };
    }
    try {
      if (step === 'undo_checkout') return { more: false, order: await cancelCheckout(order) };
      if (step === 'cancel_refund') return { more: false, order: await cancelConfirmed(order, signal, run) };
    } catch (error) {
      await failed(order, error);
      return { more: false };
    }
    return { more: false, order };
  }

  return {
    /** The local steps, in order, inside the transaction that creates the order. */
    async begin(tx: Db, order: PlacedOrder): Promise<{ balanceAmount: number }> {
      const placed = { balanceAmount: 0 };
      for (const step of local) await step.run(tx, order, placed);
      return placed;
    },

    /** The steps in order, each with its compensation: what docs/architecture.md shows. */
    steps: [...local.map((step) => step.name), ...remote.map((step) => step.name)],

    /**
     * Runs the saga from wherever its row says it is until it finishes or a step must wait.
     * The caller holds the order's claim; `known` is the row as the caller just wrote it, if it has it.
     */
    async advance(orderId: string, signal?: AbortSignal, known?: OrderRow): Promise<SagaResult> {
      let order = known;
      const run: Run = {};
      for (let guard = 0; guard < 10; guard++) {
        order ??= await store.byId(db, orderId);
        if (!order) throw new Error(`order ${orderId} vanished`);
        const current: OrderRow = order;
        if (current.sagaStep === 'done') return { order: current, payment: run.payment };
        const outcome = await withSpan(
          `checkout.${current.sagaStep}`,
          { attributes: { 'order.id': orderId, 'saga.step': current.sagaStep } },
          () => stepOnce(current, signal, run),
        );
        if (!outcome.more) {
          return { order: outcome.order ?? (await store.byId(db, orderId))!, payment: run.payment };
        }
        order = outcome.order;
      }
      throw new Error(`order ${orderId}: saga did not settle`);
    },
  };
}

export type Saga = ReturnType<typeof createSaga>;
