import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct, eventually } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

type Message = { type: string; subject?: string; data?: { status?: string; userId?: string } };

/** A socket whose messages are collected from the moment it is created. */
async function streamFor(url: string, token: string) {
  const socket = new WebSocket(`${url}?access_token=${token}`);
  const messages: Message[] = [];
  socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
  await once(socket, 'open');
  await eventually(async () => messages.find((message) => message.type === 'authenticated'), 5_000, 10);
  return { socket, messages };
}

describe.each(dbKinds)('a real checkout seen through the event backbone on %s', (kind) => {
  let system: TestSystem;
  let dataDir: string;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await system?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('streams the order pending -> confirmed to its buyer only, and mails the confirmation', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-events-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir });
    await system.app.listen({ port: 0, host: '127.0.0.1' });
    await system.startWorkers();
    const url = `ws://127.0.0.1:${(system.app.server.address() as AddressInfo).port}/v1/stream`;
    const staff = await signIn(system, 'staff');
    const buyer = await signIn(system);
    const other = await signIn(system);
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyerStream = await streamFor(url, buyer.accessToken);
    const otherStream = await streamFor(url, other.accessToken);
    sockets.push(buyerStream.socket, otherStream.socket);

    expect((await addToCart(system, buyer, variant.variantId, 2)).statusCode).toBe(201);
    const placed = await checkout(system, buyer);
    expect(placed.statusCode, placed.body).toBe(201);
    const orderId = placed.json().id;
    const confirmed = await eventually(
      async () =>
        buyerStream.messages.find(
          (message) => message.type === 'order.confirmed' && message.subject === orderId,
        ),
      1_000,
      10,
    );
    expect(confirmed.data?.status).toBe('confirmed');
    const statuses = buyerStream.messages
      .filter((message) => message.subject === orderId && message.type.startsWith('order.'))
      .map((message) => message.data?.status);
    expect(statuses).toEqual(['pending', 'confirmed']);
    expect(otherStream.messages.map((message) => message.type)).toEqual(['authenticated']);

    const mail = await eventually(async () => {
      const files = await readdir(path.join(dataDir, 'mail')).catch(() => []);
      return files.find((file) => file.endsWith('-order_confirmed.eml'));
    }, 10_000);
    const eml = await readFile(path.join(dataDir, 'mail', mail), 'utf8');
    expect(eml).toContain(`To: ${buyer.email}`);
    expect(eml).toContain(orderId);

    // Shipping changes the status too: partially, then fully shipped, each pushed to the buyer.
    const [line] = placed.json().items as Array<{ id: string }>;
    for (const expected of ['partially_shipped', 'shipped']) {
      const shipped = await system.app.inject({
        method: 'POST',
        url: `/v1/orders/${orderId}/fulfillments`,
        headers: { authorization: `Bearer ${staff.accessToken}` },
        payload: { items: [{ orderItemId: line.id, quantity: 1 }], carrier: 'DHL', trackingNumber: expected },
      });
      expect(shipped.statusCode, shipped.body).toBe(201);
      await eventually(
        async () =>
          buyerStream.messages.find(
            (message) => message.type === 'order.shipped' && message.data?.status === expected,
          ),
        5_000,
        10,
      );
    }
    expect(otherStream.messages.map((message) => message.type)).toEqual(['authenticated']);
  });
});
