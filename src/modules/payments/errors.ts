import { DomainError } from '../../platform/errors.ts';
import { type Amount, formatMoney } from '../../platform/money.ts';

/** A definitive 4xx answer from the provider (not a decline): retrying the same request cannot help. */
export class ProviderRejection extends Error {
  override name = 'ProviderRejection';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(`payment provider rejected the request (${status} ${code}): ${message}`);
    this.status = status;
    this.code = code;
  }
}

/**
 * The provider could not be reached or kept failing. The outcome of the operation is unknown, so
 * the caller repeats it later; the deterministic idempotency key makes that safe.
 */
export const paymentProviderUnavailable = (detail: string, retryAfterSeconds: number, cause: unknown) =>
  new DomainError(503, 'PAYMENT_PROVIDER_UNAVAILABLE', 'Payment provider unavailable', detail, {
    cause,
    headers: { 'retry-after': String(retryAfterSeconds) },
  });

export const paymentDeclined = (orderId: string) =>
  new DomainError(
    402,
    'PAYMENT_DECLINED',
    'Payment declined',
    `the payment for order ${orderId} was declined`,
  );

export const refundExceedsCaptured = (left: Amount, cause?: unknown) =>
  new DomainError(
    409,
    'REFUND_EXCEEDS_CAPTURED',
    'Refund exceeds what was paid',
    `Refunds may not exceed what was paid: ${formatMoney(left)} is left to refund, and nothing was refunded now`,
    { cause, extensions: { refundable: left } },
  );

export const refundRefused = () =>
  new DomainError(
    409,
    'REFUND_REFUSED',
    'Refund refused',
    'The payment provider refused this refund; nothing was paid back',
  );

export const paymentStateConflict = (status: string, wanted: string) =>
  new DomainError(
    409,
    'PAYMENT_STATE_CONFLICT',
    'Payment state conflict',
    `The payment is ${status.replace('_', ' ')}; it cannot be ${wanted}`,
  );

/** The provider refused a request we built: a bug on our side or a mismatch, never retried. */
export const paymentProviderRejected = (cause: ProviderRejection) =>
  new DomainError(502, 'PAYMENT_PROVIDER_ERROR', 'Payment provider error', cause.message, { cause });

/** A webhook whose signature does not verify (forged, altered, or older than the tolerance). */
export const signatureInvalid = (cause: unknown) =>
  new DomainError(
    400,
    'SIGNATURE_INVALID',
    'Signature invalid',
    'The webhook signature does not match this endpoint’s secret, or it is too old',
    { cause },
  );
