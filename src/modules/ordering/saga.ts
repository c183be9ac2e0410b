import { type Db, transact } from '../../platform/db/index.ts';
import { DomainError } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { withSpan } from '../../platform/observability/tracing.ts';
import type { CartModule, Destination } from '../cart/index.ts';
import type { InventoryModule } from '../inventory/index.ts';
import type { PricingModule } from '../pricing/index.ts';
import { orderEvent } from './events.ts';
import { type OrderRow, type PaymentStatus, orderStore as store } from './store.ts';

/** The payment as authorize left it; capture given it need not read it again. */
export interface AuthorizedPayment {
  id: string;
  orderId: string;
  status: string;
  providerAuthorizationId: string | null;
}

export interface PaymentsPort {
  authorize(
    input: { orderId: string; amount: number; currency: string; token: string },
    signal?: AbortSignal,
  ): Promise<AuthorizedPayment>;
  capture(orderId: string, signal?: AbortSignal, authorized?: AuthorizedPayment): Promise<unknown>;
  voidAuthorization(orderId: string, signal?: AbortSignal): Promise<unknown>;
  refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<unknown>;
  /** Throws while the provider is known to be down, so checkout refuses before reserving anything. */
  assertAvailable(): void;
}

export interface SagaDeps {
  db: Db;
  cart: Pick<CartModule, 'restore'>;
  inventory: Pick<InventoryModule, 'commit' | 'release' | 'restock' | 'reservations'>;
  pricing: Pick<PricingModule, 'release'>;
  payments: PaymentsPort;
  bus: Pick<EventBus, 'append' | 'nudge'>;
  logger: Logger;
  /** Failed attempts of a step before the saga gives up and compensates. */
  maxAttempts: number;
  /** Backoff before recovery retries a failed step: base * 2^attempt, capped. */
  retryBaseMs: number;
  /** How long the order's stock stays reserved for it. */
  reservationTtlMs: number;
}

/**
 * What a step did: whether the saga goes on, and the order row as the step left it when the step
 * has it (from its own UPDATE … RETURNING); without it the row is read again.
 */
interface Outcome {
  more: boolean;
  order?: OrderRow;
}

/** What one run of the saga carries from step to step besides the order row. */
interface Run {
  authorized?: AuthorizedPayment;
}

/** A payment answer that will not change if asked again: a decline or a refusal. */
function isDefinitive(error: unknown): boolean {
  return error instanceof DomainError && error.status >= 400 && error.status < 500;
}

/**
 * The checkout saga as an orchestrator whose state is the order row. Each step is idempotent
 * (payment calls carry keys derived from the order id; stock moves only from `held`), so running
 * `advance` again after a crash at any point repeats nothing that already happened.
 *
 *   authorize ──ok──▶ capture ──ok──▶ done (confirmed)
 *       │ declined / gave up     │ gave up
 *       ▼                        ▼
 *   compensate: void if authorized, release stock ──▶ done (cancelled)
 *   cancel_refund (customer cancel of a confirmed order): refund, restock ──▶ done (cancelled)
 */
export function createSaga(deps: SagaDeps) {
  const { db, inventory, payments, bus, logger } = deps;

  async function failStep(order: OrderRow, error: unknown, giveUpReason: string): Promise<Outcome> {
    const attempts = await store.recordFailure(
      db,
      order,
      (error as Error).message ?? String(error),
      backoff(order.sagaAttempts),
    );
    logger.warn({ err: error, orderId: order.id, step: order.sagaStep, attempts }, 'saga step failed');
    if (
      attempts >= deps.maxAttempts &&
      order.sagaStep !== 'compensate' &&
      order.sagaStep !== 'cancel_refund'
    ) {
      await store.advance(db, order.id, {
        sagaStep: 'compensate',
        cancelReason: giveUpReason,
        releaseClaimInMs: 0,
      });
      return { more: true };
    }
    return { more: false };
  }

  const backoff = (attempt: number) => Math.min(deps.retryBaseMs * 2 ** attempt, 60_000);

  const steps: Record<
    string,
    (order: OrderRow, signal: AbortSignal | undefined, run: Run) => Promise<Outcome>
  > = {
    async authorize(order, signal, run) {
      // The reservations were made with the order; only an order resumed late may have outlived them.
      if (Date.now() - order.createdAt.getTime() > deps.reservationTtlMs / 2) {
        const reservations = await inventory.reservations(order.id);
        if (reservations.some((line) => line.status === 'held' && line.expiresAt.getTime() < Date.now())) {
          return {
            more: true,
            order: await store.advance(db, order.id, {
              sagaStep: 'compensate',
              cancelReason: 'reservation_expired',
            }),
          };
        }
      }
      try {
        run.authorized = await payments.authorize(
          {
            orderId: order.id,
            amount: order.totalAmount,
            currency: order.currency,
            token: order.paymentToken,
          },
          signal,
        );
      } catch (error) {
        if (isDefinitive(error)) {
          const declined = (error as DomainError).code === 'PAYMENT_DECLINED';
          return {
            more: true,
            order: await store.advance(db, order.id, {
              sagaStep: 'compensate',
              paymentStatus: declined ? 'declined' : 'failed',
              cancelReason: declined ? 'payment_declined' : 'payment_failed',
            }),
          };
        }
        return failStep(order, error, 'payment_failed');
      }
      // Not written yet: capture follows at once, and the payment record already says authorized,
      // so a saga resumed from here re-runs authorize as a no-op. The step is written only if
      // capture has to wait (failStep records it).
      return { more: true, order: { ...order, sagaStep: 'capture', paymentStatus: 'authorized' } };
    },

    async capture(order, signal, run) {
      try {
        await payments.capture(order.id, signal, run.authorized);
      } catch (error) {
        if (isDefinitive(error)) {
          return {
            more: true,
            order: await store.advance(db, order.id, {
              sagaStep: 'compensate',
              cancelReason: 'capture_refused',
            }),
          };
        }
        return failStep(order, error, 'capture_failed');
      }
      const confirmed = await transact(db, async (tx) => {
        if (!(await inventory.commit(tx, order.id))) {
          throw new Error(`order ${order.id}: no held reservation to commit`);
        }
        const moved = await store.advance(tx, order.id, {
          from: 'pending',
          status: 'confirmed',
          sagaStep: 'done',
          paymentStatus: 'captured',
        });
        await bus.append(tx, [
          orderEvent('order.confirmed', { ...order, status: 'confirmed' }),
          orderEvent('payment.captured', { ...order, status: 'confirmed' }, { amount: order.totalAmount }),
        ]);
        return moved;
      });
      bus.nudge();
      return { more: false, order: confirmed };
    },

    async compensate(order, signal) {
      let paymentStatus: PaymentStatus = order.paymentStatus === 'declined' ? 'declined' : 'failed';
      // Anything but a decline may have left money held: an authorization, or one whose answer
      // never came and may still arrive. Voiding reverses both and is a no-op when nothing exists.
      if (order.paymentStatus !== 'declined') {
        try {
          const payment = (await payments.voidAuthorization(order.id, signal)) as
            | { status?: string }
            | undefined;
          if (payment?.status === 'voided') paymentStatus = 'voided';
        } catch (error) {
          if (!isDefinitive(error)) return failStep(order, error, 'void_failed');
        }
      }
      const cancelled = await transact(db, async (tx) => {
        await inventory.release(tx, order.id, order.cancelReason ?? 'checkout failed');
        await deps.pricing.release(tx, order.id);
        const moved = await store.advance(tx, order.id, {
          from: 'pending',
          status: 'cancelled',
          sagaStep: 'done',
          paymentStatus,
          cancelReason: order.cancelReason ?? 'checkout failed',
        });
        if (!moved) return moved;
        // Checkout emptied the cart; nothing was bought, so the shopper gets it back to try again.
        await deps.cart.restore(tx, order.userId, await store.itemsOf(tx, [order.id]), {
          promotionCode: order.promotionCode,
          shippingMethodId: order.shippingMethod?.id ?? null,
          shippingAddress: order.shippingAddress as unknown as Destination,
        });
        await bus.append(tx, [orderEvent('order.cancelled', { ...order, status: 'cancelled' })]);
        return moved;
      });
      bus.nudge();
      return { more: false, order: cancelled };
    },

    async cancel_refund(order, signal) {
      try {
        await payments.refund(
          order.id,
          order.totalAmount - order.refundedAmount,
          `${order.id}:cancel`,
          signal,
        );
      } catch (error) {
        return failStep(order, error, 'refund_failed');
      }
      await transact(db, async (tx) => {
        const moved = await store.advance(tx, order.id, {
          from: order.status,
          status: 'cancelled',
          sagaStep: 'done',
          paymentStatus: 'refunded',
          cancelReason: order.cancelReason ?? 'cancelled',
        });
        if (!moved) return;
        await store.addRefund(tx, order.id, order.totalAmount - order.refundedAmount);
        const items = await store.itemsOf(tx, [order.id]);
        await inventory.restock(tx, order.id, items, 'order cancelled');
        await deps.pricing.release(tx, order.id);
        await bus.append(tx, [
          orderEvent('order.cancelled', { ...order, status: 'cancelled' }),
          orderEvent('payment.refunded', { ...order, status: 'cancelled' }, { amount: order.totalAmount }),
        ]);
      });
      bus.nudge();
      return { more: false };
    },
  };

  return {
    /**
     * Runs the saga from wherever its row says it is until it finishes or a step must wait.
     * The caller holds the order's claim; `known` is the row as the caller just wrote it, if it has it.
     */
    async advance(orderId: string, signal?: AbortSignal, known?: OrderRow): Promise<OrderRow> {
      let order = known;
      const run: Run = {};
      for (let guard = 0; guard < 10; guard++) {
        order ??= await store.byId(db, orderId);
        if (!order) throw new Error(`order ${orderId} vanished`);
        const current: OrderRow = order;
        const step = steps[current.sagaStep];
        if (!step) return current;
        const outcome = await withSpan(
          `checkout.${current.sagaStep}`,
          { attributes: { 'order.id': orderId, 'saga.step': current.sagaStep } },
          () => step(current, signal, run),
        );
        if (!outcome.more) return outcome.order ?? (await store.byId(db, orderId))!;
        order = outcome.order;
      }
      throw new Error(`order ${orderId}: saga did not settle`);
    },
  };
}

export type Saga = ReturnType<typeof createSaga>;
