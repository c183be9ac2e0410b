import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { type CloudEvent, cloudEvent } from '../../platform/events/index.ts';

interface Client {
  socket: WebSocket;
  messages: Array<Record<string, unknown>>;
  /** Resolves with the next message matching, or rejects after `timeoutMs`. */
  next(
    match: (message: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

function client(socket: WebSocket): Client {
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    match: (message: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }> = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw));
    messages.push(message);
    for (const waiter of waiters.splice(0)) {
      if (waiter.match(message)) waiter.resolve(message);
      else waiters.push(waiter);
    }
  });
  return {
    socket,
    messages,
    next: (match, timeoutMs = 1_000) =>
      new Promise((resolve, reject) => {
        const seen = messages.find(match);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error('no matching message in time')), timeoutMs);
        waiters.push({
          match,
          resolve: (message) => {
            clearTimeout(timer);
            resolve(message);
          },
        });
      }),
  };
}

const orderEvent = (type: string, userId: string, orderId: string, status: string) =>
  cloudEvent('/emporium/ordering', type, orderId, {
    orderId,
    userId,
    status,
    total: { amount: 1999, currency: 'EUR' },
  });

// In-process fan-out always; through Redis pub/sub (as across instances) too when REDIS_URL is set.
const fanouts: Array<[string, Record<string, string>]> = [
  ['in-process', {}],
  ...(process.env.REDIS_URL
    ? [['redis', { REDIS_URL: process.env.REDIS_URL }] as [string, Record<string, string>]]
    : []),
];
const setups = dbKinds.flatMap((kind) => fanouts.map(([fanout, env]) => [kind, fanout, env] as const));

describe.each(setups)('order stream over WebSocket on %s, %s fan-out', (kind, _fanout, fanoutEnv) => {
  let system: TestSystem;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) if (socket.readyState !== socket.CONNECTING) socket.terminate();
    await system?.dispose();
  });

  async function start(env: Record<string, string> = {}, beforeWorkers?: (system: TestSystem) => void) {
    system = await createTestSystem(kind, { ...fanoutEnv, ...env });
    beforeWorkers?.(system);
    await system.app.listen({ port: 0, host: '127.0.0.1' });
    await system.startWorkers();
    const { port } = system.app.server.address() as AddressInfo;
    return `ws://127.0.0.1:${port}/v1/stream`;
  }

  /** Listens before the socket opens: the server may speak in the same packet as the upgrade. */
  async function open(url: string): Promise<Client> {
    const socket = new WebSocket(url);
    sockets.push(socket);
    const opened = client(socket);
    await once(socket, 'open');
    return opened;
  }

  async function publish(event: CloudEvent) {
    await system.bus.append(system.database.db, [event]);
    system.bus.nudge();
  }

  it("pushes a user's order going pending -> confirmed, and nothing of it to another user", async () => {
    const url = await start();
    const alice = await signIn(system);
    const bob = await signIn(system);
    const aliceClient = await open(`${url}?access_token=${alice.accessToken}`);
    await aliceClient.next((message) => message.type === 'authenticated');
    // Bob authenticates with his first message instead of the URL.
    const bobClient = await open(url);
    bobClient.socket.send(JSON.stringify({ type: 'auth', token: bob.accessToken }));
    await bobClient.next((message) => message.type === 'authenticated');

    const orderId = '01936d4e-0000-7000-8000-000000000001';
    await publish(orderEvent('order.created', alice.id, orderId, 'pending'));
    const created = await aliceClient.next((message) => message.type === 'order.created');
    expect(created).toMatchObject({ specversion: '1.0', subject: orderId, data: { status: 'pending' } });
    await publish(orderEvent('order.confirmed', alice.id, orderId, 'confirmed'));
    const confirmed = await aliceClient.next((message) => message.type === 'order.confirmed');
    expect(confirmed).toMatchObject({ data: { orderId, status: 'confirmed' } });
    expect(confirmed).not.toHaveProperty('seq');

    await publish(orderEvent('order.created', bob.id, '01936d4e-0000-7000-8000-000000000002', 'pending'));
    await bobClient.next((message) => message.type === 'order.created');
    expect(bobClient.messages.map((message) => message.type)).toEqual(['authenticated', 'order.created']);
    expect(JSON.stringify(bobClient.messages)).not.toContain(orderId);
  });

  it("gives staff who see orders the shop's feed (new paid orders, low stock), and customers none of it", async () => {
    const url = await start();
    const staff = await signIn(system, 'staff');
    const shopper = await signIn(system);
    const other = await signIn(system);
    const staffClient = await open(`${url}?access_token=${staff.accessToken}`);
    expect(await staffClient.next((message) => message.type === 'authenticated')).toMatchObject({
      staffFeed: true,
    });
    const otherClient = await open(`${url}?access_token=${other.accessToken}`);
    expect(await otherClient.next((message) => message.type === 'authenticated')).toMatchObject({
      staffFeed: false,
    });

    const orderId = '01936d4e-0000-7000-8000-000000000009';
    await publish(orderEvent('order.created', shopper.id, orderId, 'pending'));
    await publish(orderEvent('order.confirmed', shopper.id, orderId, 'confirmed'));
    await publish(
      cloudEvent('/emporium/inventory', 'inventory.low', '01936d4e-0000-7000-8000-00000000000a', {
        variantId: '01936d4e-0000-7000-8000-00000000000a',
        sku: 'LAST-ONE',
        available: 1,
        threshold: 5,
      }),
    );
    await staffClient.next((message) => message.type === 'inventory.low', 5_000);
    await staffClient.next((message) => message.type === 'order.confirmed', 5_000);
    // A pending order is not news to staff; a confirmed one is (subjects apart arrive in any order).
    expect(staffClient.messages.map((message) => message.type).sort()).toEqual([
      'authenticated',
      'inventory.low',
      'order.confirmed',
    ]);
    await publish(orderEvent('order.created', other.id, '01936d4e-0000-7000-8000-00000000000b', 'pending'));
    await otherClient.next((message) => message.type === 'order.created', 5_000);
    expect(otherClient.messages.map((message) => message.type)).toEqual(['authenticated', 'order.created']);
  });

  it('pushes an event once even when the relay hands it over again', async () => {
    // A consumer after the stream fails the first time: the relay retries the whole event.
    let failures = 0;
    const url = await start({}, (built) =>
      built.bus.subscribe('flaky', ['order.created'], async () => {
        if (failures++ === 0) throw new Error('not yet');
      }),
    );
    const user = await signIn(system);
    const watcher = await open(`${url}?access_token=${user.accessToken}`);
    await watcher.next((message) => message.type === 'authenticated');
    const orderId = '01936d4e-0000-7000-8000-000000000004';
    await publish(orderEvent('order.created', user.id, orderId, 'pending'));
    await publish(orderEvent('order.confirmed', user.id, orderId, 'confirmed'));
    // Same subject, in order: the confirmation comes after the retried creation was handed over.
    await watcher.next((message) => message.type === 'order.confirmed', 5_000);
    expect(failures).toBe(2);
    expect(watcher.messages.map((message) => message.type)).toEqual([
      'authenticated',
      'order.created',
      'order.confirmed',
    ]);
  });

  it('refuses a connection without a valid token', async () => {
    const url = await start();
    const badUpgrade = new WebSocket(`${url}?access_token=not-a-token`);
    sockets.push(badUpgrade);
    const [, response] = await once(badUpgrade, 'unexpected-response');
    expect(response.statusCode).toBe(401);

    const { socket: silent } = await open(url);
    silent.send(JSON.stringify({ type: 'subscribe' }));
    const [code] = await once(silent, 'close');
    expect(code).toBe(1008);

    const { socket: forged } = await open(url);
    forged.send(JSON.stringify({ type: 'auth', token: 'eyJhbGciOiJub25lIn0.e30.' }));
    const [forgedCode] = await once(forged, 'close');
    expect(forgedCode).toBe(1008);
  });

  it('closes a socket that cannot keep up with 1013 and keeps serving the others', async () => {
    const url = await start();
    const user = await signIn(system);
    const first = await open(`${url}?access_token=${user.accessToken}`);
    const second = await open(`${url}?access_token=${user.accessToken}`);
    await first.next((message) => message.type === 'authenticated');
    await second.next((message) => message.type === 'authenticated');
    const { hub } = moduleOf(system, 'stream');
    // The first socket stops reading: the kernel buffers fill and then the socket's own buffer.
    first.socket.pause();
    const chunk = JSON.stringify({ type: 'filler', padding: 'x'.repeat(256 * 1024) });
    const closed = once(first.socket, 'close');
    for (let sent = 0; sent < 64 && hub.connectionCount() === 2; sent++) {
      hub.deliver(user.id, chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    first.socket.resume();
    const [code] = await closed;
    expect(code).toBe(1013);
    expect(hub.connectionCount()).toBe(1);
    await publish(orderEvent('order.created', user.id, '01936d4e-0000-7000-8000-000000000003', 'pending'));
    await second.next((message) => message.type === 'order.created', 5_000);
  });

  it('drops a socket that stops answering pings', async () => {
    const url = await start({ STREAM_HEARTBEAT_MS: '100' });
    const user = await signIn(system);
    const { hub } = moduleOf(system, 'stream');
    const socket = new WebSocket(`${url}?access_token=${user.accessToken}`, { autoPong: false });
    sockets.push(socket);
    const alive = (await open(`${url}?access_token=${user.accessToken}`)).socket;
    const [code] = await once(socket, 'close');
    expect(code).toBe(1006);
    // The server sees its side close a moment later.
    while (hub.connectionCount() > 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(alive.readyState).toBe(WebSocket.OPEN);
    // Only the live socket is still counted as an HTTP request in flight.
    expect(await system.metrics.registry.getSingleMetricAsString('http_requests_in_flight')).toContain(
      'http_requests_in_flight 1',
    );
    expect(await system.metrics.registry.getSingleMetricAsString('stream_disconnects_total')).toContain(
      'stream_disconnects_total{reason="no_pong"} 1',
    );
  });
});
