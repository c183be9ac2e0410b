import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createProduct } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { cloudEvent } from '../../platform/events/index.ts';
import { sendWebhook } from './sender.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  signatureValid: boolean;
}

/** A receiver that checks Standard Webhooks signatures itself and answers from a script. */
async function startReceiver(secret: () => string, answer: (count: number) => number) {
  const received: Received[] = [];
  const server = http.createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const id = String(request.headers['webhook-id']);
    const timestamp = String(request.headers['webhook-timestamp']);
    const key = Buffer.from(secret().replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
    const signatureValid = String(request.headers['webhook-signature'])
      .split(' ')
      .some((signature) => {
        const [version, mac] = signature.split(',');
        const given = Buffer.from(mac ?? '', 'base64');
        return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
      });
    received.push({ headers: request.headers, body, signatureValid });
    const status = answer(received.length);
    response
      .writeHead(status, { 'content-type': 'text/plain' })
      .end(status < 300 ? 'thanks' : 'receiver down');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.each(dbKinds)('webhooks on %s', (kind) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function system(env: Record<string, string> = {}): Promise<TestSystem> {
    const created = await createTestSystem(kind, { WEBHOOK_RETRY_BASE_MS: '50', ...env });
    cleanups.push(() => created.dispose());
    return created;
  }

  async function emit(target: TestSystem, type: string, subject: string) {
    await target.bus.append(target.database.db, [
      cloudEvent('/emporium/ordering', type, subject, { orderId: subject, status: 'confirmed' }),
    ]);
    target.bus.nudge();
  }

  it('signs deliveries and records three attempts for a receiver that fails twice, with one success', async () => {
    const target = await system({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
    const admin = await signIn(target, 'admin');
    let secret = '';
    const receiver = await startReceiver(
      () => secret,
      (count) => (count <= 2 ? 503 : 200),
    );
    cleanups.push(receiver.close);
    const created = await target.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: admin.headers,
      payload: { url: receiver.url, events: ['order.confirmed'] },
    });
    expect(created.statusCode).toBe(201);
    const endpoint = created.json();
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(created.headers.location).toBe(`/v1/webhooks/${endpoint.id}`);
    secret = endpoint.secret;
    await target.startWorkers();

    await emit(target, 'order.created', '01936d4e-0000-7000-8000-00000000000a');
    await emit(target, 'order.confirmed', '01936d4e-0000-7000-8000-00000000000a');
    const deliveries = async () =>
      (
        await target.app.inject({
          method: 'GET',
          url: `/v1/webhooks/${endpoint.id}/deliveries`,
          headers: admin.headers,
        })
      ).json();
    const page = await waitFor(
      'a successful delivery',
      deliveries,
      (body) => body.items[0]?.status === 'succeeded',
    );

    expect(page.total).toBe(1);
    const [delivery] = page.items;
    expect(delivery.eventType).toBe('order.confirmed');
    expect(delivery.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([
      503, 503, 200,
    ]);
    expect(delivery.attempts.filter((attempt: { succeeded: boolean }) => attempt.succeeded)).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ succeeded: false, responseSnippet: 'receiver down' });
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received.every((request) => request.signatureValid)).toBe(true);
    // Every retry carries the same message id, so the receiver can deduplicate.
    expect(new Set(receiver.received.map((request) => request.headers['webhook-id']))).toEqual(
      new Set([delivery.eventId]),
    );
    expect(JSON.parse(receiver.received[2].body)).toMatchObject({
      specversion: '1.0',
      type: 'order.confirmed',
    });

    const listed = await target.app.inject({ method: 'GET', url: '/v1/webhooks', headers: admin.headers });
    expect(listed.json().items).toEqual([
      { id: endpoint.id, url: receiver.url, events: ['order.confirmed'], createdAt: endpoint.createdAt },
    ]);
  });

  it('dead-letters a delivery after its last attempt, and an admin can replay it', async () => {
    const target = await system({ WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_MAX_ATTEMPTS: '2' });
    const admin = await signIn(target, 'admin');
    let up = false;
    const receiver = await startReceiver(
      () => 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
      () => (up ? 200 : 500),
    );
    cleanups.push(receiver.close);
    const endpoint = (
      await target.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: admin.headers,
        payload: {
          url: receiver.url,
          events: ['order.cancelled'],
          secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
        },
      })
    ).json();
    await target.startWorkers();
    await emit(target, 'order.cancelled', '01936d4e-0000-7000-8000-00000000000b');
    const deliveries = async () =>
      (
        await target.app.inject({
          method: 'GET',
          url: `/v1/webhooks/${endpoint.id}/deliveries`,
          headers: admin.headers,
        })
      ).json();
    const dead = await waitFor('a dead delivery', deliveries, (body) => body.items[0]?.status === 'dead');
    expect(dead.items[0].attempts).toHaveLength(2);

    up = true;
    const customer = await signIn(target);
    const replayUrl = `/v1/webhooks/${endpoint.id}/deliveries/${dead.items[0].id}/replay`;
    expect(
      (await target.app.inject({ method: 'POST', url: replayUrl, headers: customer.headers })).statusCode,
    ).toBe(403);
    const replayed = await target.app.inject({ method: 'POST', url: replayUrl, headers: admin.headers });
    expect(replayed.statusCode).toBe(202);
    expect(replayed.json().status).toBe('pending');
    const done = await waitFor('the replay', deliveries, (body) => body.items[0]?.status === 'succeeded');
    expect(done.items[0].attempts.map((attempt: { succeeded: boolean }) => attempt.succeeded)).toEqual([
      false,
      false,
      true,
    ]);
    expect(receiver.received.every((request) => request.signatureValid)).toBe(true);
    const missing = await target.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${endpoint.id}/deliveries/01936d4e-0000-7000-8000-0000000000ff/replay`,
      headers: admin.headers,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('refuses private, loopback, link-local and metadata targets at registration', async () => {
    const target = await system();
    const admin = await signIn(target, 'admin');
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd00:ec2::254]/hook',
      'ftp://example.com/hook',
      'http://user:pass@example.com/hook',
    ]) {
      const response = await target.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: admin.headers,
        payload: { url, events: ['order.confirmed'] },
      });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().code, url).toBe('WEBHOOK_TARGET_REFUSED');
    }
    const customer = await signIn(target);
    const forbidden = await target.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: customer.headers,
      payload: { url: 'https://example.com/hook', events: ['order.confirmed'] },
    });
    expect(forbidden.statusCode).toBe(403);
    const unknownField = await target.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: admin.headers,
      payload: { url: 'https://example.com/hook', events: ['order.confirmed'], extra: 1 },
    });
    expect(unknownField.statusCode).toBe(400);
    // Subscriptions name event types the system emits: a typo would never receive anything.
    const unknownType = await target.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: admin.headers,
      payload: { url: 'https://example.com/hook', events: ['order.confirmd', 'parcel.*'] },
    });
    // One sentence naming what was wrong and, once, what is allowed (not one error per allowed name).
    expect(unknownType.json()).toMatchObject({ status: 400, code: 'UNKNOWN_EVENT_TYPE' });
    expect(unknownType.json().detail).toMatch(
      /^“order\.confirmd”, “parcel\.\*” are not events this shop sends\. The events are .*order\.confirmed/,
    );
    expect(unknownType.json().detail.match(/order\.confirmed/g)).toHaveLength(1);
    expect(unknownType.json().errors).toBeUndefined();
  });

  it('delivers by prefix wildcard (order.*) and to "*" everything, once per endpoint', async () => {
    const target = await system({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
    const admin = await signIn(target, 'admin');
    const secret = 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0';
    const orders = await startReceiver(
      () => secret,
      () => 200,
    );
    const everything = await startReceiver(
      () => secret,
      () => 200,
    );
    cleanups.push(orders.close, everything.close);
    for (const [receiver, events] of [
      [orders, ['order.*', 'order.confirmed']],
      [everything, ['*']],
    ] as const) {
      const created = await target.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: admin.headers,
        payload: { url: receiver.url, events, secret },
      });
      expect(created.statusCode, created.body).toBe(201);
    }
    await target.startWorkers();
    await emit(target, 'order.confirmed', '01936d4e-0000-7000-8000-00000000000c');
    await emit(target, 'inventory.low', '01936d4e-0000-7000-8000-00000000000d');
    await waitFor(
      'the deliveries',
      async () => everything.received.length,
      (count) => count >= 2,
    );
    await waitFor(
      'the order delivery',
      async () => orders.received.length,
      (count) => count >= 1,
    );
    await sleep(300);
    expect(orders.received.map((request) => JSON.parse(request.body).type)).toEqual(['order.confirmed']);
    expect(everything.received.map((request) => JSON.parse(request.body).type).sort()).toEqual([
      'inventory.low',
      'order.confirmed',
    ]);
  });

  it('delivers user.registered and inventory.low to the endpoints subscribed to them', async () => {
    const target = await system({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
    const admin = await signIn(target, 'admin');
    const staff = await signIn(target, 'staff');
    const receiver = await startReceiver(
      () => 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0',
      () => 200,
    );
    cleanups.push(receiver.close);
    const created = await target.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: admin.headers,
      payload: {
        url: receiver.url,
        events: ['user.registered', 'inventory.low'],
        secret: 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0',
      },
    });
    expect(created.statusCode).toBe(201);
    await target.startWorkers();

    const registered = await target.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: 'hooked@example.test', password: 'long enough', name: 'Hooked' },
    });
    expect(registered.statusCode).toBe(201);
    const variant = await createProduct(target, staff, { stock: 8 });
    const adjusted = await target.app.inject({
      method: 'POST',
      url: `/v1/inventory/${variant.sku}/adjustments`,
      headers: staff.headers,
      payload: { delta: -4, reason: 'damaged' },
    });
    expect(adjusted.statusCode).toBe(201);

    const bodies = await waitFor(
      'both deliveries',
      async () => receiver.received.map((request) => JSON.parse(request.body)),
      (received) => received.length >= 2,
    );
    expect(receiver.received.every((request) => request.signatureValid)).toBe(true);
    const byType = Object.fromEntries(bodies.map((body) => [body.type, body]));
    expect(Object.keys(byType).sort()).toEqual(['inventory.low', 'user.registered']);
    expect(byType['user.registered'].data).toMatchObject({
      userId: registered.json().user.id,
      email: 'hooked@example.test',
      method: 'password',
    });
    expect(byType['inventory.low'].data).toMatchObject({
      variantId: variant.variantId,
      sku: variant.sku,
      available: 4,
      threshold: 5,
    });
  });
});

describe('webhook sender', () => {
  it('refuses at delivery time a target that resolves to a private address', async () => {
    let hits = 0;
    const server = http.createServer((_request, response) => {
      hits++;
      response.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`]) {
        const result = await sendWebhook({
          url,
          secret: 'whsec_c2VjcmV0',
          messageId: 'msg_1',
          body: '{}',
          allowPrivate: false,
          timeoutMs: 1_000,
        });
        expect(result, url).toMatchObject({ succeeded: false, statusCode: null });
        expect(result.error, url).toMatch(/private or reserved|forbidden address/);
      }
      expect(hits).toBe(0);
    } finally {
      server.close();
    }
  });

  it('does not follow redirects', async () => {
    const server = http.createServer((_request, response) => {
      response.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const result = await sendWebhook({
        url: `http://127.0.0.1:${port}/hook`,
        secret: 'whsec_c2VjcmV0',
        messageId: 'msg_2',
        body: '{}',
        allowPrivate: true,
        timeoutMs: 1_000,
      });
      expect(result).toMatchObject({
        succeeded: false,
        statusCode: 302,
        error: 'redirects are not followed',
      });
    } finally {
      server.close();
    }
  });
});
