import { conflict, DomainError } from '../../platform/errors.ts';
import type { Money, Totals } from '../cart/index.ts';
import type { ShippingMethod } from '../pricing/index.ts';

/** The ordering module's domain errors: what a shopper or staff member is told, and the code clients switch on. */

export const invalidState = (detail: string, options?: { retryAfterSeconds?: number }) =>
  conflict(
    'INVALID_STATE',
    detail,
    options?.retryAfterSeconds
      ? { headers: { 'retry-after': String(options.retryAfterSeconds) } }
      : undefined,
  );

export const paymentDeclined = (orderId: string) =>
  new DomainError(
    402,
    'PAYMENT_DECLINED',
    'Payment declined',
    'The card was declined; nothing was charged, and the items are back in your cart',
    { extensions: { orderId } },
  );

export const paymentFailed = (orderId: string) =>
  new DomainError(
    402,
    'PAYMENT_FAILED',
    'Payment failed',
    'The payment could not be completed; nothing was charged, and the items are back in your cart',
    { extensions: { orderId } },
  );

export const totalChanged = (
  now: { totals: Totals; total: Money; shippingMethod?: ShippingMethod },
  expected: Money,
) =>
  conflict(
    'TOTAL_CHANGED',
    `The total for this address is now ${now.total.amount} ${now.total.currency} (you were shown ${expected.amount} ${expected.currency}); nothing was charged`,
    {
      extensions: { totals: now.totals, expectedTotal: expected, shippingMethod: now.shippingMethod ?? null },
    },
  );

export const nothingToPay = () =>
  conflict(
    'NOTHING_TO_PAY',
    'This order comes to nothing to pay, so it cannot be placed: add an item or remove the promotion code',
  );

export const cancellationPending = () =>
  new DomainError(
    503,
    'CANCELLATION_PENDING',
    'Cancellation pending',
    'The refund is being retried; the order will be cancelled',
    { headers: { 'retry-after': '5' } },
  );

export const refundCurrencyMismatch = (currency: string) =>
  new DomainError(
    400,
    'CURRENCY_MISMATCH',
    'Currency mismatch',
    `This order was paid in ${currency}; refund it in ${currency}`,
  );

/** The card refused what an edit adds: the order stays as it was. */
export const editDeclined = (cause: DomainError) =>
  new DomainError(
    402,
    'PAYMENT_DECLINED',
    'Payment declined',
    cause.code === 'PAYMENT_DECLINED'
      ? 'The card was declined: nothing was charged and the order was not changed'
      : 'The card could not be charged: nothing was charged and the order was not changed',
    { cause },
  );
