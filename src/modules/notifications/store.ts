import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

export type MailStatus = 'queued' | 'sent' | 'failed';

type NotificationTables = {
  notification_log: {
    event_id: string;
    kind: string;
    user_id: string | null;
    recipient: string;
    transport: string;
    sent_at: Generated<Date>;
  };
  mail_queue: {
    id: string;
    event_id: string;
    kind: string;
    sender: string;
    recipients: string;
    subject: string;
    text_body: string;
    html_body: string;
    status: Generated<MailStatus>;
    attempts: Generated<number>;
    next_attempt_at: Generated<Date>;
    last_error: string | null;
    created_at: Generated<Date>;
    sent_at: Date | null;
  };
};

/** Who was told of what, and whether the mail has gone. */
export interface SentNotification {
  eventId: string;
  kind: string;
  recipient: string;
  transport: string;
  status: MailStatus;
  /** When the mail server took it; null while it waits. */
  sentAt: string | null;
}

/** A message waiting for the mail server. */
export interface QueuedMail {
  id: string;
  kind: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  attempts: number;
}

const tables = (executor: Db): Kysely<NotificationTables> => executor.withTables<NotificationTables>();

const inMs = (ms: number) => sql<Date>`now() + ${`${Math.max(0, Math.round(ms))} milliseconds`}::interval`;

const queuedColumns = [
  'id',
  'kind',
  'sender as from',
  'recipients as to',
  'subject',
  'text_body as text',
  'html_body as html',
  'attempts',
] as const;

/** The mail logged for these users or these events, oldest first. */
async function sent(
  executor: Db,
  column: 'user_id' | 'event_id',
  values: readonly string[],
): Promise<SentNotification[]> {
  if (values.length === 0) return [];
  const rows = await tables(executor)
    .selectFrom('notification_log as log')
    // Mail logged before the queue existed has no queue row: it was sent when it was logged.
    .leftJoin('mail_queue as mail', (join) =>
      join.onRef('mail.event_id', '=', 'log.event_id').onRef('mail.kind', '=', 'log.kind'),
    )
    .where(`log.${column}`, 'in', [...values])
    .select([
      'log.event_id as eventId',
      'log.kind',
      'log.recipient',
      'log.transport',
      'log.sent_at as loggedAt',
      'mail.status',
      'mail.sent_at as mailSentAt',
      'mail.id as mailId',
    ])
    .orderBy('log.sent_at')
    .orderBy('log.recipient')
    .execute();
  return rows.map((row) => ({
    eventId: row.eventId,
    kind: row.kind,
    recipient: row.recipient,
    transport: row.transport,
    status: row.status ?? 'sent',
    sentAt: (row.mailId ? row.mailSentAt : row.loggedAt)?.toISOString() ?? null,
  }));
}

export const notificationStore = {
  /** Logs who is told of an event and queues the one message to them all (the caller's transaction). */
  async queue(
    tx: Db,
    mail: Omit<QueuedMail, 'attempts'> & { eventId: string },
    recipients: Array<{ userId?: string; address: string; transport: string }>,
  ): Promise<void> {
    await tables(tx)
      .insertInto('notification_log')
      .values(
        recipients.map((recipient) => ({
          event_id: mail.eventId,
          kind: mail.kind,
          user_id: recipient.userId ?? null,
          recipient: recipient.address,
          transport: recipient.transport,
        })),
      )
      .execute();
    await tables(tx)
      .insertInto('mail_queue')
      .values({
        id: mail.id,
        event_id: mail.eventId,
        kind: mail.kind,
        sender: mail.from,
        recipients: mail.to,
        subject: mail.subject,
        text_body: mail.text,
        html_body: mail.html,
        last_error: null,
        sent_at: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  },

  /**
   * Claims queued mail that is due, one message when `id` is given, pushing its next attempt
   * `leaseMs` ahead in the same statement: a second sender (the handler, the loop, another worker)
   * skips what one is sending.
   */
  async claimDue(executor: Db, leaseMs: number, limit: number, id?: string): Promise<QueuedMail[]> {
    return tables(executor)
      .updateTable('mail_queue')
      .set({ next_attempt_at: inMs(leaseMs) })
      .where('id', 'in', (eb) => {
        let due = eb
          .selectFrom('mail_queue')
          .select('id')
          .where('status', '=', 'queued')
          .where('next_attempt_at', '<=', sql<Date>`now()`);
        if (id) due = due.where('id', '=', id);
        return due.orderBy('next_attempt_at').limit(limit).forUpdate().skipLocked();
      })
      .returning(queuedColumns)
      .execute();
  },

  async markSent(executor: Db, id: string): Promise<void> {
    await tables(executor)
      .updateTable('mail_queue')
      .set({ status: 'sent', sent_at: sql<Date>`now()`, last_error: null })
      .where('id', '=', id)
      .execute();
  },

  /** A failed send: counted, retried after `retryInMs`, or given up (`failed`) when `giveUp`. */
  async markFailed(
    executor: Db,
    id: string,
    error: string,
    retryInMs: number,
    giveUp: boolean,
  ): Promise<void> {
    await tables(executor)
      .updateTable('mail_queue')
      .set((eb) => ({
        status: giveUp ? 'failed' : 'queued',
        attempts: eb('attempts', '+', 1),
        last_error: error.slice(0, 500),
        next_attempt_at: inMs(retryInMs),
      }))
      .where('id', '=', id)
      .execute();
  },

  sentTo: (executor: Db, userId: string) => sent(executor, 'user_id', [userId]),

  /**
   * An erased account: the mails written to it (their bodies name and address the person) are
   * deleted, and the log keeps that a mail of each kind went, not to which address.
   */
  async eraseRecipient(executor: Db, userId: string): Promise<void> {
    await tables(executor)
      .deleteFrom('mail_queue')
      .where(({ eb, refTuple, selectFrom }) =>
        eb(
          refTuple('event_id', 'kind'),
          'in',
          selectFrom('notification_log')
            .select(['notification_log.event_id', 'notification_log.kind'])
            .where('notification_log.user_id', '=', userId)
            .$asTuple('event_id', 'kind'),
        ),
      )
      .execute();
    await tables(executor)
      .updateTable('notification_log')
      .set({ recipient: sql`'erased-' || event_id::text` })
      .where('user_id', '=', userId)
      .execute();
  },

  sentFor: (executor: Db, eventIds: readonly string[]) => sent(executor, 'event_id', eventIds),
};
