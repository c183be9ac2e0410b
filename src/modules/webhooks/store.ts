import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
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

const toEndpoint = (row: { id: string; url: string; events: unknown; created_at: Date }): Endpoint => ({
  id: row.id,
  url: row.url,
  events: row.events as string[],
  createdAt: row.created_at.toISOString(),
});

export function createWebhookStore(database: Db) {
  const tables = (executor: Db): Kysely<WebhookTables> => executor.withTables<WebhookTables>();
  const db = tables(database);

  async function attemptsOf(deliveryIds: string[]): Promise<Map<string, Attempt[]>> {
    const byDelivery = new Map<string, Attempt[]>();
    if (deliveryIds.length === 0) return byDelivery;
    const rows = await db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', 'in', deliveryIds)
      .orderBy('attempted_at')
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const list = byDelivery.get(row.delivery_id) ?? [];
      list.push({
        at: row.attempted_at.toISOString(),
        succeeded: row.succeeded,
        statusCode: row.status_code,
        latencyMs: row.latency_ms,
        responseSnippet: row.response_snippet,
        error: row.error,
      });
      byDelivery.set(row.delivery_id, list);
    }
    return byDelivery;
  }

  return {
    async insertEndpoint(input: { url: string; events: string[]; secret: string; createdBy: string }) {
      const row = await db
        .insertInto('webhook_endpoints')
        .values({
          id: uuidv7(),
          url: input.url,
          events: JSON.stringify(input.events),
          secret: input.secret,
          created_by: input.createdBy,
        })
        .returning(['id', 'url', 'events', 'created_at'])
        .executeTakeFirstOrThrow();
      return toEndpoint(row);
    },

    async listEndpoints(limit: number, offset: number): Promise<{ items: Endpoint[]; total: number }> {
      const rows = await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'url', 'events', 'created_at'])
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .offset(offset)
        .execute();
      const { total } = await db
        .selectFrom('webhook_endpoints')
        .select(sql<number>`count(*)::int`.as('total'))
        .executeTakeFirstOrThrow();
      return { items: rows.map(toEndpoint), total };
    },

    async endpointExists(id: string): Promise<boolean> {
      return !!(await db
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst());
    },

    /** One pending delivery per endpoint subscribed to the type; a repeat for the same event is a no-op. */
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
    async claimDue(limit: number, leaseMs: number): Promise<DueDelivery[]> {
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
        returning d.id, d.event_id as "eventId", d.payload, d.attempts, e.url, e.secret`.execute(database);
      return rows;
    },

    /** Records an attempt and the delivery's next state in one transaction. */
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

    async listDeliveries(endpointId: string, limit: number, offset: number) {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .select(['id', 'event_id', 'event_type', 'status', 'next_attempt_at', 'created_at'])
        .where('endpoint_id', '=', endpointId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute();
      const { total } = await db
        .selectFrom('webhook_deliveries')
        .select(sql<number>`count(*)::int`.as('total'))
        .where('endpoint_id', '=', endpointId)
        .executeTakeFirstOrThrow();
      const attempts = await attemptsOf(rows.map((row) => row.id));
      const items: Delivery[] = rows.map((row) => ({
        id: row.id,
        eventId: row.event_id,
        eventType: row.event_type,
        status: row.status,
        nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
        createdAt: row.created_at.toISOString(),
        attempts: attempts.get(row.id) ?? [],
      }));
      return { items, total };
    },

    /** Makes a delivery due now with a fresh retry budget; undefined when it is not the endpoint's. */
    async replay(endpointId: string, deliveryId: string): Promise<Delivery | undefined> {
      const row = await db
        .updateTable('webhook_deliveries')
        .set({
          status: 'pending',
          attempts: 0,
          next_attempt_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', deliveryId)
        .where('endpoint_id', '=', endpointId)
        .returning(['id', 'event_id', 'event_type', 'status', 'next_attempt_at', 'created_at'])
        .executeTakeFirst();
      if (!row) return undefined;
      const attempts = await attemptsOf([row.id]);
      return {
        id: row.id,
        eventId: row.event_id,
        eventType: row.event_type,
        status: row.status,
        nextAttemptAt: row.next_attempt_at.toISOString(),
        createdAt: row.created_at.toISOString(),
        attempts: attempts.get(row.id) ?? [],
      };
    },
  };
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;
