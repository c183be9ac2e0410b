/** The events notifications consumes: each one that reaches the bus is mailed at most once per kind. */
export const NOTIFIED_EVENT_TYPES = [
  'order.confirmed',
  'order.cancelled',
  'order.shipped',
  'order.returned',
  'user.registered',
  'user.verification_requested',
  'user.password_reset_requested',
  'user.email_change_requested',
  'user.email_changed',
  'staff.invited',
  'draft_order.payment_requested',
  'inventory.low',
] as const;
