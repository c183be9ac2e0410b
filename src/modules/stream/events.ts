/** The events a user sees about their own orders: every status change, payments, shipping and returns. */
const STREAM_EVENT_TYPES = [
  'order.created',
  'order.confirmed',
  'order.cancelled',
  'order.shipped',
  'order.returned',
  'payment.captured',
  'payment.refunded',
] as const;

/** Not shown to the user: their tokens were revoked, so their sockets close on every instance. */
export const SESSIONS_REVOKED = 'user.sessions_revoked';
/** What staff who see the shop's orders are told of as it happens: a new paid order, stock running low. */
export const STAFF_FEED_TYPES: readonly string[] = ['order.confirmed', 'inventory.low'];

/** What the stream module consumes. */
export const HANDLED_EVENT_TYPES = [
  ...new Set([...STREAM_EVENT_TYPES, ...STAFF_FEED_TYPES, SESSIONS_REVOKED]),
];
