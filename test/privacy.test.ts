import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { mailedLinks } from './support/mail.ts';
import { ADDRESS, addToCart, checkout, createProduct, eventually, review } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * The owner's rights over their data: a copy of everything held about them, and erasure that
 * removes the personal data everywhere it is held while the orders stay for the accounts.
 */
describe.each(dbKinds)('privacy on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-privacy-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir, WEBHOOKS_ALLOW_PRIVATE: 'true' });
    await system.startWorkers();
    staff = await signIn(system, 'staff');
  });
  afterAll(async () => {
    await system.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  const call = (
    headers: Record<string, string>,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: object,
  ) => system.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  /** A customer who saved an address, bought a product, reviewed it, and has one more in the cart. */
  async function busyCustomer() {
    const user = await signIn(system);
    const product = await createProduct(system, staff, { price: 3000 });
    const later = await createProduct(system, staff);
    await call(user.headers, 'POST', '/v1/users/me/addresses', ADDRESS);
    await addToCart(system, user, product.variantId);
    const order = (await checkout(system, user)).json();
    expect(order.status).toBe('confirmed');
    const written = await review(system, user, product.productId, { rating: 5, body: 'Sturdy and bright.' });
    expect(written.statusCode).toBe(201);
    await addToCart(system, user, later.variantId);
    return { user, product, order, review: written.json() };
  }

  it('exports everything held about the customer as a JSON download, and nobody else’s', async () => {
    const { user, order, review: written } = await busyCustomer();
    const other = await busyCustomer();
    const response = await call(user.headers, 'GET', '/v1/users/me/export');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="emporium-data-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(response.headers['cache-control']).toBe('no-store');
    const data = response.json();
    expect(data.profile).toMatchObject({ id: user.id, email: user.email });
    expect(data.addresses).toHaveLength(1);
    expect(data.addresses[0]).toMatchObject({ line1: ADDRESS.line1, isDefault: true });
    expect(data.orders.map((entry: { id: string }) => entry.id)).toEqual([order.id]);
    expect(data.reviews.map((entry: { id: string }) => entry.id)).toEqual([written.id]);
    expect(data.securityEvents.map((entry: { event: string }) => entry.event)).toContain('login.succeeded');
    expect(JSON.stringify(data)).not.toContain(other.order.id);
    expect(JSON.stringify(data)).not.toContain(other.user.email);
  });

  it('erases the account with its password: no sign-in, no personal data left; orders kept anonymised, the review kept anonymous', async () => {
    // An integration hears everything (its receiver is down: the deliveries wait and are retried).
    const admin = await signIn(system, 'admin');
    const hooked = await call(admin.headers, 'POST', '/v1/webhooks', {
      url: 'http://127.0.0.1:9/hooks',
      events: ['*'],
    });
    expect(hooked.statusCode).toBe(201);
    const { user, order, product, review: written } = await busyCustomer();
    await mailedLinks(dataDir, 'order_confirmed', user.email, /\/orders\//);
    // What the outbox relayed and the webhooks queued about the account.
    const history = () =>
      sql<{ type: string; place: string }>`
        select type, 'outbox' as place from outbox where data->>'userId' = ${user.id}
        union all
        select event_type as type, 'webhooks' as place from webhook_deliveries
          where (payload::jsonb -> 'data' ->> 'userId') = ${user.id}
        order by place`.execute(system.database.db);
    await eventually(async () => {
      const { rows } = await history();
      return rows.some((row) => row.place === 'webhooks' && row.type === 'order.confirmed') || undefined;
    });
    expect((await history()).rows).toContainEqual({ type: 'order.confirmed', place: 'outbox' });
    const wrong = await call(user.headers, 'DELETE', '/v1/users/me', { password: 'not my password' });
    expect(wrong.statusCode).toBe(401);
    expect((await call(user.headers, 'GET', '/v1/users/me')).json().email).toBe(user.email);

    expect((await call(user.headers, 'DELETE', '/v1/users/me', { password: PASSWORD })).statusCode).toBe(204);
    // Every session ended, and the address and password sign in no more.
    expect((await call(user.headers, 'GET', '/v1/users/me')).statusCode).toBe(401);
    const refreshed = await call({}, 'POST', '/v1/auth/refresh', { refreshToken: user.refreshToken });
    expect(refreshed.statusCode).toBe(401);
    const login = await call({}, 'POST', '/v1/auth/login', { email: user.email, password: PASSWORD });
    expect(login.json()).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });

    const db = system.database.db;
    const account = (await call(staff.headers, 'GET', `/v1/users/${user.id}`)).json();
    expect(account).toMatchObject({ name: 'Erased customer', emailVerified: false });
    expect(account.email).not.toContain(user.email.split('@')[0]);
    const left = await sql<{ addresses: number; audit: number }>`
      select (select count(*)::int from user_addresses where user_id = ${user.id}) as addresses,
             (select count(*)::int from security_audit where user_id = ${user.id}
                and (email is not null or ip is not null or user_agent is not null)
                -- What came after (the stale refresh token tried above) is about whoever tried it.
                and at <= (select at from security_audit where user_id = ${user.id} and event = 'account.erased'))
               as audit`.execute(db);
    expect(left.rows[0]).toEqual({ addresses: 0, audit: 0 });
    const customers = (
      await call(staff.headers, 'GET', `/v1/customers?q=${encodeURIComponent(user.email)}`)
    ).json();
    expect(customers.total).toBe(0);

    // The other modules erase theirs when user.erased reaches them.
    const kept = await eventually(async () => {
      const found = (await call(staff.headers, 'GET', `/v1/orders/${order.id}`)).json();
      return found.shippingAddress.name === 'Erased customer' ? found : undefined;
    });
    expect(kept.shippingAddress).toEqual({
      name: 'Erased customer',
      line1: 'erased',
      city: 'erased',
      postalCode: 'erased',
      country: ADDRESS.country,
    });
    expect(kept.total).toEqual(order.total);
    expect(kept.items).toEqual(order.items);
    await eventually(async () => {
      const rows = await sql<{ carts: number; mails: number; logged: number }>`
        select (select count(*)::int from carts where shopper_id = ${user.id}) as carts,
               (select count(*)::int from mail_queue where recipients like ${`%${user.email}%`}) as mails,
               (select count(*)::int from notification_log where recipient = ${user.email}) as logged`.execute(
        db,
      );
      return rows.rows[0].carts + rows.rows[0].mails + rows.rows[0].logged === 0 ? true : undefined;
    });
    const reviews = (await call({}, 'GET', `/v1/products/${product.productId}/reviews`)).json();
    expect(reviews.items.map((entry: { id: string; body: string }) => [entry.id, entry.body])).toEqual([
      [written.id, 'Sturdy and bright.'],
    ]);
    // Both go with the account; the events that name it by id alone (the erasure, its sessions
    // ended) stay, to tell receivers.
    await eventually(async () => {
      const { rows } = await history();
      return rows.length > 0 &&
        rows.every((row) => ['user.erased', 'user.sessions_revoked'].includes(row.type))
        ? true
        : undefined;
    });
  });

  it('asks a staff account to lose its rights first', async () => {
    const clerk = await signIn(system, 'staff');
    const refused = await call(clerk.headers, 'DELETE', '/v1/users/me', { password: PASSWORD });
    expect(refused.json()).toMatchObject({ status: 409, code: 'STAFF_ACCOUNT' });
    expect((await call(clerk.headers, 'GET', '/v1/users/me')).statusCode).toBe(200);
  });
});
