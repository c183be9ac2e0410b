import { currentSignal } from '../../platform/context.ts';
import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import {
  ProviderRejection,
  paymentDeclined,
  paymentProviderRejected,
  paymentStateConflict,
  refundExceedsCaptured,
  refundRefused,
  signatureInvalid,
} from './errors.ts';
import { driftFound } from './events.ts';
import type { CustomerAction, PaymentProvider, ProviderAuthorization, ProviderEvent } from './provider.ts';
import { type DriftKind, type PaymentRow, type PaymentStatus, paymentsStore as store } from './store.ts';

export interface Payment {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
  /** Promised back by refunds the provider has not confirmed yet. */
  refundingAmount: number;
  providerAuthorizationId: string | null;
  /** What the shopper must do while the payment is `requires_action` (3-D Secure). */
  action?: CustomerAction;
  createdAt: string;
  updatedAt: string;
}

/** A disagreement between our payment ledger and the provider's, as staff see it. */
export interface PaymentDrift {
  orderId: string;
  kind: DriftKind;
  ours: string | number;
  theirs: string | number;
  /** The payment's currency, in which amounts (`captured`, `refunded`) are minor units. */
  currency: string;
  foundAt: string;
}

export interface AuthorizeInput {
  orderId: string;
  amount: number;
  currency: string;
  token: string;
}

/**
 * What the checkout saga calls. Every step derives its idempotency key from the order id, so a
 * saga resumed after a crash repeats a step and the provider answers it without a second effect.
 * `signal` is the caller's deadline; without one the current request's signal applies, and the
 * call stays bounded by the retry budget either way.
 */
export interface PaymentsService {
  /** Authorizes the order's amount; throws 402 PAYMENT_DECLINED on a decline. */
  authorize(input: AuthorizeInput, signal?: AbortSignal): Promise<Payment>;
  /**
   * Captures the authorized amount; a repeat returns the same captured payment. `authorized` is
   * the payment as authorize just returned it, which spares reading it again.
   */
  capture(orderId: string, signal?: AbortSignal, authorized?: Payment): Promise<Payment>;
  /**
   * Captures one shipment's share of the authorization (PAYMENTS_CAPTURE=on_shipment); `final`
   * releases the rest. `key` names the shipment, so repeating it captures once. Answers how much
   * this call took: less than `amount` when an earlier capture already took everything (a
   * provider that cannot capture in parts), and 0 when nothing was left.
   */
  captureShare(
    orderId: string,
    share: { amount: number; final: boolean; key: string },
    signal?: AbortSignal,
  ): Promise<{ payment: Payment; amount: number }>;
  /** Releases an uncaptured authorization (also one whose answer never came); undefined when none was tried. */
  voidAuthorization(orderId: string, signal?: AbortSignal): Promise<Payment | undefined>;
  /**
   * Refunds `amount` of the captured money; `key` names this refund, so repeating it refunds once.
   * Throws 409 REFUND_EXCEEDS_CAPTURED when refunds done and in flight would pass the capture.
   */
  refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<Payment>;
  /** Refunds whatever is neither refunded nor promised by another refund yet, once per key; how much it was. */
  refundRest(
    orderId: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<{ payment: Payment; amount: number }>;
  get(orderId: string): Promise<Payment | undefined>;
  /** The payments of these orders; orders without one are left out. */
  ofOrders(orderIds: readonly string[]): Promise<Payment[]>;
  /** Throws 503 PAYMENT_PROVIDER_UNAVAILABLE (with Retry-After) while the circuit breaker is open. */
  assertAvailable(): void;
  /**
   * Applies a provider's webhook (signature checked, each event once): a payment that waited for
   * the shopper follows the provider, and the orders whose payment moved are handed to `settled`.
   * Throws 400 SIGNATURE_INVALID for a forged or stale event.
   */
  applyWebhook(rawBody: Buffer, signature: string | undefined): Promise<{ applied: boolean }>;
  /** A payment waiting for the shopper, brought up to date with the provider (the shopper says they are done). */
  refresh(orderId: string, signal?: AbortSignal): Promise<Payment | undefined>;
  /**
   * One round of reconciliation: the longest-unchecked payments looked up at the provider and
   * compared with ours; each disagreement is recorded once, counted in
   * `emporium_payment_drift_total` and logged. Each payment is checked again once
   * `reconcileEveryMs` has passed. Returns how many were checked (0: all are up to date).
   */
  reconcileOnce(limit?: number): Promise<number>;
  /** The disagreements found, newest first, for staff. */
  drifts(limit?: number): Promise<PaymentDrift[]>;
  /** Who is told when a payment that waited for the shopper has moved (the order's saga goes on). */
  onSettled(listener: (orderId: string) => Promise<void>): void;
}

const CURRENCY = /^[A-Z]{3}$/;
const CAPTURED: PaymentStatus[] = ['captured', 'partially_refunded', 'refunded'];

export const operationKey = (orderId: string, operation: string) => `${orderId}:${operation}`;

function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    orderId: row.orderId,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    capturedAmount: row.capturedAmount,
    refundedAmount: row.refundedAmount,
    refundingAmount: row.refundingAmount,
    providerAuthorizationId: row.providerAuthorizationId,
    ...(row.status === 'requires_action' && row.action && { action: row.action }),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What may still be refunded: captured, less what refunds took or have promised. */
const refundable = (row: PaymentRow) => ({
  amount: row.capturedAmount - row.refundedAmount - row.refundingAmount,
  currency: row.currency,
});

function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw badRequest('INVALID_AMOUNT', 'amount must be a positive integer in minor units');
}

/** Provider 4xx answers become domain errors; everything else (unavailable, aborted) passes through. */
function rethrow(error: unknown): never {
  if (error instanceof ProviderRejection) throw paymentProviderRejected(error);
  throw error;
}

export function createPaymentsService(
  db: Db,
  client: PaymentProvider,
  options: {
    logger: Logger;
    metrics: Metrics;
    /** Where a drift found is announced (`payment.drift_found`), in the transaction that records it. */
    bus: Pick<EventBus, 'append' | 'nudge'>;
    /** Where a shopper returns to after acting at their bank, for this order. */
    returnUrl?: (orderId: string) => string;
    /** How long a payment's check against the provider stays fresh. */
    reconcileEveryMs?: number;
  },
): PaymentsService {
  const { returnUrl, logger, metrics } = options;
  const listeners: Array<(orderId: string) => Promise<void>> = [];
  // A listener that fails (the capture after it, say) is left to recovery: the webhook still applied.
  const notify = async (orderId: string) => {
    for (const listener of listeners)
      await listener(orderId).catch((error: unknown) =>
        logger.warn(
          { err: error, orderId },
          'an order could not go on after its payment moved; recovery will',
        ),
      );
  };
  const drift = metrics.counter(
    'emporium_payment_drift_total',
    'Differences found between our payment ledger and the provider’s, by kind',
    ['provider', 'kind'],
  );
  const disputes = metrics.counter('payments_disputes_total', 'Payments the shopper disputed at their bank', [
    'provider',
  ]);
  const deadline = (signal: AbortSignal | undefined) => signal ?? currentSignal();
  const existing = async (orderId: string) => {
    const row = await store.findByOrder(db, orderId);
    if (!row) throw notFound(`The payment for order ${orderId}`);
    return row;
  };

  /**
   * Refunds under `refundKey` once. Reserved first, so refunds racing each other (staff, returns,
   * a cancel) are decided here, one at a time under the payment's row lock, before any of them
   * reaches the provider. `wanted` is an amount or `rest` (what is neither refunded nor promised
   * yet, fixed when reserved); a repeat goes on with the amount reserved then.
   */
  async function refundOnce(
    orderId: string,
    refundKey: string,
    wanted: number | 'rest',
    signal: AbortSignal | undefined,
  ): Promise<{ payment: Payment; amount: number }> {
    const row = await existing(orderId);
    const key = operationKey(orderId, `refund:${refundKey}`);
    let operation = await store.findOperation(db, key);
    if (!operation) {
      const reserved = await transact(db, (tx) => store.reserveRefund(tx, row.id, key, wanted));
      if ('refused' in reserved) {
        const now = reserved.refused;
        if (wanted === 'rest') return { payment: toPayment(now), amount: 0 };
        if (!CAPTURED.includes(now.status) && now.status !== 'partially_captured')
          throw paymentStateConflict(now.status, 'refunded');
        throw refundExceedsCaptured(refundable(now));
      }
      operation = reserved.operation;
    }
    if (wanted !== 'rest' && operation.amount !== wanted)
      throw conflict('IDEMPOTENCY_KEY_REUSED', 'This refund key was used for another amount');
    const { amount } = operation;
    if (operation.state === 'done') return { payment: toPayment(await existing(orderId)), amount };
    if (operation.state === 'failed') throw refundRefused();
    const answer = await client
      .refund(row.providerAuthorizationId!, amount, { key, signal: deadline(signal) })
      .catch(async (error: unknown) => {
        if (!(error instanceof ProviderRejection)) throw error;
        // A definitive no: the reservation goes back. Unavailable or aborted keeps it pending
        // for the caller's retry under the same key.
        await store.releaseRefund(db, row.id, key);
        if (error.code === 'refund_exceeds_captured')
          throw refundExceedsCaptured(refundable(await existing(orderId)), error);
        return rethrow(error);
      });
    return { payment: toPayment(await store.settleRefund(db, row.id, key, answer.id)), amount };
  }

  /** The payment as the provider's answer has it, for a payment not yet authorized. */
  function moveTo(row: PaymentRow, answer: ProviderAuthorization): Promise<PaymentRow> {
    const settled: Record<ProviderAuthorization['status'], PaymentStatus> = {
      requires_action: 'requires_action',
      authorized: 'authorized',
      declined: 'declined',
      voided: 'declined',
      captured: 'captured',
    };
    const status = settled[answer.status];
    return store.confirm(db, row.id, {
      kind: status === 'declined' ? 'decline' : 'authorize',
      key: operationKey(row.orderId, 'authorize'),
      amount: row.amount,
      providerReference: answer.id,
      from: ['pending', 'requires_action'],
      status,
      providerAuthorizationId: answer.id,
      ...(status === 'captured' && { capturedAmount: answer.capturedAmount }),
      ...(answer.action && { action: answer.action }),
    });
  }

  /** A payment waiting for the shopper, moved to where the provider says it stands now. */
  async function follow(row: PaymentRow, signal?: AbortSignal): Promise<PaymentRow> {
    if (row.status !== 'requires_action' || !row.providerAuthorizationId) return row;
    const now = await client.lookup(row.providerAuthorizationId, { signal: deadline(signal) }).catch(rethrow);
    return now.status === 'requires_action' ? row : moveTo(row, now);
  }

  /** What reconciliation found wrong about one payment. */
  interface Drift {
    kind: DriftKind;
    /** A status, or minor units. */
    ours: string | number;
    theirs: string | number;
  }

  /** The provider's states each of ours may be found in; anything else is drift. */
  const AGREEING: Partial<Record<PaymentStatus, ProviderAuthorization['status'][]>> = {
    authorized: ['authorized'],
    partially_captured: ['authorized'],
    captured: ['captured'],
    partially_refunded: ['captured'],
    refunded: ['captured'],
    voided: ['voided', 'declined'],
    declined: ['declined', 'voided'],
  };

  /**
   * Where our ledger and the provider's record of a payment disagree: its state, what was
   * captured, or what was refunded (refunds in flight may already be done at the provider).
   */
  function compare(
    ours: PaymentRow,
    theirs: Partial<Pick<ProviderAuthorization, 'status' | 'capturedAmount' | 'refundedAmount'>>,
  ): Drift[] {
    const found: Drift[] = [];
    const agreeing = AGREEING[ours.status];
    if (theirs.status && agreeing && !agreeing.includes(theirs.status))
      found.push({ kind: 'status', ours: ours.status, theirs: theirs.status });
    if (theirs.capturedAmount !== undefined && theirs.capturedAmount !== ours.capturedAmount)
      found.push({ kind: 'captured', ours: ours.capturedAmount, theirs: theirs.capturedAmount });
    const refunded = theirs.refundedAmount;
    if (
      refunded !== undefined &&
      (refunded < ours.refundedAmount || refunded > ours.refundedAmount + ours.refundingAmount)
    )
      found.push({ kind: 'refunded', ours: ours.refundedAmount, theirs: refunded });
    return found;
  }

  /** What authorize answers: the payment, or 402 when it was declined. */
  function answered(row: PaymentRow): Payment {
    if (row.status === 'declined') throw paymentDeclined(row.orderId);
    return toPayment(row);
  }

  /** A disagreement recorded once, counted, logged and announced, and shown to staff. */
  async function noteDrift(row: PaymentRow, found: Drift): Promise<void> {
    const recorded = await transact(db, async (tx) => {
      if (!(await store.recordDrift(tx, { paymentId: row.id, orderId: row.orderId, ...found }))) return false;
      await options.bus.append(tx, [driftFound({ orderId: row.orderId, currency: row.currency, ...found })]);
      return true;
    });
    if (!recorded) return;
    options.bus.nudge();
    drift.inc({ provider: client.name, kind: found.kind });
    logger.warn({ orderId: row.orderId, ...found }, 'payment ledger disagrees with the provider');
  }

  return {
    async reconcileOnce(limit = 50) {
      const rows = await store.toReconcile(db, limit, options.reconcileEveryMs ?? 600_000);
      const checked: string[] = [];
      for (const row of rows) {
        try {
          const theirs = await client.lookup(row.providerAuthorizationId!, {});
          for (const found of compare(row, theirs)) await noteDrift(row, found);
          checked.push(row.id);
        } catch (error) {
          // The provider unavailable: this payment is checked again next round.
          logger.warn(
            { err: error, orderId: row.orderId },
            'payment reconciliation could not look a payment up',
          );
        }
      }
      await store.markReconciled(db, checked);
      return checked.length;
    },

    async drifts(limit = 50) {
      return (await store.drifts(db, limit)).map((row) => ({
        orderId: row.orderId,
        kind: row.kind,
        ours: row.ours as string | number,
        theirs: row.theirs as string | number,
        currency: row.currency,
        foundAt: row.foundAt.toISOString(),
      }));
    },

    async authorize({ orderId, amount, currency, token }, signal) {
      assertAmount(amount);
      if (!CURRENCY.test(currency)) throw badRequest('INVALID_CURRENCY', 'currency must be an ISO 4217 code');
      const row = await store.claim(db, { orderId, amount, currency });
      if (row.amount !== amount || row.currency !== currency) {
        throw conflict('PAYMENT_MISMATCH', `order ${orderId} already has a payment of another amount`);
      }
      if (row.status === 'declined') throw paymentDeclined(orderId);
      // A payment that failed or was voided stays so; the order needs a new checkout.
      if (row.status === 'failed' || row.status === 'voided')
        throw paymentStateConflict(row.status, 'authorized');
      const key = operationKey(orderId, 'authorize');
      // Waiting for the shopper (3-D Secure): ask the provider where it stands now.
      if (row.status === 'requires_action') return answered(await follow(row, signal));
      if (row.status !== 'pending') return toPayment(row);
      const answer = await client
        .authorize(
          { amount, currency, token, reference: orderId, returnUrl: returnUrl?.(orderId) },
          { key, signal: deadline(signal) },
        )
        .catch(async (error: unknown) => {
          if (error instanceof ProviderRejection) await store.markFailed(db, row.id);
          return rethrow(error);
        });
      return answered(await moveTo(row, answer));
    },

    async capture(orderId, signal, authorized) {
      let payment = authorized;
      if (payment?.status !== 'authorized' || payment.orderId !== orderId) {
        const row = await existing(orderId);
        if (CAPTURED.includes(row.status)) return toPayment(row);
        if (row.status !== 'authorized') throw paymentStateConflict(row.status, 'captured');
        payment = toPayment(row);
      }
      const key = operationKey(orderId, 'capture');
      // Should the payment have moved on since `authorized` was read, the provider answers this
      // key as before and the conditional confirm below leaves the payment as it is.
      const answer = await client
        .capture(payment.providerAuthorizationId!, undefined, { key, signal: deadline(signal) })
        .catch(rethrow);
      return toPayment(
        await store.confirm(db, payment.id, {
          kind: 'capture',
          key,
          amount: answer.capturedAmount,
          providerReference: answer.id,
          from: ['authorized'],
          status: 'captured',
          capturedAmount: answer.capturedAmount,
        }),
      );
    },

    async captureShare(orderId, share, signal) {
      const row = await existing(orderId);
      const key = operationKey(orderId, `capture:${share.key}`);
      const done = await store.findOperation(db, key);
      if (done) return { payment: toPayment(row), amount: done.amount };
      if (CAPTURED.includes(row.status)) return { payment: toPayment(row), amount: 0 };
      if (row.status !== 'authorized' && row.status !== 'partially_captured')
        throw paymentStateConflict(row.status, 'captured');
      assertAmount(share.amount);
      const answer = await client
        .capture(
          row.providerAuthorizationId!,
          { amount: share.amount, final: share.final },
          { key, signal: deadline(signal) },
        )
        .catch(rethrow);
      // Shipments capture one at a time (each holds its order), so what grew is this capture's.
      const taken = answer.capturedAmount - row.capturedAmount;
      const moved = await store.confirm(db, row.id, {
        kind: 'capture',
        key,
        amount: taken,
        providerReference: answer.id,
        from: ['authorized', 'partially_captured'],
        status: answer.status === 'captured' ? 'captured' : 'partially_captured',
        capturedAmount: answer.capturedAmount,
      });
      return { payment: toPayment(moved), amount: taken };
    },

    async voidAuthorization(orderId, signal) {
      const row = await store.findByOrder(db, orderId);
      if (!row) return undefined;
      if (['voided', 'declined', 'failed'].includes(row.status)) return toPayment(row);
      // A payment waiting for the shopper is cancelled too, so finishing 3-D Secure later holds nothing.
      if (row.status === 'authorized' || row.status === 'requires_action') {
        const key = operationKey(orderId, 'void');
        const answer = await client
          .void(row.providerAuthorizationId!, { key, signal: deadline(signal) })
          .catch(rethrow);
        return toPayment(
          await store.confirm(db, row.id, {
            kind: 'void',
            key,
            amount: answer.amount,
            providerReference: answer.id,
            from: ['authorized', 'requires_action'],
            status: 'voided',
          }),
        );
      }
      if (row.status === 'pending') {
        // The authorization's answer never came: reverse by our reference, which also makes the
        // provider decline that authorization should it still arrive.
        const key = operationKey(orderId, 'reverse');
        const answer = await client
          .reverse(
            {
              reference: orderId,
              amount: row.amount,
              currency: row.currency,
              authorizationKey: operationKey(orderId, 'authorize'),
            },
            { key, signal: deadline(signal) },
          )
          .catch(rethrow);
        const voided = answer.voided[0];
        return toPayment(
          await store.confirm(db, row.id, {
            kind: 'reversal',
            key,
            amount: voided ? row.amount : 0,
            providerReference: voided ?? null,
            // A slow authorization may have been confirmed meanwhile; the reversal voided it all the same.
            from: ['pending', 'authorized'],
            status: voided ? 'voided' : 'failed',
            providerAuthorizationId: voided,
          }),
        );
      }
      throw paymentStateConflict(row.status, 'voided');
    },

    async refund(orderId, amount, refundKey, signal) {
      assertAmount(amount);
      return (await refundOnce(orderId, refundKey, amount, signal)).payment;
    },

    refundRest: (orderId, refundKey, signal) => refundOnce(orderId, refundKey, 'rest', signal),

    assertAvailable: () => client.assertAvailable(),

    async applyWebhook(rawBody, signature) {
      if (!client.parseWebhook) throw notFound('A webhook endpoint for this payment provider');
      let event: ProviderEvent;
      try {
        event = client.parseWebhook(rawBody, signature);
      } catch (error) {
        throw signatureInvalid(error);
      }
      if (await store.hasWebhookEvent(db, client.name, event.id)) return { applied: false };
      if (event.kind !== 'ignored') {
        const row = await store.findByAuthorization(db, event.authorizationId);
        if (row && event.kind === 'payment_changed') {
          const moved = await follow(row);
          if (moved.status !== row.status) await notify(row.orderId);
        } else if (row && event.kind === 'refunded') {
          // Money may have gone back outside our calls (the provider's dashboard): staff must see it.
          for (const found of compare(row, { refundedAmount: event.refundedAmount }))
            await noteDrift(row, found);
        } else if (row && event.kind === 'disputed') {
          disputes.inc({ provider: client.name });
          logger.warn({ orderId: row.orderId, amount: event.amount }, 'payment disputed');
        }
      }
      // Recorded once applied: an event whose handling failed is applied when the provider resends it.
      return { applied: await store.recordWebhookEvent(db, client.name, event.id, event.type) };
    },

    async refresh(orderId, signal) {
      const row = await store.findByOrder(db, orderId);
      return row && toPayment(await follow(row, signal));
    },

    onSettled(listener) {
      listeners.push(listener);
    },

    async get(orderId) {
      const row = await store.findByOrder(db, orderId);
      return row && toPayment(row);
    },

    ofOrders: async (orderIds) => (await store.findByOrders(db, orderIds)).map(toPayment),
  };
}
