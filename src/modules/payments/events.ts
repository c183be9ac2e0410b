import { type CloudEvent, cloudEvent } from '../../platform/events/index.ts';
import type { DriftKind } from './store.ts';

export const PAYMENTS_SOURCE = '/emporium/payments';
/** The events payments emits (webhooks accept subscriptions to these). */
export const PAYMENT_EVENT_TYPES = ['payment.drift_found'] as const;

/** Our ledger and the provider's disagree about an order's payment: staff, or their tools, must look. */
export function driftFound(drift: {
  orderId: string;
  kind: DriftKind;
  ours: string | number;
  theirs: string | number;
  currency: string;
}): CloudEvent {
  return cloudEvent(PAYMENTS_SOURCE, 'payment.drift_found', drift.orderId, drift);
}
