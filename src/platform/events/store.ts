import { type Generated, type Kysely, type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { CloudEvent } from './types.ts';

type EventTables = {
  outbox: {
    seq: Generated<number>;
    id: string;
    type: string;
    source: string;
    subject: string;
    time: Generated<Date>;
    data: unknown;
    attempts: Generated<number>;
    last_error: string | null;
    published_at: Date | null;
    dead_lettered_at: Date | null;
  };
  inbox: { consumer: string; event_id: string; processed_at: Generated<Date> };
  leases: { name: string; holder: string; expires_at: Date };
};

const tables = (executor: Db): Kysely<EventTables> => executor.withTables<EventTables>();

export interface PendingEvent extends CloudEvent {
  seq: number;
  attempts: number;
}

const eventColumns = ['seq', 'id', 'type', 'source', 'subject', 'time', 'data', 'attempts'] as const;

function toEvent(row: {
  seq: number;
  id: string;
  type: string;
  source: string;
  subject: string;
  time: Date;
  data: unknown;
  attempts: number;
}): PendingEvent {
  return {
    specversion: '1.0',
    id: row.id,
    type: row.type,
    source: row.source,
    subject: row.subject,
    time: row.time.toISOString(),
    datacontenttype: 'application/json',
    data: row.data as Record<string, unknown>,
    seq: row.seq,
    attempts: row.attempts,
  };
}

/**
 * Events written as one data-modifying part (a CTE) of another module's statement: the state
 * change and its events in one round trip. `ifRowsIn` names the statement's CTE whose rows decide:
 * the events are written only when it has some (a conditional update that happened).
 */
export type EventsWrite = (ifRowsIn?: string) => RawBuilder<unknown>;

export const eventStore = {
  appending(events: CloudEvent[]): EventsWrite {
    // In parentheses: Kysely writes a raw CTE body as it is.
    return (ifRowsIn) => sql`(
      insert into outbox (id, type, source, subject, time, data)
      select e.id, e.type, e.source, e.subject, e.time, e.data::jsonb
      from unnest(${events.map((event) => event.id)}::uuid[], ${events.map((event) => event.type)}::text[],
                  ${events.map((event) => event.source)}::text[], ${events.map((event) => event.subject)}::text[],
                  ${events.map((event) => event.time)}::timestamptz[],
                  ${events.map((event) => JSON.stringify(event.data))}::text[])
        with ordinality as e(id, type, source, subject, time, data, position)
      ${ifRowsIn ? sql`where exists (select 1 from ${sql.table(ifRowsIn)})` : sql``}
      order by e.position)`;
  },

  async append(executor: Db, events: CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    await tables(executor)
      .insertInto('outbox')
      .values(
        events.map((event) => ({
          id: event.id,
          type: event.type,
          source: event.source,
          subject: event.subject,
          time: new Date(event.time),
          data: JSON.stringify(event.data),
          last_error: null,
          published_at: null,
          dead_lettered_at: null,
        })),
      )
      .execute();
  },

  async pending(executor: Db, limit: number): Promise<PendingEvent[]> {
    const rows = await tables(executor)
      .selectFrom('outbox')
      .select(eventColumns)
      .where('published_at', 'is', null)
      .where('dead_lettered_at', 'is', null)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  },

  async markPublished(executor: Db, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    await tables(executor)
      .updateTable('outbox')
      .set({ published_at: sql`now()` })
      .where('seq', 'in', seqs)
      .execute();
  },

  async markFailed(executor: Db, seq: number, error: string, deadLetter: boolean): Promise<void> {
    await tables(executor)
      .updateTable('outbox')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        last_error: error.slice(0, 1000),
        dead_lettered_at: deadLetter ? sql<Date>`now()` : null,
      }))
      .where('seq', '=', seq)
      .execute();
  },

  /** Records that `consumer` processed `eventId`; false when it already had (a redelivery). */
  async claimInbox(executor: Db, consumer: string, eventId: string): Promise<boolean> {
    const result = await tables(executor)
      .insertInto('inbox')
      .values({ consumer, event_id: eventId })
      .onConflict((conflict) => conflict.columns(['consumer', 'event_id']).doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  },

  /** Takes or renews a lease in one statement; true when `holder` holds it afterwards. */
  async acquireLease(executor: Db, name: string, holder: string, ttlMs: number): Promise<boolean> {
    const expires = sql<Date>`now() + ${`${ttlMs} milliseconds`}::interval`;
    const row = await tables(executor)
      .insertInto('leases')
      .values({ name, holder, expires_at: expires })
      .onConflict((conflict) =>
        conflict
          .column('name')
          .doUpdateSet({ holder, expires_at: expires })
          .where((eb) =>
            eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', sql<Date>`now()`)]),
          ),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  },

  async releaseLease(executor: Db, name: string, holder: string): Promise<void> {
    await tables(executor)
      .deleteFrom('leases')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute();
  },

  /**
   * Deletes the events already relayed (or given up on) whose data names `userId`, all but those
   * of the `keep` types. Erasure is rare: a scan of the outbox is fine.
   */
  async forgetUser(executor: Db, userId: string, keep: readonly string[]): Promise<number> {
    const result = await tables(executor)
      .deleteFrom('outbox')
      .where(sql<string>`data->>'userId'`, '=', userId)
      .where('type', 'not in', [...keep])
      .where((where) =>
        where.or([where('published_at', 'is not', null), where('dead_lettered_at', 'is not', null)]),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  async events(executor: Db, filter: { subject?: string; type?: string } = {}): Promise<PendingEvent[]> {
    let query = tables(executor).selectFrom('outbox').select(eventColumns).orderBy('seq');
    if (filter.subject) query = query.where('subject', '=', filter.subject);
    if (filter.type) query = query.where('type', '=', filter.type);
    return (await query.execute()).map(toEvent);
  },
};
