import { type CloudEvent, cloudEvent } from '../../platform/events/index.ts';
import type { OrderRow } from './store.ts';

export const ORDERING_SOURCE = '/emporium/ordering';

/** The events ordering emits (webhooks accept subscriptions to these). */
export const ORDER_EVENT_TYPES = [
  'order.created',
  'order.confirmed',
  'order.cancelled',
  'order.edited',
  'draft_order.payment_requested',
  'payment.captured',
  'payment.refunded',
] as const;

export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/** Staff asked for a draft order's payment link to be mailed; the mail makes its own token. */
export const paymentRequested = (
  draft: { id: string; customerId: string | null; email: string | null },
  total: { amount: number; currency: string },
): CloudEvent =>
  cloudEvent(ORDERING_SOURCE, 'draft_order.payment_requested', draft.id, {
    draftId: draft.id,
    ...(draft.customerId ? { userId: draft.customerId } : {}),
    ...(draft.email ? { email: draft.email } : {}),
    total,
  });

/** Every order event names the order (subject), its owner and status: enough to route and to show. */
export function orderEvent(
  type: OrderEventType,
  order: Pick<OrderRow, 'id' | 'userId' | 'status' | 'totalAmount' | 'currency' | 'cancelReason'>,
  extra: Record<string, unknown> = {},
): CloudEvent {
  return cloudEvent(ORDERING_SOURCE, type, order.id, {
    orderId: order.id,
    userId: order.userId,
    status: order.status,
    total: { amount: order.totalAmount, currency: order.currency },
    ...(order.cancelReason && order.status === 'cancelled' ? { reason: order.cancelReason } : {}),
    ...extra,
  });
}
