import path from 'node:path';
import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { CloudEvent, EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createPollingLoop } from '../../platform/polling.ts';
import { onAccountErased } from '../identity/index.ts';
import { NOTIFIED_EVENT_TYPES } from './events.ts';
import { createMailer, type Mailer } from './mailer.ts';
import { type QueuedMail, type SentNotification, notificationStore as store } from './store.ts';
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

/**
 * The mail these events caused, read without the module running (the api role builds no
 * notifications): an order's timeline shows what the shop told the customer.
 */
export const mailSentFor = (db: Db, eventIds: readonly string[]): Promise<SentNotification[]> =>
  store.sentFor(db, eventIds);

export { mailPreviews } from './previews.ts';
export type { SentNotification } from './store.ts';

export interface NotificationsModule extends AppModule {
  name: 'notifications';
  /** The bus handler, exposed so tests can deliver an event twice. */
  handle(event: CloudEvent): Promise<void>;
  sentTo(userId: string): Promise<SentNotification[]>;
  sentFor(eventId: string): Promise<SentNotification[]>;
}

interface Recipient {
  /** The account mailed, when the address belongs to one. */
  userId?: string;
  address: string;
}

/** Sends before a message is given up (status `failed`, logged and counted). */
const MAX_MAIL_ATTEMPTS = 10;

/**
 * Emails customers about their accounts and orders, and the shop's staff about stock running low.
 * An outbox-driven consumer: the message is queued in the inbox transaction (a redelivered event
 * queues nothing twice) and sent after it commits, so no database connection waits on the mail
 * server; a failed send stays queued and the delivery loop retries it with backoff.
 */
export function createNotifications(deps: {
  config: Config;
  db: Db;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  identity: {
    emailOf(userId: string): Promise<string | undefined>;
    staffContacts(): Promise<Array<{ userId: string; email: string }>>;
    issueEmailVerification(userId: string, email: string): Promise<string | undefined>;
    issuePasswordReset(userId: string, email: string): Promise<string | undefined>;
    issueEmailChange(userId: string, email: string): Promise<string | undefined>;
    issueStaffInvite(inviteId: string): Promise<string | undefined>;
  };
  /** A guest's order: where its mail goes, and a fresh token for the link that opens it. */
  orders: {
    guestContact(orderId: string): Promise<{ email: string; token: string } | undefined>;
    /** A fresh token for a draft order's payment link; undefined once the draft is completed. */
    issuePaymentLink(draftId: string): Promise<string | undefined>;
  };
  /** The shop's name as staff set it (settings): what its mail is signed with. */
  shopName(): Promise<string>;
}): NotificationsModule {
  const { config, db, bus, logger, identity, orders } = deps;
  const mailer: Mailer = createMailer({
    smtpUrl: config.smtpUrl,
    smtpTimeoutMs: config.smtpTimeoutMs,
    mailDir: path.join(config.dataDir, 'mail'),
  });
  const sent = deps.metrics.counter('notifications_sent_total', 'Notification emails sent', ['kind']);
  const failures = deps.metrics.counter(
    'notifications_send_failures_total',
    'Notification emails the mail server did not take, by outcome (retry, gave_up)',
    ['outcome'],
  );
  // Long enough for a send bounded by the SMTP timeouts, so no second sender takes it meanwhile.
  const leaseMs = config.smtpTimeoutMs * 4 + 5_000;
  const backoff = (attempts: number) => Math.min(1_000 * 2 ** attempts, 15 * 60_000);

  async function send(mail: QueuedMail): Promise<void> {
    try {
      await mailer.send(mail);
    } catch (error) {
      const giveUp = mail.attempts + 1 >= MAX_MAIL_ATTEMPTS;
      failures.inc({ outcome: giveUp ? 'gave_up' : 'retry' });
      (giveUp ? logger.error : logger.warn).call(
        logger,
        { err: error, mailId: mail.id, attempts: mail.attempts + 1 },
        giveUp ? 'mail given up' : 'mail send failed; retrying',
      );
      await store.markFailed(
        db,
        mail.id,
        (error as Error).message ?? String(error),
        backoff(mail.attempts),
        giveUp,
      );
      return;
    }
    await store.markSent(db, mail.id);
    sent.inc({ kind: mail.kind });
  }

  /** One round of the delivery loop: due mail, a batch at a time. */
  async function deliverDue(): Promise<number> {
    const due = await store.claimDue(db, leaseMs, 10);
    for (const mail of due) await send(mail);
    return due.length;
  }
  const delivery = createPollingLoop({
    name: 'mail delivery',
    intervalMs: config.recoveryIntervalMs,
    round: deliverDue,
    logger,
  });

  /**
   * Who an order event is about, and the link to the order they can open: an account's own page,
   * or for a guest the order's page with a token made for this mail.
   */
  async function buyer(
    event: CloudEvent,
    userId: string,
    orderId: string,
  ): Promise<{ to: Recipient[]; link: string }> {
    const page = `${config.publicUrl}/orders/${orderId}`;
    const address = await identity.emailOf(userId);
    if (address) return { to: [{ userId, address }], link: page };
    const guest = await orders.guestContact(orderId);
    if (guest)
      return { to: [{ address: guest.email }], link: `${page}?token=${encodeURIComponent(guest.token)}` };
    logger.warn({ eventId: event.id, userId }, 'no email address for an order notification');
    return { to: [], link: page };
  }

  /** The configured alert addresses, else the staff and admin accounts. */
  async function staff(event: CloudEvent): Promise<Recipient[]> {
    if (config.stockAlertEmails.length > 0) return config.stockAlertEmails.map((address) => ({ address }));
    const contacts = await identity.staffContacts();
    if (contacts.length === 0)
      logger.warn({ eventId: event.id }, 'no staff account to tell that stock runs low');
    return contacts.map((contact) => ({ userId: contact.userId, address: contact.email }));
  }

  /** What to send about `event` and to whom; undefined when it is nothing to mail about. */
  async function compose(event: CloudEvent): Promise<{ mail: RenderedMail; to: Recipient[] } | undefined> {
    const data = event.data;
    // Mail is signed with the shop's name as staff set it in the console.
    const shop = await deps.shopName();
    if (event.type === 'user.registered' || event.type === 'user.verification_requested') {
      const { userId, email } = data as { userId?: unknown; email?: unknown };
      if (typeof userId !== 'string' || typeof email !== 'string') return undefined;
      // The link's token is made now, for this mail only; the event never carries it.
      const token = await identity.issueEmailVerification(userId, email);
      const link = token && `${config.publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
      if (event.type === 'user.verification_requested') {
        return link
          ? { mail: renderVerificationMail(shop, { email }, link), to: [{ userId, address: email }] }
          : undefined;
      }
      return {
        mail: renderWelcomeMail(shop, data as Parameters<typeof renderWelcomeMail>[1], link),
        to: [{ userId, address: email }],
      };
    }
    if (event.type === 'user.password_reset_requested') {
      const { userId, email } = data as { userId?: unknown; email?: unknown };
      if (typeof userId !== 'string' || typeof email !== 'string') return undefined;
      const token = await identity.issuePasswordReset(userId, email);
      if (!token) return undefined;
      const link = `${config.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
      return { mail: renderPasswordResetMail(shop, { email }, link), to: [{ userId, address: email }] };
    }
    if (event.type === 'user.email_change_requested') {
      const { userId, email } = data as { userId?: unknown; email?: unknown };
      if (typeof userId !== 'string' || typeof email !== 'string') return undefined;
      const token = await identity.issueEmailChange(userId, email);
      if (!token) return undefined;
      const link = `${config.publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
      return { mail: renderEmailChangeMail(shop, { email }, link), to: [{ userId, address: email }] };
    }
    if (event.type === 'user.email_changed') {
      const { userId, previousEmail, email } = data as {
        userId?: unknown;
        previousEmail?: unknown;
        email?: unknown;
      };
      if (typeof userId !== 'string' || typeof previousEmail !== 'string' || typeof email !== 'string')
        return undefined;
      return {
        mail: renderEmailChangedMail(shop, { previousEmail, email }),
        to: [{ userId, address: previousEmail }],
      };
    }
    if (event.type === 'staff.invited') {
      const { inviteId, email, role } = data as { inviteId?: unknown; email?: unknown; role?: unknown };
      if (typeof inviteId !== 'string' || typeof email !== 'string' || typeof role !== 'string')
        return undefined;
      const token = await identity.issueStaffInvite(inviteId);
      if (!token) return undefined;
      const link = `${config.publicUrl}/admin/invite?token=${encodeURIComponent(token)}`;
      return { mail: renderStaffInviteMail(shop, { email, role }, link), to: [{ address: email }] };
    }
    if (event.type === 'draft_order.payment_requested') {
      const { draftId, userId, email, total } = data as {
        draftId?: unknown;
        userId?: unknown;
        email?: unknown;
        total?: { amount: number; currency: string };
      };
      if (typeof draftId !== 'string' || !total) return undefined;
      const address =
        typeof email === 'string'
          ? email
          : typeof userId === 'string'
            ? await identity.emailOf(userId)
            : undefined;
      const token = address && (await orders.issuePaymentLink(draftId));
      if (!address || !token) return undefined;
      const link = `${config.publicUrl}/pay?token=${encodeURIComponent(token)}`;
      return {
        mail: renderPaymentLinkMail(shop, { total }, link),
        to: [{ ...(typeof userId === 'string' ? { userId } : {}), address }],
      };
    }
    if (event.type === 'inventory.low') {
      if (typeof data.sku !== 'string') return undefined;
      return {
        mail: renderStockLowMail(shop, data as Parameters<typeof renderStockLowMail>[1]),
        to: await staff(event),
      };
    }
    const { userId, orderId } = data as { userId?: unknown; orderId?: unknown };
    if (typeof userId !== 'string' || typeof orderId !== 'string') return undefined;
    // Looked up before the transaction: PGlite has one connection, held by the transaction.
    const { to, link } = await buyer(event, userId, orderId);
    const mail = renderOrderMail(shop, event.type, { ...data, orderId }, link);
    return mail && { mail, to };
  }

  async function handle(event: CloudEvent): Promise<void> {
    const message = await compose(event);
    if (!message || message.to.length === 0) return;
    const { mail, to } = message;
    const id = `${event.id}-${mail.kind}`;
    await bus.once('notifications', (tx) =>
      store.queue(
        tx,
        {
          id,
          eventId: event.id,
          kind: mail.kind,
          from: config.mailFrom,
          // One message to everyone: it is sent, or retried, for all of them at once.
          to: to.map((recipient) => recipient.address).join(', '),
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
        },
        to.map((recipient) => ({ ...recipient, transport: mailer.transport })),
      ),
    )(event);
    // Committed: now the mail server, with no connection held. Already sent (a redelivery) or
    // being sent elsewhere: nothing is claimed.
    for (const queued of await store.claimDue(db, leaseMs, 1, id)) await send(queued);
  }

  bus.subscribe('notifications', NOTIFIED_EVENT_TYPES, handle);
  // An erased account: the mails written to it go.
  onAccountErased(bus, 'notifications', (userId) => store.eraseRecipient(db, userId));

  return {
    name: 'notifications',
    handle,
    sentTo: (userId) => store.sentTo(db, userId),
    sentFor: (eventId) => store.sentFor(db, [eventId]),
    /** The delivery loop: queued mail whose first send failed is retried until it goes or gives up. */
    start: delivery.start,
    async stop() {
      await delivery.stop();
      mailer.close();
    },
  };
}
