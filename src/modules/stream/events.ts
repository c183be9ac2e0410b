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
/** What the stream module consumes. */
export const HANDLED_EVENT_TYPES = [...STREAM_EVENT_TYPES, SESSIONS_REVOKED];
