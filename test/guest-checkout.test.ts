import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { mailedLinks } from './support/mail.ts';
import {
  ADDRESS,
  addToCart,
  checkout,
  createProduct,
  eventually,
  shipFirstLine,
  startGuestCart,
  stockOf,
} from './support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

/**
 * Buying without an account: a guest's cart opens with its token alone, checkout asks for an
 * email and answers a token that opens that order alone (and the confirmation mail's link does
 * too), signing in merges the guest's cart, and proving the address later brings the orders along.
 */
describe.each(dbKinds)('guest checkout on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-guest-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir, PUBLIC_URL: 'https://shop.example.test' });
    await system.startWorkers();
    staff = await signIn(system, 'staff');
  });
  afterAll(async () => {
    await system.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    system.app.inject({ method: 'GET', url, headers });
  const guestEmail = () => `guest-${randomUUID().slice(0, 8)}@example.test`;
  const ORDER_LINK = /https:\/\/shop\.example\.test\/orders\/[\w-]+\?token=[\w%-]+/;

  it('a guest shops with the cart token, checks out with an email, and opens that order alone with its token', async () => {
    const product = await createProduct(system, staff, { price: 2500 });
    const started = await system.app.inject({ method: 'POST', url: '/v1/carts' });
    expect(started.statusCode).toBe(201);
    const { cartToken, cart } = started.json();
    expect(cart.items).toEqual([]);
    const guest = { headers: { 'cart-token': cartToken } };
    expect((await addToCart(system, guest, product.variantId, 2)).statusCode).toBe(201);
    const seen = (await get('/v1/cart', guest.headers)).json();
    expect(seen.items.map((line: { quantity: number }) => line.quantity)).toEqual([2]);

    // Checkout needs the guest's address for the confirmation, and refuses one that is not an address.
    const missing = await checkout(system, guest);
    expect(missing.json()).toMatchObject({ status: 400, code: 'EMAIL_REQUIRED' });
    const malformed = await checkout(system, guest, { email: 'not an address' });
    expect(malformed.json()).toMatchObject({ status: 400, code: 'INVALID_EMAIL' });

    const email = guestEmail();
    const key = randomUUID();
    const placed = await checkout(system, guest, { email: email.toUpperCase(), key });
    expect(placed.statusCode).toBe(201);
    const order = placed.json();
    expect(order).toMatchObject({ status: 'confirmed', email, total: { amount: seen.total.amount } });
    expect(order.orderToken).toMatch(/^[\w-]{43}$/);
    expect((await get('/v1/cart', guest.headers)).json().items).toEqual([]);

    // The token opens this order, and only it; without one the guest is not signed in.
    const opened = await get(`/v1/orders/${order.id}`, { 'order-token': order.orderToken });
    expect(opened.statusCode).toBe(200);
    expect(opened.json()).toMatchObject({ id: order.id, status: 'confirmed', email });
    expect(opened.json().orderToken).toBeUndefined();
    const other = await createProduct(system, staff);
    const second = await startGuestCart(system);
    await addToCart(system, second, other.variantId);
    const theirs = (await checkout(system, second, { email: guestEmail() })).json();
    expect((await get(`/v1/orders/${theirs.id}`, { 'order-token': order.orderToken })).statusCode).toBe(404);
    expect((await get(`/v1/orders/${order.id}`)).statusCode).toBe(401);
    expect((await get(`/v1/orders/${order.id}`, guest.headers)).statusCode).toBe(401);
    const stranger = await signIn(system);
    expect((await get(`/v1/orders/${order.id}`, stranger.headers)).statusCode).toBe(404);
    // A guest lists no orders: only a token opens one.
    expect((await get('/v1/orders', guest.headers)).statusCode).toBe(401);

    // A retry of the same checkout finds the same order, with a token of its own that opens it.
    const retried = await checkout(system, guest, { email: email.toUpperCase(), key });
    expect(retried.json().id).toBe(order.id);
    expect(retried.json().orderToken).not.toBe(order.orderToken);
    expect(
      (await get(`/v1/orders/${order.id}`, { 'order-token': retried.json().orderToken })).statusCode,
    ).toBe(200);

    // The confirmation went to the guest, with a link that opens the order.
    const [link] = await mailedLinks(dataDir, 'order_confirmed', email, ORDER_LINK);
    expect(link).toContain(`/orders/${order.id}?token=`);
    const mailed = decodeURIComponent(new URL(link).searchParams.get('token')!);
    expect((await get(`/v1/orders/${order.id}`, { 'order-token': mailed })).json().id).toBe(order.id);

    // Only the tokens' hashes are kept.
    const db = system.database.db;
    const kept = await sql<{ hash: string }>`
      select token_hash as hash from order_tokens where order_id = ${order.id}
      union all select guest_token_hash as hash from carts where guest_token_hash is not null`.execute(db);
    const hashes = kept.rows.map((row) => row.hash);
    for (const token of [cartToken, order.orderToken, mailed]) expect(hashes).not.toContain(token);
  });

  it("a guest order's token opens its shipments and returns too, and no other order's", async () => {
    const product = await createProduct(system, staff, { price: 1200 });
    const guest = await startGuestCart(system);
    await addToCart(system, guest, product.variantId, 2);
    const order = (await checkout(system, guest, { email: guestEmail() })).json();
    const shipped = await shipFirstLine(system, staff, order, { carrier: 'DHL', trackingNumber: 'JD0001' });
    expect(shipped.statusCode).toBe(201);
    const holder = { 'order-token': order.orderToken };

    const shipments = await get(`/v1/orders/${order.id}/fulfillments`, holder);
    expect(shipments.statusCode).toBe(200);
    const [parcel] = shipments.json().items;
    expect(parcel).toMatchObject({ carrier: 'DHL', trackingNumber: 'JD0001' });
    expect((await get(`/v1/orders/${order.id}/fulfillments/${parcel.id}`, holder)).json().id).toBe(parcel.id);
    const returns = await get(`/v1/orders/${order.id}/returns`, holder);
    expect(returns.statusCode).toBe(200);
    expect(returns.json().items).toEqual([]);

    // Another guest's token, or none, opens nothing of it.
    const other = await startGuestCart(system);
    await addToCart(system, other, product.variantId);
    const theirs = (await checkout(system, other, { email: guestEmail() })).json();
    const foreign = { 'order-token': theirs.orderToken };
    for (const url of [
      `/v1/orders/${order.id}/fulfillments`,
      `/v1/orders/${order.id}/fulfillments/${parcel.id}`,
      `/v1/orders/${order.id}/returns`,
    ]) {
      expect((await get(url, foreign)).statusCode).toBe(404);
      expect((await get(url)).statusCode).toBe(401);
    }
  });

  it('refuses a cart token it never made or that has expired, and sweeps expired carts', async () => {
    const unknown = await get('/v1/cart', { 'cart-token': 'x'.repeat(43) });
    expect(unknown.json()).toMatchObject({ status: 401, code: 'CART_TOKEN_INVALID' });
    const malformed = await get('/v1/cart', { 'cart-token': 'not a token!' });
    expect(malformed.json()).toMatchObject({ status: 401, code: 'INVALID_TOKEN' });

    const guest = await startGuestCart(system);
    expect((await get('/v1/cart', guest.headers)).statusCode).toBe(200);
    // Time passes: the cart was last used longer ago than GUEST_CART_TTL_HOURS.
    const db = system.database.db;
    await sql`update carts set expires_at = now() - interval '1 minute'
      where guest_token_hash is not null and expires_at > now()`.execute(db);
    expect((await get('/v1/cart', guest.headers)).json()).toMatchObject({ code: 'CART_TOKEN_INVALID' });
    const swept = await moduleOf(system, 'cart').service.sweepExpiredGuests();
    expect(swept).toBeGreaterThanOrEqual(1);
    const left = await sql<{ count: number }>`
      select count(*)::int as count from carts where expires_at <= now()`.execute(db);
    expect(left.rows[0].count).toBe(0);
  });

  it("signing in merges the guest's cart: quantities added, each line capped at the stock there is", async () => {
    const scarce = await createProduct(system, staff, { stock: 3 });
    const plenty = await createProduct(system, staff, { stock: 50 });
    const user = await signIn(system);
    await addToCart(system, user, scarce.variantId, 2);
    const guest = await startGuestCart(system);
    await addToCart(system, guest, scarce.variantId, 2);
    await addToCart(system, guest, plenty.variantId, 4);

    const withoutToken = await system.app.inject({
      method: 'POST',
      url: '/v1/cart/merge',
      headers: user.headers,
    });
    expect(withoutToken.json()).toMatchObject({ status: 400, code: 'CART_TOKEN_REQUIRED' });
    const merged = await system.app.inject({
      method: 'POST',
      url: '/v1/cart/merge',
      headers: { ...user.headers, ...guest.headers },
    });
    expect(merged.statusCode).toBe(200);
    const quantities = Object.fromEntries(
      merged.json().items.map((line: { sku: string; quantity: number }) => [line.sku, line.quantity]),
    );
    expect(quantities).toEqual({ [scarce.sku]: 3, [plenty.sku]: 4 });
    // The guest cart is gone with its token; nothing was reserved by moving lines.
    expect((await get('/v1/cart', guest.headers)).json()).toMatchObject({ code: 'CART_TOKEN_INVALID' });
    expect((await stockOf(system, staff, scarce.sku)).available).toBe(3);
    // A guest cannot merge: only a signed-in user has a cart to merge into.
    const another = await startGuestCart(system);
    const byGuest = await system.app.inject({
      method: 'POST',
      url: '/v1/cart/merge',
      headers: another.headers,
    });
    expect(byGuest.statusCode).toBe(401);
  });

  it('a guest who registers with the same address and proves it sees their guest orders', async () => {
    const product = await createProduct(system, staff, { price: 1800 });
    const email = guestEmail();
    const guest = await startGuestCart(system);
    await addToCart(system, guest, product.variantId);
    const order = (await checkout(system, guest, { email, address: ADDRESS })).json();
    expect(order.status).toBe('confirmed');

    const registered = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD, name: 'Grace Hopper' },
    });
    expect(registered.statusCode).toBe(201);
    const { accessToken, user } = registered.json();
    const headers = { authorization: `Bearer ${accessToken}` };
    // Not proven yet: the guest's order is not theirs.
    expect((await get('/v1/orders', headers)).json().total).toBe(0);

    const [link] = await mailedLinks(
      dataDir,
      'welcome',
      email,
      /https:\/\/shop\.example\.test\/verify-email\?token=[\w%-]+/,
    );
    const token = decodeURIComponent(new URL(link).searchParams.get('token')!);
    const verified = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/verify-email',
      payload: { token },
    });
    expect(verified.statusCode).toBe(200);
    const mine = await eventually(async () => {
      const list = (await get('/v1/orders', headers)).json();
      return list.total === 1 ? list : undefined;
    });
    expect(mine.items[0]).toMatchObject({ id: order.id, userId: user.id, email });
    const customer = (await get(`/v1/customers/${user.id}`, staff.headers)).json();
    expect(customer.orderCount).toBe(1);
  });

  it('a code limited per customer asks a guest to sign in', async () => {
    const product = await createProduct(system, staff, { price: 5000 });
    const code = `ONCE${randomUUID().slice(0, 6).toUpperCase()}`;
    const created = await system.app.inject({
      method: 'POST',
      url: '/v1/promotions',
      headers: staff.headers,
      payload: { code, kind: 'percentage', value: 10, perCustomerLimit: 1 },
    });
    expect(created.statusCode).toBe(201);
    const guest = await startGuestCart(system);
    await addToCart(system, guest, product.variantId);
    const applied = await system.app.inject({
      method: 'POST',
      url: '/v1/cart/promotions',
      headers: guest.headers,
      payload: { code },
    });
    expect(applied.json()).toMatchObject({ status: 400, code: 'PROMOTION_INVALID' });
    expect(applied.json().detail).toBe('This code is for signed-in customers: sign in or register to use it');
  });
});
