import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { transact } from '../src/platform/db/index.ts';
import { amqpTopology } from '../src/platform/events/amqp.ts';
import { createAmqpTransport, createEventBus, type EventBus } from '../src/platform/events/index.ts';
import { cloudEvent } from '../src/platform/events/types.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { createMetrics } from '../src/platform/observability/metrics.ts';
import { signIn } from './support/auth.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { createTestSystem } from './support/system.ts';

const AMQP_URL = process.env.AMQP_URL;
const TOTAL = 10_000;
const run = promisify(execFile);

async function rabbitmqctl(command: 'stop_app' | 'start_app'): Promise<void> {
  await run('rabbitmqctl', [command], { timeout: 30_000 });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// The child consumer needs a database another process can open, so these run on PostgreSQL.
describe.runIf(AMQP_URL && process.env.DATABASE_URL)('events over RabbitMQ', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp() {
    const database = await createTestDatabase('postgres');
    cleanups.push(() => database.dispose());
    await sql`create table effects (event_id uuid not null)`.execute(database.db);
    // A shared broker: every run gets its own exchange and queues, deleted afterwards.
    const exchange = `emporium.test.${randomBytes(5).toString('hex')}`;
    cleanups.push(() => deleteTopology(exchange, ['effects', 'fragile']));
    return { database, exchange };
  }

  function busFor(database: TestDatabase, exchange: string, metrics = createMetrics(), maxDeliveries = 10) {
    const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    const transport = createAmqpTransport({
      url: AMQP_URL!,
      exchange,
      logger,
      metrics,
      maxDeliveries,
      reconnectMaxMs: 1_000,
    });
    const bus = createEventBus({ db: database.db, logger, metrics, transport, pollIntervalMs: 50 });
    cleanups.push(() => bus.stop());
    return bus;
  }

  function countEffects(bus: EventBus) {
    bus.subscribe(
      'effects',
      ['load.tick'],
      bus.once('effects', async (tx, event) => {
        await sql`insert into effects (event_id) values (${event.id})`.execute(tx);
      }),
    );
  }

  async function effects(database: TestDatabase) {
    const { rows } = await sql<{
      total: number;
      distinct: number;
    }>`select count(*)::int as total, count(distinct event_id)::int as distinct from effects`.execute(
      database.db,
    );
    return rows[0];
  }

  /** Appends TOTAL events in committed batches, as a busy shop would, spread over many subjects. */
  async function produce(bus: EventBus, database: TestDatabase, pauseMs: number): Promise<void> {
    const batch = 250;
    for (let offset = 0; offset < TOTAL; offset += batch) {
      await transact(database.db, (tx) =>
        bus.append(
          tx,
          Array.from({ length: batch }, (_, index) =>
            cloudEvent('/test', 'load.tick', `subject-${(offset + index) % 400}`, { n: offset + index }),
          ),
        ),
      );
      bus.nudge();
      await sleep(pauseMs);
    }
  }

  async function expectExactlyOnce(database: TestDatabase) {
    await waitFor('every effect', async () => (await effects(database)).distinct >= TOTAL, 60_000);
    expect(await effects(database)).toEqual({ total: TOTAL, distinct: TOTAL });
    const { rows } = await sql<{
      unsent: number;
    }>`select count(*)::int as unsent from outbox where published_at is null`.execute(database.db);
    expect(rows[0].unsent).toBe(0);
  }

  it('consumes 10,000 events with exactly-once effect while the broker is stopped for 10 s', async () => {
    const { database, exchange } = await setUp();
    const metrics = createMetrics();
    const bus = busFor(database, exchange, metrics);
    countEffects(bus);
    await bus.start();
    // Production spans the outage: events committed meanwhile wait in the outbox for the broker.
    const producing = produce(bus, database, 400);
    await waitFor('the first effects', async () => (await effects(database)).total >= 1_500, 30_000);
    await rabbitmqctl('stop_app');
    try {
      expect((await effects(database)).total).toBeLessThan(TOTAL);
      await sleep(10_000);
    } finally {
      await rabbitmqctl('start_app');
    }
    await producing;
    await expectExactlyOnce(database);
    const published = await metrics.registry.getSingleMetricAsString('events_published_total');
    expect(published).toContain(`events_published_total{type="load.tick"} ${TOTAL}`);
  }, 90_000);

  it('consumes 10,000 events with exactly-once effect when the consumer process is killed', async () => {
    const { database, exchange } = await setUp();
    const relay = busFor(database, exchange);
    // The relay declares the group's queue, so nothing published before the consumer runs is lost.
    countEffects(relay);
    await relay.start({ consumers: false });
    const startConsumer = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['test/support/events-consumer.ts'], {
        env: { ...process.env, TEST_DATABASE_URL: database.url, TEST_EXCHANGE: exchange },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      });
      await once(child.stdout!, 'data');
      return child;
    };
    const producing = produce(relay, database, 100);
    const first = await startConsumer();
    await waitFor('the first effects', async () => (await effects(database)).total >= 2_000, 30_000);
    first.kill('SIGKILL');
    await once(first, 'exit');
    const killedAt = (await effects(database)).total;
    expect(killedAt).toBeLessThan(TOTAL);
    await startConsumer();
    await producing;
    await expectExactlyOnce(database);
  }, 90_000);

  it('shares a consumer group between instances and gives every instance its own copy of fan-out events', async () => {
    const { database, exchange } = await setUp();
    const grouped: string[] = [];
    const fannedOut = { first: [] as string[], second: [] as string[] };
    const instances = [busFor(database, exchange), busFor(database, exchange)] as const;
    instances.forEach((bus, index) => {
      bus.subscribe('effects', ['load.tick'], async (event) => {
        grouped.push(event.id);
      });
      bus.subscribe(
        'sockets',
        ['load.tick'],
        async (event) => {
          fannedOut[index === 0 ? 'first' : 'second'].push(event.id);
        },
        { everyInstance: true },
      );
    });
    for (const bus of instances) await bus.start();
    const events = Array.from({ length: 20 }, (_, n) => cloudEvent('/test', 'load.tick', `s${n}`, { n }));
    await instances[0].append(database.db, events);
    instances[0].nudge();
    await waitFor(
      'every copy',
      async () => fannedOut.first.length === 20 && fannedOut.second.length === 20 && grouped.length >= 20,
      20_000,
    );
    expect(new Set(grouped).size).toBe(20);
    expect(new Set(fannedOut.first)).toEqual(new Set(events.map((event) => event.id)));
    expect(new Set(fannedOut.second)).toEqual(new Set(events.map((event) => event.id)));
  }, 30_000);

  it('pushes to an API-only instance the events a separate worker relays through the broker', async () => {
    const exchange = `emporium.test.${randomBytes(5).toString('hex')}`;
    cleanups.push(() => deleteTopology(exchange, []));
    const api = await createTestSystem('postgres', { AMQP_URL: AMQP_URL!, AMQP_EXCHANGE: exchange });
    cleanups.push(() => api.dispose());
    // The API role serves HTTP and never starts the workers; listening starts its fan-out consumer.
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const worker = busFor(api.testDb, exchange);
    await worker.start({ consumers: false });
    const user = await signIn(api);
    const { port } = api.app.server.address() as AddressInfo;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/stream?access_token=${user.accessToken}`);
    cleanups.push(async () => socket.terminate());
    const received: Array<{ type: string; data?: { status?: string } }> = [];
    socket.on('message', (raw) => received.push(JSON.parse(String(raw))));
    await waitFor('the socket to authenticate', async () => received.length > 0, 5_000);
    const orderId = '01936d4e-0000-7000-8000-0000000000d1';
    await worker.append(api.testDb.db, [
      cloudEvent('/emporium/ordering', 'order.confirmed', orderId, {
        orderId,
        userId: user.id,
        status: 'confirmed',
      }),
    ]);
    worker.nudge();
    await waitFor('the pushed event', async () => received.some((m) => m.type === 'order.confirmed'), 5_000);
    expect(received.find((m) => m.type === 'order.confirmed')?.data?.status).toBe('confirmed');
  }, 30_000);

  it('moves a message that keeps failing to the dead-letter queue after its last delivery', async () => {
    const { database, exchange } = await setUp();
    const metrics = createMetrics();
    const bus = busFor(database, exchange, metrics, 3);
    const handled: string[] = [];
    bus.subscribe('fragile', '*', async (event) => {
      if (event.type === 'poison') throw new Error('cannot handle this');
      handled.push(event.type);
    });
    await bus.start();
    await bus.append(database.db, [
      cloudEvent('/test', 'poison', 'a', {}),
      cloudEvent('/test', 'after', 'a', {}),
    ]);
    bus.nudge();
    const names = amqpTopology(exchange, 'fragile');
    await waitFor('the dead letter', async () => (await queueDepth(names.deadQueue)) === 1, 20_000);
    await waitFor('the next event', async () => handled.includes('after'), 5_000);
    expect(await metrics.registry.getSingleMetricAsString('events_dead_lettered_total')).toContain(
      'events_dead_lettered_total{consumer="fragile"} 1',
    );
  }, 30_000);
});

async function withChannel<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(AMQP_URL!);
  try {
    const channel = await connection.createChannel();
    return await work(channel);
  } finally {
    await connection.close();
  }
}

async function queueDepth(queue: string): Promise<number> {
  return withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
}

async function deleteTopology(exchange: string, consumers: string[]): Promise<void> {
  await withChannel(async (channel) => {
    for (const consumer of consumers) {
      const names = amqpTopology(exchange, consumer);
      await channel.deleteQueue(names.queue);
      await channel.deleteQueue(names.deadQueue);
    }
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(`${exchange}.dead`);
  });
}
