import path from 'node:path';
import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { CloudEvent, EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createMailer } from './mailer.ts';
import { createNotificationStore, type SentNotification } from './store.ts';
import {
  type RenderedMail,
  renderOrderMail,
  renderStockLowMail,
  renderVerificationMail,
  renderWelcomeMail,
} from './templates.ts';

export const NOTIFIED_EVENT_TYPES = [
  'order.confirmed',
  'order.cancelled',
  'order.shipped',
  'order.returned',
  'user.registered',
  'user.verification_requested',
  'inventory.low',
] as const;

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

/**
 * Emails customers about their accounts and orders, and the shop's staff about stock running low.
 * An outbox-driven consumer: the mail is sent inside the inbox transaction, so a failed send is
 * retried and a redelivered event is not mailed again.
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
  };
}): NotificationsModule {
  const { config, bus, logger, identity } = deps;
  const store = createNotificationStore(deps.db);
  const mailer = createMailer({ smtpUrl: config.smtpUrl, mailDir: path.join(config.dataDir, 'mail') });
  const sent = deps.metrics.counter('notifications_sent_total', 'Notification emails sent', ['kind']);

  /** The customer an order event is about. */
  async function buyer(event: CloudEvent, userId: string): Promise<Recipient[]> {
    const address = await identity.emailOf(userId);
    if (!address) logger.warn({ eventId: event.id, userId }, 'no email address for an order notification');
    return address ? [{ userId, address }] : [];
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
    if (event.type === 'user.registered' || event.type === 'user.verification_requested') {
      const { userId, email } = data as { userId?: unknown; email?: unknown };
      if (typeof userId !== 'string' || typeof email !== 'string') return undefined;
      // The link's token is made now, for this mail only; the event never carries it.
      const token = await identity.issueEmailVerification(userId, email);
      const link = token && `${config.publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
      if (event.type === 'user.verification_requested') {
        return link
          ? { mail: renderVerificationMail({ email }, link), to: [{ userId, address: email }] }
          : undefined;
      }
      return {
        mail: renderWelcomeMail(data as Parameters<typeof renderWelcomeMail>[0], link),
        to: [{ userId, address: email }],
      };
    }
    if (event.type === 'inventory.low') {
      if (typeof data.sku !== 'string') return undefined;
      return {
        mail: renderStockLowMail(data as Parameters<typeof renderStockLowMail>[0]),
        to: await staff(event),
      };
    }
    const { userId, orderId } = data as { userId?: unknown; orderId?: unknown };
    if (typeof userId !== 'string' || typeof orderId !== 'string') return undefined;
    const mail = renderOrderMail(event.type, { ...data, orderId }, `${config.publicUrl}/orders/${orderId}`);
    // Looked up before the transaction: PGlite has one connection, held by the transaction.
    return mail && { mail, to: await buyer(event, userId) };
  }

  async function handle(event: CloudEvent): Promise<void> {
    const message = await compose(event);
    if (!message || message.to.length === 0) return;
    const { mail, to } = message;
    await bus.once('notifications', async (tx) => {
      await store.record(
        tx,
        to.map((recipient) => ({
          eventId: event.id,
          kind: mail.kind,
          userId: recipient.userId,
          recipient: recipient.address,
          transport: mailer.transport,
        })),
      );
      // One message to everyone: a failed send rolls back every recipient's row, never some.
      const addresses = to.map((recipient) => recipient.address).join(', ');
      await mailer.send({ id: `${event.id}-${mail.kind}`, from: config.mailFrom, to: addresses, ...mail });
      sent.inc({ kind: mail.kind });
    })(event);
  }

  bus.subscribe('notifications', NOTIFIED_EVENT_TYPES, handle);

  return {
    name: 'notifications',
    handle,
    sentTo: store.sentTo,
    sentFor: store.sentFor,
    stop: () => mailer.close(),
  };
}
