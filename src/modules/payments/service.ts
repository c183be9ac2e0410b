import { currentSignal } from '../../platform/context.ts';
import type { Db } from '../../platform/db/index.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import type { PaymentsClient } from './client.ts';
import {
  ProviderRejection,
  paymentDeclined,
  paymentProviderRejected,
  paymentStateConflict,
  refundExceedsCaptured,
} from './errors.ts';
import { type PaymentRow, type PaymentStatus, paymentsStore as store } from './store.ts';

export interface Payment {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
  providerAuthorizationId: string | null;
  createdAt: string;
  updatedAt: string;
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
  /** Releases an uncaptured authorization (also one whose answer never came); undefined when none was tried. */
  voidAuthorization(orderId: string, signal?: AbortSignal): Promise<Payment | undefined>;
  /** Refunds `amount` of the captured money; `key` names this refund, so repeating it refunds once. */
  refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<Payment>;
  get(orderId: string): Promise<Payment | undefined>;
  /** The payments of these orders; orders without one are left out. */
  ofOrders(orderIds: readonly string[]): Promise<Payment[]>;
  /** Throws 503 PAYMENT_PROVIDER_UNAVAILABLE (with Retry-After) while the circuit breaker is open. */
  assertAvailable(): void;
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
    providerAuthorizationId: row.providerAuthorizationId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw badRequest('INVALID_AMOUNT', 'amount must be a positive integer in minor units');
}

/** Provider 4xx answers become domain errors; everything else (unavailable, aborted) passes through. */
function rethrow(error: unknown): never {
  if (error instanceof ProviderRejection) throw paymentProviderRejected(error);
  throw error;
}

export function createPaymentsService(db: Db, client: PaymentsClient): PaymentsService {
  const deadline = (signal: AbortSignal | undefined) => signal ?? currentSignal();
  const existing = async (orderId: string) => {
    const row = await store.findByOrder(db, orderId);
    if (!row) throw notFound(`The payment for order ${orderId}`);
    return row;
  };

  return {
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
        throw paymentStateConflict(orderId, row.status, 'authorized');
      if (row.status !== 'pending') return toPayment(row);
      const key = operationKey(orderId, 'authorize');
      const answer = await client
        .authorize({ amount, currency, token, reference: orderId }, { key, signal: deadline(signal) })
        .catch(async (error: unknown) => {
          if (error instanceof ProviderRejection) await store.markFailed(db, row.id);
          return rethrow(error);
        });
      const declined = answer.status === 'declined';
      const confirmed = await store.confirm(db, row.id, {
        kind: declined ? 'decline' : 'authorize',
        key,
        amount,
        providerReference: answer.id,
        from: ['pending'],
        status: declined ? 'declined' : 'authorized',
        providerAuthorizationId: answer.id,
      });
      if (confirmed.status === 'declined') throw paymentDeclined(orderId);
      return toPayment(confirmed);
    },

    async capture(orderId, signal, authorized) {
      let payment = authorized;
      if (payment?.status !== 'authorized' || payment.orderId !== orderId) {
        const row = await existing(orderId);
        if (CAPTURED.includes(row.status)) return toPayment(row);
        if (row.status !== 'authorized') throw paymentStateConflict(orderId, row.status, 'captured');
        payment = toPayment(row);
      }
      const key = operationKey(orderId, 'capture');
      // Should the payment have moved on since `authorized` was read, the provider answers this
      // key as before and the conditional confirm below leaves the payment as it is.
      const answer = await client
        .capture(payment.providerAuthorizationId!, { key, signal: deadline(signal) })
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

    async voidAuthorization(orderId, signal) {
      const row = await store.findByOrder(db, orderId);
      if (!row) return undefined;
      if (['voided', 'declined', 'failed'].includes(row.status)) return toPayment(row);
      if (row.status === 'authorized') {
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
            from: ['authorized'],
            status: 'voided',
          }),
        );
      }
      if (row.status === 'pending') {
        // The authorization's answer never came: reverse by our reference, which also makes the
        // provider decline that authorization should it still arrive.
        const key = operationKey(orderId, 'reverse');
        const answer = await client.reverse(orderId, { key, signal: deadline(signal) }).catch(rethrow);
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
      throw paymentStateConflict(orderId, row.status, 'voided');
    },

    async refund(orderId, amount, refundKey, signal) {
      assertAmount(amount);
      const row = await existing(orderId);
      const key = operationKey(orderId, `refund:${refundKey}`);
      const done = await store.findOperation(db, key);
      if (done) {
        if (done.amount !== amount)
          throw conflict('IDEMPOTENCY_KEY_REUSED', `refund ${refundKey} had another amount`);
        return toPayment(row);
      }
      if (!CAPTURED.includes(row.status)) throw paymentStateConflict(orderId, row.status, 'refunded');
      if (amount > row.capturedAmount - row.refundedAmount) throw refundExceedsCaptured(orderId);
      const answer = await client
        .refund(row.providerAuthorizationId!, amount, { key, signal: deadline(signal) })
        .catch((error: unknown) => {
          // Another refund may have got there first: the provider's total is the one that counts.
          if (error instanceof ProviderRejection && error.code === 'refund_exceeds_captured')
            throw refundExceedsCaptured(orderId, error);
          return rethrow(error);
        });
      return toPayment(
        await store.confirm(db, row.id, {
          kind: 'refund',
          key,
          amount,
          providerReference: answer.id,
          from: CAPTURED,
          status: 'partially_refunded',
          refundedAmount: answer.refundedAmount,
        }),
      );
    },

    assertAvailable: () => client.assertAvailable(),

    async get(orderId) {
      const row = await store.findByOrder(db, orderId);
      return row && toPayment(row);
    },

    ofOrders: async (orderIds) => (await store.findByOrders(db, orderIds)).map(toPayment),
  };
}
