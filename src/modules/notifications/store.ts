import type { Generated, Kysely } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

type NotificationTables = {
  notification_log: {
    event_id: string;
    kind: string;
    user_id: string | null;
    recipient: string;
    transport: string;
    sent_at: Generated<Date>;
  };
};

export interface SentNotification {
  eventId: string;
  kind: string;
  recipient: string;
  transport: string;
  sentAt: string;
}

export function createNotificationStore(database: Db) {
  const tables = (executor: Db): Kysely<NotificationTables> => executor.withTables<NotificationTables>();
  /** The mail logged for one user or one event, oldest first. */
  async function sent(column: 'user_id' | 'event_id', value: string): Promise<SentNotification[]> {
    const rows = await tables(database)
      .selectFrom('notification_log')
      .where(column, '=', value)
      .select(['event_id', 'kind', 'recipient', 'transport', 'sent_at'])
      .orderBy('sent_at')
      .orderBy('recipient')
      .execute();
    return rows.map((row) => ({
      eventId: row.event_id,
      kind: row.kind,
      recipient: row.recipient,
      transport: row.transport,
      sentAt: row.sent_at.toISOString(),
    }));
  }

  return {
    async record(
      tx: Db,
      entries: Array<{
        eventId: string;
        kind: string;
        userId?: string;
        recipient: string;
        transport: string;
      }>,
    ): Promise<void> {
      await tables(tx)
        .insertInto('notification_log')
        .values(
          entries.map((entry) => ({
            event_id: entry.eventId,
            kind: entry.kind,
            user_id: entry.userId ?? null,
            recipient: entry.recipient,
            transport: entry.transport,
          })),
        )
        .execute();
    },

    sentTo: (userId: string) => sent('user_id', userId),

    sentFor: (eventId: string) => sent('event_id', eventId),
  };
}
