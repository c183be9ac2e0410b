import { formatMoney } from '../../platform/money.ts';

/** What an email says; rendered from an event's data. */
export interface RenderedMail {
  kind:
    | 'order_confirmed'
    | 'order_cancelled'
    | 'order_shipped'
    | 'order_returned'
    | 'welcome'
    | 'email_verification'
    | 'password_reset'
    | 'email_change'
    | 'email_changed'
    | 'staff_invite'
    | 'payment_link'
    | 'stock_low';
  subject: string;
  text: string;
  html: string;
}

interface OrderData {
  orderId: string;
  total?: { amount: number; currency: string };
  reason?: string;
  /** order.shipped: the order's status after this shipment, and how it travels. */
  status?: string;
  carrier?: string;
  trackingNumber?: string;
  /** order.returned: what the received return refunded. */
  refund?: { amount: number; currency: string };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(shop: string, title: string, paragraphs: string[]): string {
  return [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.5">',
    `<h1 style="font-size: 1.25em">${escapeHtml(title)}</h1>`,
    ...paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    `<p style="color: #666">${escapeHtml(shop)}</p>`,
    '</body></html>',
  ].join('\n');
}

/** `orderLink` opens the order in the storefront: people get a link, never the order's id. */
export function renderOrderMail(
  shop: string,
  type: string,
  data: OrderData,
  orderLink: string,
): RenderedMail | undefined {
  const reference = data.orderId.slice(-8);
  const follow = `You can see your order at any time at ${orderLink}`;
  const total = data.total && formatMoney(data.total);
  let kind: RenderedMail['kind'];
  let subject: string;
  let lines: string[];
  if (type === 'order.confirmed') {
    kind = 'order_confirmed';
    subject = `Your order ${reference} is confirmed`;
    lines = [
      `Thank you for your order. We have received your payment${total ? ` of ${total}` : ''}.`,
      'We will let you know when it ships.',
      follow,
    ];
  } else if (type === 'order.cancelled') {
    kind = 'order_cancelled';
    const unpaid = data.reason !== undefined && !REFUNDED_REASONS.has(data.reason);
    subject = unpaid ? `Your order ${reference} was not placed` : `Your order ${reference} was cancelled`;
    lines = [
      `${cancellationSentence(data.reason, total)}`,
      unpaid
        ? `${data.reason === 'reservation_expired' ? '' : 'Nothing was charged. '}The items are back in your cart, so you can try again whenever you like.`
        : follow,
    ];
  } else if (type === 'order.shipped') {
    const partial = data.status === 'partially_shipped';
    kind = 'order_shipped';
    subject = partial ? `Part of your order ${reference} has shipped` : `Your order ${reference} has shipped`;
    lines = [
      partial
        ? 'Some items of your order are on their way; we will write again when the rest ship.'
        : 'Your order is on its way.',
      ...(data.carrier && data.trackingNumber
        ? [`Carrier: ${data.carrier}, tracking number ${data.trackingNumber}.`]
        : []),
      follow,
    ];
  } else if (type === 'order.returned') {
    const refund = data.refund && formatMoney(data.refund);
    kind = 'order_returned';
    subject = `We received your return for order ${reference}`;
    lines = [
      `The items you sent back from order ${reference} have arrived.`,
      refund
        ? `We have refunded ${refund} to your original payment method.`
        : 'Nothing was due back for them.',
    ];
  } else {
    return undefined;
  }
  return mail(shop, kind, subject, lines);
}

/** Cancellations of a paid order (the money is refunded); every other reason means none was taken. */
const REFUNDED_REASONS = new Set(['cancelled_by_customer', 'cancelled_by_staff']);

/**
 * Why an order was cancelled, as the shopper reads it; the same story the storefront tells after a
 * declined card. The reason codes stay in the event for machines.
 */
function cancellationSentence(reason: string | undefined, total: string | undefined): string {
  const refunded = total ? ` We have refunded ${total} to your original payment method.` : '';
  switch (reason) {
    case 'payment_declined':
      return 'Your card was declined, so the order was not placed.';
    case 'reservation_expired':
      return 'The payment did not complete in time, so the order was not placed and its items were released. Any amount taken for it has been refunded.';
    case 'cancelled_by_customer':
      return `You cancelled your order.${refunded}`;
    case 'cancelled_by_staff':
      return `We had to cancel your order; we are sorry.${refunded}`;
    case undefined:
      return `Your order was cancelled. Any payment taken for it is refunded.`;
    default:
      return 'The payment could not be completed, so the order was not placed.';
  }
}

function mail(shop: string, kind: RenderedMail['kind'], subject: string, lines: string[]): RenderedMail {
  return {
    kind,
    subject,
    text: `${[subject, '', ...lines, '', shop].join('\n')}\n`,
    html: page(shop, subject, lines),
  };
}

/**
 * user.registered: the new account's welcome; `verifyLink` asks a password sign-up to confirm its
 * address (a provider has confirmed the others').
 */
export function renderWelcomeMail(
  shop: string,
  data: { email: string; method?: string; provider?: string },
  verifyLink?: string,
): RenderedMail {
  return mail(shop, 'welcome', `Welcome to ${shop}`, [
    `Your account ${data.email} is ready${data.method === 'oidc' && data.provider ? `; you signed up with ${data.provider}` : ''}.`,
    ...(verifyLink ? [confirmSentence(verifyLink)] : []),
    'Your cart, orders and returns are waiting for you whenever you sign in.',
    'If you did not create this account, you can ignore this message.',
  ]);
}

const confirmSentence = (link: string) =>
  `Please confirm that this address is yours by opening ${link} (the link works once, for 24 hours).`;

/** user.verification_requested: another link to confirm the account's address. */
export function renderVerificationMail(
  shop: string,
  data: { email: string },
  verifyLink: string,
): RenderedMail {
  return mail(shop, 'email_verification', 'Confirm your email address', [
    `Someone, hopefully you, asked to confirm ${data.email} for an account at ${shop}.`,
    confirmSentence(verifyLink),
    'If it was not you, you can ignore this message; nothing changes until the link is opened.',
  ]);
}

/** user.email_change_requested: the link, sent to the new address, that moves the account to it. */
export function renderEmailChangeMail(
  shop: string,
  data: { email: string },
  confirmLink: string,
): RenderedMail {
  return mail(shop, 'email_change', 'Confirm your new email address', [
    `Someone, hopefully you, asked to sign in to their account at ${shop} with ${data.email} from now on.`,
    `To make it the account's address, open ${confirmLink} (the link works once, within a day).`,
    'If it was not you, you can ignore this message: the account keeps its address.',
  ]);
}

/** user.email_changed: sent to the address the account left, so a takeover cannot go unseen. */
export function renderEmailChangedMail(
  shop: string,
  data: { previousEmail: string; email: string },
): RenderedMail {
  return mail(shop, 'email_changed', 'The email address of your account was changed', [
    `The account at ${shop} that used ${data.previousEmail} now signs in with ${data.email}; the new address was confirmed from the link sent to it.`,
    'If it was you, there is nothing to do. If it was not, contact the shop at once: someone who knows your password changed it, and the shop can give the account back to you.',
  ]);
}

/** staff.invited: the link with which someone joins the shop's staff. */
export function renderStaffInviteMail(
  shop: string,
  data: { email: string; role: string },
  acceptLink: string,
): RenderedMail {
  return mail(shop, 'staff_invite', "You are invited to join the shop's team", [
    `You are invited to help run ${shop}, as ${data.role}, with the account ${data.email}.`,
    `To accept, open ${acceptLink} (the link works once, within a week) and choose your password, or enter it if you already have an account here.`,
    'If you did not expect this, you can ignore this message: nothing happens until the link is opened.',
  ]);
}

/** draft_order.payment_requested: the link with which a customer pays an order the shop made for them. */
export function renderPaymentLinkMail(
  shop: string,
  data: { total: { amount: number; currency: string } },
  payLink: string,
): RenderedMail {
  const total = formatMoney(data.total);
  return mail(shop, 'payment_link', `Your order of ${total} is ready to pay`, [
    `The shop has put together an order for you, of ${total}.`,
    `To see what is in it and pay, open ${payLink} (the link works for a week, until the order is paid).`,
    'If you did not ask for this order, you can ignore this message: nothing is charged unless you pay.',
  ]);
}

/** user.password_reset_requested: the link that sets a new password. */
export function renderPasswordResetMail(
  shop: string,
  data: { email: string },
  resetLink: string,
): RenderedMail {
  return mail(shop, 'password_reset', 'Reset your password', [
    `Someone, hopefully you, asked to reset the password of the account ${data.email} at ${shop}.`,
    `To choose a new password, open ${resetLink} (the link works once, within an hour). Every device signed in to the account is signed out when you do.`,
    'If it was not you, you can ignore this message: your password stays as it is.',
  ]);
}

/** inventory.low: tells the shop's staff that an item needs restocking. */
export function renderStockLowMail(
  shop: string,
  data: {
    sku: string;
    available: number;
    onHand: number;
    reserved: number;
    threshold: number;
  },
): RenderedMail {
  return mail(shop, 'stock_low', `Low stock: ${data.sku} has ${data.available} left`, [
    `${data.sku} is down to ${data.available} available (${data.onHand} on hand, ${data.reserved} reserved for orders), at or below its threshold of ${data.threshold}.`,
    `Restock it in the admin console or with POST /v1/inventory/${encodeURIComponent(data.sku)}/adjustments.`,
    'You will be told again only after it has been restocked above the threshold and runs low once more.',
  ]);
}
