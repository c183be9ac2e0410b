import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { runWithContext } from '../context.ts';
import { transact } from '../db/index.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createEventBus } from './bus.ts';
import { type CloudEvent, cloudEvent } from './types.ts';

describe.each(dbKinds)('event bus on %s', (kind) => {
  const opened: TestDatabase[] = [];
  const fresh = async () => {
    const database = await createTestDatabase(kind);
    opened.push(database);
    return database;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((database) => database.dispose()));
  });
  const busOn = (database: TestDatabase, maxAttempts = 10) =>
    createEventBus({
      db: database.db,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      maxAttempts,
    });

  it('delivers only events whose transaction committed', async () => {
    const database = await fresh();
    const bus = busOn(database);
    const seen: string[] = [];
    bus.subscribe('test', '*', async (event) => {
      seen.push(event.type);
    });
    await transact(database.db, (tx) => bus.append(tx, [cloudEvent('/test', 'kept', 'a', {})]));
    await expect(
      transact(database.db, async (tx) => {
        await bus.append(tx, [cloudEvent('/test', 'rolled.back', 'a', {})]);
        throw new Error('abort the change');
      }),
    ).rejects.toThrow('abort the change');
    await bus.relayOnce();
    expect(seen).toEqual(['kept']);
  });

  it('writes events inside another statement, in order, only when the change it names happened', async () => {
    const database = await fresh();
    const bus = busOn(database);
    const seen: string[] = [];
    bus.subscribe('test', '*', async (event) => {
      seen.push(`${event.type}:${JSON.stringify(event.data)}`);
    });
    await sql`create table things (id int primary key, state text)`.execute(database.db);
    await sql`insert into things values (1, 'new')`.execute(database.db);
    const move = (from: string, to: string, events: CloudEvent[]) =>
      sql`with moved as (update things set state = ${to} where id = 1 and state = ${from} returning id),
               announced as ${bus.appending(events)('moved')}
          select count(*)::int as moved from moved`.execute(database.db);
    const first = [
      cloudEvent('/test', 'thing.done', '1', { n: 1 }),
      cloudEvent('/test', 'thing.told', '1', { n: 2 }),
    ];
    expect((await move('new', 'done', first)).rows).toEqual([{ moved: 1 }]);
    // The update finds nothing to move the second time: its events are not written.
    expect((await move('new', 'done', [cloudEvent('/test', 'thing.again', '1', {})])).rows).toEqual([
      { moved: 0 },
    ]);
    await bus.relayOnce();
    expect(seen).toEqual(['thing.done:{"n":1}', 'thing.told:{"n":2}']);
  });

  it('redelivers after a failure, holding back later events of the same subject only', async () => {
    const database = await fresh();
    const bus = busOn(database);
    const seen: string[] = [];
    let failNext = true;
    bus.subscribe('test', '*', async (event) => {
      if (event.subject === 'a' && failNext) {
        failNext = false;
        throw new Error('consumer down');
      }
      seen.push(`${event.subject}:${event.type}`);
    });
    await bus.append(database.db, [
      cloudEvent('/test', 'one', 'a', {}),
      cloudEvent('/test', 'two', 'a', {}),
      cloudEvent('/test', 'one', 'b', {}),
    ]);
    await bus.relayOnce();
    expect(seen).toEqual(['b:one']);
    await bus.relayOnce();
    expect(seen).toEqual(['b:one', 'a:one', 'a:two']);
    await bus.relayOnce();
    expect(seen).toHaveLength(3);
  });

  it('gives a consumer each event once, even when it is delivered twice', async () => {
    const database = await fresh();
    const bus = busOn(database);
    await sql`create table effects (event_id uuid primary key)`.execute(database.db);
    const handler = bus.once('counter', async (tx, event) => {
      await sql`insert into effects values (${event.id})`.execute(tx);
    });
    const event = cloudEvent('/test', 'counted', 'x', {});
    await handler(event);
    await handler(event);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from effects`.execute(database.db);
    expect(rows[0].n).toBe(1);
  });

  it('dead-letters an event after its last attempt so its subject moves on', async () => {
    const database = await fresh();
    const bus = busOn(database, 2);
    const seen: string[] = [];
    bus.subscribe('test', '*', async (event) => {
      if (event.type === 'poison') throw new Error('cannot handle');
      seen.push(event.type);
    });
    await bus.append(database.db, [
      cloudEvent('/test', 'poison', 'a', {}),
      cloudEvent('/test', 'after', 'a', {}),
    ]);
    await bus.relayOnce();
    expect(seen).toEqual([]);
    await bus.relayOnce();
    expect(seen).toEqual(['after']);
    const { rows } = await sql<{
      dead: number;
    }>`select count(*)::int as dead from outbox where dead_lettered_at is not null`.execute(database.db);
    expect(rows[0].dead).toBe(1);
  });

  it('counts published, consumed, failed and dead-lettered events and the outbox lag', async () => {
    const database = await fresh();
    const metrics = createMetrics();
    const bus = createEventBus({ db: database.db, logger: createLogger('silent'), metrics, maxAttempts: 1 });
    bus.subscribe('counter', '*', async (event) => {
      if (event.type === 'poison') throw new Error('cannot handle');
    });
    await bus.append(database.db, [
      cloudEvent('/test', 'fine', 'a', {}),
      cloudEvent('/test', 'fine', 'b', {}),
      cloudEvent('/test', 'poison', 'c', {}),
    ]);
    await bus.relayOnce();
    const text = await metrics.registry.metrics();
    expect(text).toContain('events_published_total{type="fine"} 2');
    expect(text).toContain('events_consumed_total{consumer="counter"} 2');
    expect(text).toContain('events_consumer_failures_total{consumer="counter"} 1');
    expect(text).toContain('events_dead_lettered_total{consumer="relay"} 1');
    expect(text).toMatch(/events_outbox_lag_seconds \d/);
    await bus.relayOnce();
    expect(await metrics.registry.getSingleMetricAsString('events_outbox_lag_seconds')).toContain(
      'events_outbox_lag_seconds 0',
    );
  });

  it('keeps relaying after the request that nudged it has ended', async () => {
    const database = await fresh();
    const bus = createEventBus({
      db: database.db,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      pollIntervalMs: 300,
    });
    const seen: string[] = [];
    bus.subscribe('test', '*', async (event) => {
      seen.push(event.type);
    });
    await bus.start();
    // Let the first round end, so the nudge below starts the next one from inside the request.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const request = new AbortController();
    await runWithContext({ signal: request.signal }, async () => {
      await bus.append(database.db, [cloudEvent('/test', 'during', 'a', {})]);
      bus.nudge();
    });
    // The client goes away; the relay rounds the nudge started must not carry its signal.
    request.abort(new DOMException('client went away', 'AbortError'));
    await bus.append(database.db, [cloudEvent('/test', 'after', 'b', {})]);
    const deadline = Date.now() + 10_000;
    while (!seen.includes('after') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await bus.stop();
    expect(seen).toEqual(['during', 'after']);
  });

  it('lets one relay work at a time; another takes over when the lease lapses', async () => {
    const database = await fresh();
    const first = createEventBus({
      db: database.db,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      leaseMs: 300,
    });
    const second = createEventBus({
      db: database.db,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      leaseMs: 300,
    });
    const received: Array<[string, CloudEvent]> = [];
    first.subscribe('test', '*', async (event) => {
      received.push(['first', event]);
    });
    second.subscribe('test', '*', async (event) => {
      received.push(['second', event]);
    });
    await first.append(database.db, [cloudEvent('/test', 'e1', 'a', {})]);
    await first.relayOnce();
    await first.append(database.db, [cloudEvent('/test', 'e2', 'a', {})]);
    expect(await second.relayOnce()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await second.relayOnce()).toBe(1);
    expect(received.map(([relay, event]) => `${relay}:${event.type}`)).toEqual(['first:e1', 'second:e2']);
  });
});
