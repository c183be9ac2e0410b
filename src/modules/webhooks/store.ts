import { type Generated, type Kysely, sql } from 'kysely';
import { type Db, pageOf } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { AttemptResult } from './sender.ts';
import { subscriptionsOf } from './subscriptions.ts';

type WebhookTables = {
  webhook_endpoints: {
    id: string;
    url: string;
    events: unknown;
    secret: string;
    created_by: string | null;
    created_at: Generated<Date>;
  };
  webhook_deliveries: {
    id: string;
    endpoint_id: string;
    event_id: string;
    event_type: string;
    payload: string;
    status: Generated<DeliveryStatus>;
    attempts: Generated<number>;
    next_attempt_at: Generated<Date>;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  webhook_attempts: {
    id: string;
    delivery_id: string;
    attempted_at: Generated<Date>;
    succeeded: boolean;
    status_code: number | null;
    latency_ms: number;
    response_snippet: string | null;
    error: string | null;
  };
};

export type DeliveryStatus = 'pending' | 'succeeded' | 'dead';

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface Attempt {
  at: string;
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseSnippet: string | null;
  error: string | null;
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  nextAttemptAt: string | null;
  createdAt: string;
  attempts: Attempt[];
}

/** A delivery claimed by a worker, with what it needs to send it. */
export interface DueDelivery {
  id: string;
  eventId: string;
  payload: string;
  attempts: number;
  url: string;
  secret: string;
}

const toEndpoint = (row: { id: string; url: string; events: unknown; createdAt: Date }): Endpoint => ({
  id: row.id,
  url: row.url,
  events: row.events as string[],
  createdAt: row.createdAt.toISOString(),
});

const tables = (executor: Db): Kysely<WebhookTables> => executor.withTables<WebhookTables>();

const endpointColumns = ['id', 'url', 'events', 'created_at as createdAt'] as const;
const deliveryColumns = [
  'id',
  'event_id as eventId',
  'event_type as eventType',
  'status',
  'next_attempt_at as nextAttemptAt',
  'created_at as createdAt',
] as const;

async function attemptsOf(executor: Db, deliveryIds: string[]): Promise<Map<string, Attempt[]>> {
  const byDelivery = new Map<string, Attempt[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await tables(executor)
    .selectFrom('webhook_attempts')
    .select([
      'delivery_id as deliveryId',
      'attempted_at as attemptedAt',
      'succeeded',
      'status_code as statusCode',
      'latency_ms as latencyMs',
      'response_snippet as responseSnippet',
      'error',
    ])
    .where('delivery_id', 'in', deliveryIds)
    .orderBy('attempted_at')
    .orderBy('id')
    .execute();
  for (const { deliveryId, attemptedAt, ...attempt } of rows) {
    const list = byDelivery.get(deliveryId) ?? [];
    list.push({ at: attemptedAt.toISOString(), ...attempt });
    byDelivery.set(deliveryId, list);
  }
  return byDelivery;
}

async function withAttempts(
  executor: Db,
  rows: Array<{
    id: string;
    eventId: string;
    eventType: string;
    status: DeliveryStatus;
    nextAttemptAt: Date;
    createdAt: Date;
  }>,
): Promise<Delivery[]> {
  const attempts = await attemptsOf(
    executor,
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({
    ...row,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    attempts: attempts.get(row.id) ?? [],
  }));
}

export const webhookStore = {
  async insertEndpoint(
    executor: Db,
    input: { url: string; events: string[]; secret: string; createdBy: string },
  ): Promise<Endpoint> {
    const row = await tables(executor)
      .insertInto('webhook_endpoints')
      .values({
        id: uuidv7(),
        url: input.url,
        events: JSON.stringify(input.events),
        secret: input.secret,
        created_by: input.createdBy,
      })
      .returning(endpointColumns)
      .executeTakeFirstOrThrow();
    return toEndpoint(row);
  },

  /** Endpoints oldest first (the order they were made in), with their total. */
  async listEndpoints(executor: Db, page: { offset: number; limit: number }) {
    const { rows, total } = await pageOf(
      tables(executor).selectFrom('webhook_endpoints'),
      (all) => all.select(endpointColumns),
      page,
      { by: 'created_at', direction: 'asc' },
    );
    return { items: rows.map(toEndpoint), total };
  },

  async endpointExists(executor: Db, id: string): Promise<boolean> {
    return !!(await tables(executor)
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst());
  },

  /** One pending delivery per endpoint subscribed to the type; a repeat for the same event is a no-op. */
  /**
   * Deletes the deliveries (and their attempts) of events whose data names `userId`, all but
   * those of the `keep` types. The payload is the sent text, read as JSON here; erasure is rare,
   * so a scan is fine.
   */
  async forgetUser(executor: Db, userId: string, keep: readonly string[]): Promise<number> {
    const result = await tables(executor)
      .deleteFrom('webhook_deliveries')
      .where(sql<string>`(payload::jsonb -> 'data' ->> 'userId')`, '=', userId)
      .where('event_type', 'not in', [...keep])
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  async createDeliveries(
    executor: Db,
    event: { id: string; type: string; payload: string },
  ): Promise<number> {
    const endpoints = await tables(executor)
      .selectFrom('webhook_endpoints')
      .select('id')
      // Subscribed by name, by a prefix wildcard or by "*": any of them in the endpoint's list.
      .where(sql<boolean>`events ?| ${subscriptionsOf(event.type)}::text[]`)
      .execute();
    if (endpoints.length === 0) return 0;
    const result = await tables(executor)
      .insertInto('webhook_deliveries')
      .values(
        endpoints.map((endpoint) => ({
          id: uuidv7(),
          endpoint_id: endpoint.id,
          event_id: event.id,
          event_type: event.type,
          payload: event.payload,
        })),
      )
      .onConflict((conflict) => conflict.columns(['endpoint_id', 'event_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n);
  },

  /**
   * Claims due deliveries by pushing their next attempt out by the lease: concurrent workers
   * skip each other's rows, and a worker that dies leaves them due again when the lease ends.
   */
  async claimDue(executor: Db, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    const { rows } = await sql<DueDelivery>`
      update webhook_deliveries d
      set next_attempt_at = now() + ${`${leaseMs} milliseconds`}::interval, updated_at = now()
      from webhook_endpoints e
      where e.id = d.endpoint_id and d.id in (
        select id from webhook_deliveries
        where status = 'pending' and next_attempt_at <= now()
        order by next_attempt_at
        limit ${limit}
        for update skip locked
      )
      returning d.id, d.event_id as "eventId", d.payload, d.attempts, e.url, e.secret`.execute(executor);
    return rows;
  },

  /** Records an attempt and the delivery's next state; the caller runs it in one transaction. */
  async recordAttempt(
    executor: Db,
    deliveryId: string,
    result: AttemptResult,
    next: { status: DeliveryStatus; attempts: number; retryInMs: number },
  ): Promise<void> {
    await tables(executor)
      .insertInto('webhook_attempts')
      .values({
        id: uuidv7(),
        delivery_id: deliveryId,
        succeeded: result.succeeded,
        status_code: result.statusCode,
        latency_ms: result.latencyMs,
        response_snippet: result.responseSnippet,
        error: result.error?.slice(0, 1000) ?? null,
      })
      .execute();
    await tables(executor)
      .updateTable('webhook_deliveries')
      .set({
        status: next.status,
        attempts: next.attempts,
        next_attempt_at: sql<Date>`now() + ${`${next.retryInMs} milliseconds`}::interval`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', deliveryId)
      .execute();
  },

  /** An endpoint's deliveries newest first, each with its attempts, and their total. */
  async listDeliveries(executor: Db, endpointId: string, page: { offset: number; limit: number }) {
    const { rows, total } = await pageOf(
      tables(executor).selectFrom('webhook_deliveries').where('endpoint_id', '=', endpointId),
      (filtered) => filtered.select(deliveryColumns),
      page,
    );
    return { items: await withAttempts(executor, rows), total };
  },

  /** The deliveries of these events to every endpoint, oldest first, each with its URL and attempts. */
  async deliveriesOfEvents(executor: Db, eventIds: readonly string[]) {
    if (eventIds.length === 0) return [];
    const rows = await tables(executor)
      .selectFrom('webhook_deliveries')
      .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
      .select([
        ...deliveryColumns.map((column) => `webhook_deliveries.${column}` as const),
        'webhook_endpoints.id as endpointId',
        'webhook_endpoints.url',
      ])
      .where('webhook_deliveries.event_id', 'in', [...eventIds])
      .orderBy('webhook_deliveries.created_at')
      .orderBy('webhook_deliveries.id')
      .execute();
    const delivered = await withAttempts(executor, rows);
    return delivered.map((delivery, index) => ({
      ...delivery,
      endpointId: rows[index].endpointId,
      url: rows[index].url,
    }));
  },

  /** Makes a delivery due now with a fresh retry budget; undefined when it is not the endpoint's. */
  async replay(executor: Db, endpointId: string, deliveryId: string): Promise<Delivery | undefined> {
    const row = await tables(executor)
      .updateTable('webhook_deliveries')
      .set({
        status: 'pending',
        attempts: 0,
        next_attempt_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', endpointId)
      .returning(deliveryColumns)
      .executeTakeFirst();
    return row && (await withAttempts(executor, [row]))[0];
  },
};
