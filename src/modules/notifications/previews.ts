import {
  type RenderedMail,
  renderEmailChangedMail,
  renderEmailChangeMail,
  renderOrderMail,
  renderPasswordResetMail,
  renderPaymentLinkMail,
  renderStaffInviteMail,
  renderStockLowMail,
  renderVerificationMail,
  renderWelcomeMail,
} from './templates.ts';

/** An order of the samples: never a real one, so a preview shows no customer's data. */
const SAMPLE_ORDER = '0190a0b0-0000-7000-8000-0000005a3b1e';
const SAMPLE_EMAIL = 'ada@example.com';

/**
 * Every mail the shop sends, rendered by its own template with sample data, for staff to read
 * before a customer does: the same functions the mail goes out through.
 */
export function mailPreviews(
  shop: string,
  publicUrl: string,
  currency: string,
): Array<{ name: string; mail: RenderedMail }> {
  const link = (path: string) => `${publicUrl}${path}`;
  const total = { amount: 4990, currency };
  const order = (type: string, data: object) =>
    renderOrderMail(shop, type, { orderId: SAMPLE_ORDER, total, ...data }, link(`/orders/${SAMPLE_ORDER}`))!;
  return [
    { name: 'Order confirmation', mail: order('order.confirmed', {}) },
    {
      name: 'Shipping notice',
      mail: order('order.shipped', { status: 'shipped', carrier: 'DHL', trackingNumber: 'JD014600' }),
    },
    { name: 'Return receipt', mail: order('order.returned', { refund: { amount: 1990, currency } }) },
    { name: 'Cancellation', mail: order('order.cancelled', { reason: 'cancelled_by_customer' }) },
    { name: 'Payment link', mail: renderPaymentLinkMail(shop, { total }, link('/pay?token=sample')) },
    {
      name: 'Welcome',
      mail: renderWelcomeMail(shop, { email: SAMPLE_EMAIL }, link('/verify-email?token=sample')),
    },
    {
      name: 'Email confirmation',
      mail: renderVerificationMail(shop, { email: SAMPLE_EMAIL }, link('/verify-email?token=sample')),
    },
    {
      name: 'New email address',
      mail: renderEmailChangeMail(shop, { email: SAMPLE_EMAIL }, link('/verify-email?token=sample')),
    },
    {
      name: 'Email address changed',
      mail: renderEmailChangedMail(shop, { previousEmail: 'ada.old@example.com', email: SAMPLE_EMAIL }),
    },
    {
      name: 'Password reset',
      mail: renderPasswordResetMail(shop, { email: SAMPLE_EMAIL }, link('/reset-password?token=sample')),
    },
    {
      name: 'Staff invitation',
      mail: renderStaffInviteMail(
        shop,
        { email: SAMPLE_EMAIL, role: 'staff' },
        link('/admin/invite?token=sample'),
      ),
    },
    {
      name: 'Low stock (to staff)',
      mail: renderStockLowMail(shop, { sku: 'MUG-BLUE', available: 2, onHand: 3, reserved: 1, threshold: 5 }),
    },
  ];
}
