import path from 'node:path';
import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { CloudEvent, EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createMailer } from './mailer.ts';
import { createNotificationStore, type SentNotification } from './store.ts';
import { renderOrderMail } from './templates.ts';

export const NOTIFIED_EVENT_TYPES = [
  'order.confirmed',
  'order.cancelled',
  'order.shipped',
  'order.returned',
] as const;

export interface NotificationsModule extends AppModule {
  name: 'notifications';
  /** The bus handler, exposed so tests can deliver an event twice. */
  handle(event: CloudEvent): Promise<void>;
  sentTo(userId: string): Promise<SentNotification[]>;
}

/**
 * Emails customers about their orders. An outbox-driven consumer: the mail is sent inside the
 * inbox transaction, so a failed send is retried and a redelivered event is not mailed again.
 */
export function createNotifications(deps: {
  config: Config;
  db: Db;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  identity: { emailOf(userId: string): Promise<string | undefined> };
}): NotificationsModule {
  const { config, bus, logger, identity } = deps;
  const store = createNotificationStore(deps.db);
  const mailer = createMailer({ smtpUrl: config.smtpUrl, mailDir: path.join(config.dataDir, 'mail') });
  const sent = deps.metrics.counter('notifications_sent_total', 'Notification emails sent', ['kind']);

  async function handle(event: CloudEvent): Promise<void> {
    const data = event.data as { orderId?: string; userId?: string };
    if (typeof data.userId !== 'string' || typeof data.orderId !== 'string') return;
    const mail = renderOrderMail(event.type, { ...event.data, orderId: data.orderId });
    if (!mail) return;
    // Looked up before the transaction: PGlite has one connection, held by the transaction.
    const to = await identity.emailOf(data.userId);
    if (!to) {
      logger.warn({ eventId: event.id, userId: data.userId }, 'no email address for an order notification');
      return;
    }
    const userId = data.userId;
    await bus.once('notifications', async (tx) => {
      await store.record(tx, {
        eventId: event.id,
        kind: mail.kind,
        userId,
        recipient: to,
        transport: mailer.transport,
      });
      await mailer.send({ id: `${event.id}-${mail.kind}`, from: config.mailFrom, to, ...mail });
      sent.inc({ kind: mail.kind });
    })(event);
  }

  bus.subscribe('notifications', NOTIFIED_EVENT_TYPES, handle);

  return {
    name: 'notifications',
    handle,
    sentTo: store.sentTo,
    stop: () => mailer.close(),
  };
}
