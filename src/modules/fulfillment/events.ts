import { type CloudEvent, cloudEvent } from '../../platform/events/index.ts';

export const FULFILLMENT_SOURCE = '/emporium/fulfillment';
/**
 * The events fulfillment emits about an order (webhooks accept subscriptions to these); with
 * PAYMENTS_CAPTURE=on_shipment a shipment's capture is a `payment.captured` of its own.
 */
export const FULFILLMENT_EVENT_TYPES = ['order.shipped', 'order.returned', 'payment.captured'] as const;
export type FulfillmentEventType = (typeof FULFILLMENT_EVENT_TYPES)[number];

/** A shipment or a received return of an order: names the order and its owner, as order events do. */
export function fulfillmentEvent(
  type: FulfillmentEventType,
  order: { id: string; userId: string },
  data: Record<string, unknown>,
): CloudEvent {
  return cloudEvent(FULFILLMENT_SOURCE, type, order.id, { orderId: order.id, userId: order.userId, ...data });
}
