import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { amqpTopology } from '../src/platform/events/amqp.ts';
import { freePort, killAll, startCli, startEmporium } from './deploy/processes.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { callServer, signUpAt } from './support/remote.ts';
import { ADDRESS, eventually } from './support/shop.ts';

type Message = Record<string, unknown> & { type?: string; subject?: string };

/** A stream client that records every message; `until` waits (bounded) for one matching. */
async function streamClient(base: string, accessToken: string) {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/stream?access_token=${accessToken}`);
  const messages: Message[] = [];
  socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
  await once(socket, 'open');
  const until = (match: (message: Message) => boolean) =>
    eventually(async () => messages.find(match), 15_000, 20);
  await until((message) => message.type === 'authenticated');
  return { socket, messages, until };
}

const AMQP_URL = process.env.AMQP_URL;
/** Events relayed in-process by one process, and (when a broker is at hand) through RabbitMQ too. */
const transports: Array<[string, Record<string, string>]> = [
  ['in-process', { AMQP_URL: '' }],
  ...(AMQP_URL
    ? [
        ['RabbitMQ', { AMQP_URL, AMQP_EXCHANGE: `emporium.test.${randomBytes(5).toString('hex')}` }] as [
          string,
          Record<string, string>,
        ],
      ]
    : []),
];

/** Removes what a run declared on the broker (the consumer groups' durable queues, the exchanges). */
async function deleteTopology(exchange: string): Promise<void> {
  const connection = await amqp.connect(AMQP_URL as string);
  try {
    const channel = await connection.createChannel();
    for (const consumer of ['stream', 'webhooks', 'notifications']) {
      const names = amqpTopology(exchange, consumer);
      await channel.deleteQueue(names.queue);
      await channel.deleteQueue(names.deadQueue);
    }
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(`${exchange}.dead`);
  } finally {
    await connection.close();
  }
}

/**
 * A split deployment: one process runs the workers (role all), two more serve only HTTP (role
 * api), all on one PostgreSQL and one Redis. Redis carries stream events and stock changes between
 * them; with RabbitMQ, one consumer takes each event off the broker and broadcasts it.
 */
describe.runIf(process.env.DATABASE_URL && process.env.REDIS_URL).each(transports)(
  'realtime across server processes sharing PostgreSQL and Redis, events relayed %s',
  (_transport, transportEnv) => {
    let database: TestDatabase;
    let urls: string[];
    const admin = { email: 'admin@realtime.test', password: 'admin-password-1' };
    const sockets: WebSocket[] = [];

    const call = (base: string, method: string, path: string, body?: unknown, token?: string) =>
      callServer(base, method, path, body, {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' && path === '/v1/orders' ? { 'idempotency-key': randomUUID() } : {}),
      });
    const signUp = (base: string) => signUpAt(base, 'realtime.test');

    async function buy(base: string, token: string, variantId: string) {
      expect((await call(base, 'POST', '/v1/cart/items', { variantId, quantity: 1 }, token)).status).toBe(
        201,
      );
      const order = await call(
        base,
        'POST',
        '/v1/orders',
        { shippingAddress: ADDRESS, payment: { token: 'tok_visa' } },
        token,
      );
      expect([201, 202]).toContain(order.status);
      return order.body.id as string;
    }

    async function listedStock(base: string, productId: string) {
      const listing = await call(base, 'GET', '/v1/products?size=100');
      const product = listing.body.items.find((item: { id: string }) => item.id === productId);
      return product.variants[0].available as number;
    }

    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      const pspPort = await freePort();
      await startCli(['psp-sandbox', '--port', String(pspPort)], { LOG_LEVEL: 'silent' }, 'listening on');
      const env = {
        DATABASE_URL: database.url!,
        REDIS_URL: process.env.REDIS_URL!,
        AMQP_URL: '',
        PAYMENTS_URL: `http://127.0.0.1:${pspPort}`,
        LOG_LEVEL: 'info',
        SEED_PRODUCTS: '0',
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        REGISTER_LIMIT_PER_MINUTE: '100000',
        EMPORIUM_ADMIN_EMAIL: admin.email,
        EMPORIUM_ADMIN_PASSWORD: admin.password,
        ...transportEnv,
      };
      // The first migrates the database; the others start on it.
      const ports = [await freePort(), await freePort(), await freePort()];
      await startEmporium(ports[0], 'all', env);
      await Promise.all([startEmporium(ports[1], 'api', env), startEmporium(ports[2], 'api', env)]);
      urls = ports.map((port) => `http://127.0.0.1:${port}`);
      // Ready includes being subscribed to the broadcast channels.
      for (const url of urls)
        await eventually(async () => ((await call(url, 'GET', '/readyz')).status === 200 ? true : undefined));
    }, 300_000);

    afterAll(async () => {
      for (const socket of sockets) socket.terminate();
      await killAll();
      await database?.dispose();
      if (transportEnv.AMQP_EXCHANGE) await deleteTopology(transportEnv.AMQP_EXCHANGE);
    });

    it('pushes order events to the buyer on every instance exactly once, and shows the sale in listings at once', {
      timeout: 120_000,
    }, async () => {
      const [a, b, c] = urls;
      const staff = (await call(a, 'POST', '/v1/auth/login', admin)).body.accessToken as string;
      const sku = `RT-${randomUUID().slice(0, 12)}`;
      const created = await call(
        a,
        'POST',
        '/v1/products',
        { name: `Realtime ${sku}`, variants: [{ sku, price: { amount: 900, currency: 'EUR' }, stock: 10 }] },
        staff,
      );
      expect(created.status).toBe(201);
      const productId = created.body.id as string;
      const variantId = created.body.variants[0].id as string;

      const buyer = await signUp(a);
      const bystander = await signUp(b);
      const onA = await streamClient(a, buyer.token);
      const onB = await streamClient(b, buyer.token);
      const onC = await streamClient(c, buyer.token);
      const other = await streamClient(b, bystander.token);
      sockets.push(onA.socket, onB.socket, onC.socket, other.socket);

      // B has the listing cached (5 s for counts) before A sells a unit.
      expect(await listedStock(b, productId)).toBe(10);
      const first = await buy(a, buyer.token, variantId);
      await eventually(async () => ((await listedStock(b, productId)) === 9 ? true : undefined), 2_000, 20);

      const confirmedOn = (client: typeof onB, orderId: string) =>
        client.until((message) => message.type === 'order.confirmed' && message.subject === orderId);
      for (const client of [onA, onB, onC]) await confirmedOn(client, first);
      // A later order's events arriving mark the end of the first one's: nothing more of it follows.
      const second = await buy(b, buyer.token, variantId);
      for (const client of [onA, onB, onC]) await confirmedOn(client, second);

      for (const client of [onA, onB, onC]) {
        const ofFirst = client.messages.filter((message) => message.subject === first);
        const types = ofFirst.map((message) => message.type);
        expect(types).toContain('order.created');
        expect(new Set(types).size).toBe(types.length);
        expect(new Set(ofFirst.map((message) => message.id)).size).toBe(ofFirst.length);
      }
      expect(onB.messages.filter((message) => message.subject === first)).toEqual(
        onA.messages.filter((message) => message.subject === first),
      );
      // The other user on B hears nothing of the buyer's orders.
      expect(other.messages.map((message) => message.type)).toEqual(['authenticated']);
    });
  },
);
