import type { Generated, Kysely } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

type NotificationTables = {
  notification_log: {
    event_id: string;
    kind: string;
    user_id: string;
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
  return {
    async record(
      tx: Db,
      entry: { eventId: string; kind: string; userId: string; recipient: string; transport: string },
    ): Promise<void> {
      await tables(tx)
        .insertInto('notification_log')
        .values({
          event_id: entry.eventId,
          kind: entry.kind,
          user_id: entry.userId,
          recipient: entry.recipient,
          transport: entry.transport,
        })
        .execute();
    },

    async sentTo(userId: string): Promise<SentNotification[]> {
      const rows = await tables(database)
        .selectFrom('notification_log')
        .select(['event_id', 'kind', 'user_id', 'recipient', 'transport', 'sent_at'])
        .where('user_id', '=', userId)
        .orderBy('sent_at')
        .execute();
      return rows.map((row) => ({
        eventId: row.event_id,
        kind: row.kind,
        recipient: row.recipient,
        transport: row.transport,
        sentAt: row.sent_at.toISOString(),
      }));
    },
  };
}
