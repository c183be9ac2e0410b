import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../test/support/auth.ts';
import { dbKinds } from '../../test/support/db.ts';
import { createProduct } from '../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../test/support/system.ts';
import { ApiError, createApi, type GuestStore, type Session, type SessionStore } from './api.ts';

/** The browser store's contract in memory: one saved session and a lock shared by its "tabs". */
function memoryStore(): SessionStore {
  let saved: Session | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  return {
    load: () => saved,
    save(session) {
      saved = session;
    },
    exclusive(task) {
      const run = queue.then(task, task);
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** The browser's guest tokens in memory. */
function memoryGuests(): GuestStore & { orders: Map<string, string> } {
  let cart: string | null = null;
  const orders = new Map<string, string>();
  return {
    orders,
    cartToken: () => cart,
    setCartToken(token) {
      cart = token;
    },
    orderToken: (orderId) => orders.get(orderId) ?? null,
    setOrderToken(orderId, token) {
      orders.set(orderId, token);
    },
  };
}

describe.each(dbKinds)('web API client against the real server on %s', (kind) => {
  let system: TestSystem;
  let baseUrl: string;
  const refreshes: string[] = [];
  /** The real fetch, noting each refresh call: how many times the client rotated the tokens. */
  const countingFetch: typeof fetch = (input, init) => {
    if (String(input).endsWith('/v1/auth/refresh')) refreshes.push(String(init?.body));
    return fetch(input, init);
  };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    await system.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(system.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => system.dispose());

  async function registered(store: SessionStore) {
    const api = createApi({ store, baseUrl, fetch: countingFetch });
    await api.register({
      email: `client-${randomUUID()}@example.test`,
      password: 'long enough secret',
      name: 'Client',
    });
    return api;
  }
  /** What an expired access token looks like to the server: a 401 on the next call. */
  const expireAccessToken = (store: SessionStore) => store.save({ ...store.load()!, accessToken: 'expired' });

  it('turns problem+json into ApiError with the stable code, and does not refresh for sign-in failures', async () => {
    const api = createApi({ store: memoryStore(), baseUrl, fetch: countingFetch });
    const before = refreshes.length;
    const error = await api.signIn('nobody@example.test', 'wrong password').catch((caught) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(refreshes.length).toBe(before);
  });

  it('refreshes once for many calls that meet an expired token at the same time, then retries them', async () => {
    const store = memoryStore();
    const api = await registered(store);
    const first = store.load()!;
    expireAccessToken(store);
    const before = refreshes.length;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => api.get<{ email: string }>('/v1/users/me')),
    );
    expect(answers.map((me) => me.email)).toEqual(Array(5).fill(first.user.email));
    expect(refreshes.length - before).toBe(1);
    const renewed = store.load()!;
    expect(renewed.refreshToken).not.toBe(first.refreshToken);
    // A second spent-token reuse would have revoked the family; the rotated pair still works.
    expireAccessToken(store);
    await expect(api.get('/v1/users/me')).resolves.toMatchObject({ id: first.user.id });
  });

  it('lets two tabs sharing one store rotate the pair once, never presenting a spent refresh token', async () => {
    const store = memoryStore();
    const tabA = await registered(store);
    const tabB = createApi({ store, baseUrl, fetch: countingFetch });
    expireAccessToken(store);
    const before = refreshes.length;
    const [a, b] = await Promise.all([
      tabA.get<{ id: string }>('/v1/users/me'),
      tabB.get<{ id: string }>('/v1/users/me'),
    ]);
    expect(a.id).toBe(b.id);
    expect(refreshes.length - before).toBe(1);
  });

  it('forgets the session when the refresh token was revoked, answering the call with 401', async () => {
    const store = memoryStore();
    const api = await registered(store);
    const session = store.load()!;
    // Signed out elsewhere: the server revokes the refresh token's family.
    const other = createApi({ store: memoryStore(), baseUrl });
    await other.request('POST', '/v1/auth/logout', {
      body: { refreshToken: session.refreshToken },
      headers: { authorization: `Bearer ${session.accessToken}` },
      auth: false,
    });
    expireAccessToken(store);
    await expect(api.get('/v1/users/me')).rejects.toMatchObject({ status: 401 });
    expect(store.load()).toBeNull();
  });

  it('reports an unreachable server as NETWORK_ERROR, the one failure a checkout retries with the same key', async () => {
    const api = createApi({ store: memoryStore(), baseUrl: 'http://127.0.0.1:9' });
    await expect(api.get('/v1/products')).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });

  it('shops as a guest: a cart started on first need and again once it expired, moved into the account on sign-up', async () => {
    const staff = await signIn(system, 'staff');
    const product = await createProduct(system, staff);
    const guests = memoryGuests();
    const api = createApi({ store: memoryStore(), guest: guests, baseUrl });
    await api.post('/v1/cart/items', { variantId: product.variantId, quantity: 2 });
    const first = guests.cartToken();
    expect(first).toMatch(/^[\w-]{43}$/);
    expect((await api.get<{ items: unknown[] }>('/v1/cart')).items).toHaveLength(1);
    // The kept cart expired: the client starts another instead of failing the shopper.
    await sql`update carts set expires_at = now() - interval '1 second' where expires_at > now()`.execute(
      system.database.db,
    );
    expect((await api.get<{ items: unknown[] }>('/v1/cart')).items).toEqual([]);
    expect(guests.cartToken()).not.toBe(first);
    await api.post('/v1/cart/items', { variantId: product.variantId, quantity: 3 });
    await api.register({
      email: `guest-${randomUUID()}@example.test`,
      password: 'long enough secret',
      name: 'G',
    });
    expect(guests.cartToken()).toBeNull();
    const mine = await api.get<{ items: Array<{ quantity: number }> }>('/v1/cart');
    expect(mine.items.map((line) => line.quantity)).toEqual([3]);
  });
});
