import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, startCli, startEmporium } from './deploy/processes.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { callServer, signUpAt } from './support/remote.ts';
import { ADDRESS, eventually } from './support/shop.ts';

/**
 * Invariants 1-4 across real processes on one PostgreSQL: several API servers sell the same
 * stock, and a server killed in the middle of checkouts leaves nothing in between.
 */
describe.runIf(process.env.DATABASE_URL)('several server processes on one PostgreSQL', () => {
  let database: TestDatabase;
  let paymentsUrl: string;
  const admin = { email: 'admin@multi.test', password: 'admin-password-1' };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const port = await freePort();
    await startCli(['psp-sandbox', '--port', String(port)], { LOG_LEVEL: 'silent' }, 'listening on');
    paymentsUrl = `http://127.0.0.1:${port}`;
  });
  // A test that fails half-way must not leave the provider slow for the next.
  afterEach(async () => {
    await fetch(`${paymentsUrl}/v1/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 0 }),
    });
  });
  afterAll(async () => {
    await killAll();
    await database.dispose();
  });

  const serverEnv = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: database.url!,
    PAYMENTS_URL: paymentsUrl,
    PAYMENTS_TIMEOUT_MS: '8000',
    // The readiness line ("ready in") is logged at info.
    LOG_LEVEL: 'info',
    SEED_PRODUCTS: '0',
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    REGISTER_LIMIT_PER_MINUTE: '100000',
    EMPORIUM_ADMIN_EMAIL: admin.email,
    EMPORIUM_ADMIN_PASSWORD: admin.password,
    RECOVERY_INTERVAL_MS: '300',
    ...extra,
  });

  async function start(role: string, extra?: Record<string, string>) {
    const port = await freePort();
    const process = await startEmporium(port, role, serverEnv(extra));
    return { process, url: `http://127.0.0.1:${port}` };
  }

  const call = callServer;
  const signUp = async (base: string) => ({
    authorization: (await signUpAt(base, 'multi.test')).authorization,
  });

  /** Two more stock locations besides the main warehouse (made once; later calls find them made). */
  const LOCATIONS = [
    { code: 'north', name: 'North depot', priority: 2, countries: ['GB'] },
    { code: 'south', name: 'South depot', priority: 3, countries: ['FR'] },
  ];

  /** A product whose stock is spread over the three locations as `perLocation` says. */
  async function newProduct(base: string, perLocation: [number, number, number]) {
    const login = await call(base, 'POST', '/v1/auth/login', admin);
    const staff = { authorization: `Bearer ${login.body.accessToken}` };
    for (const location of LOCATIONS) {
      expect([201, 409]).toContain((await call(base, 'POST', '/v1/stock-locations', location, staff)).status);
    }
    const sku = `MP-${randomUUID().slice(0, 12)}`;
    const created = await call(
      base,
      'POST',
      '/v1/products',
      {
        name: `Contested ${sku}`,
        variants: [{ sku, price: { amount: 900, currency: 'EUR' }, stock: perLocation[0] }],
      },
      staff,
    );
    expect(created.status).toBe(201);
    for (const [index, location] of LOCATIONS.entries()) {
      const set = await call(
        base,
        'PUT',
        `/v1/inventory/${sku}/locations/${location.code}`,
        { onHand: perLocation[index + 1] },
        staff,
      );
      expect(set.status).toBe(200);
    }
    return { variantId: created.body.variants[0].id as string, sku, staff };
  }

  async function ordersOf(variantSku: string) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // One snapshot: checkouts commit between statements, and the totals must match the locations as of one moment.
      await client.query('begin isolation level repeatable read read only');
      const orders = await client.query<{ id: string; status: string }>(
        `select o.id, o.status from orders o join order_items i on i.order_id = o.id where i.sku = $1`,
        [variantSku],
      );
      const stock = await client.query<{ on_hand: number; reserved: number }>(
        'select on_hand, reserved from inventory_items where sku = $1',
        [variantSku],
      );
      const levels = await client.query<{ on_hand: number; reserved: number }>(
        `select l.on_hand, l.reserved from inventory_levels l
         join inventory_items i on i.variant_id = l.variant_id where i.sku = $1`,
        [variantSku],
      );
      // Every location stays within itself, and the totals are the sums of the locations.
      for (const level of levels.rows) {
        expect(level.reserved).toBeGreaterThanOrEqual(0);
        expect(level.reserved).toBeLessThanOrEqual(level.on_hand);
      }
      const sum = (pick: (level: { on_hand: number; reserved: number }) => number) =>
        levels.rows.reduce((total, level) => total + pick(level), 0);
      expect({ on_hand: sum((level) => level.on_hand), reserved: sum((level) => level.reserved) }).toEqual(
        stock.rows[0],
      );
      return { orders: orders.rows, stock: stock.rows[0] };
    } finally {
      await client.query('rollback').catch(() => undefined);
      await client.end();
    }
  }

  it('three API processes sell 10 units in three locations to 60 racing buyers: exactly 10 orders confirmed', {
    timeout: 300_000,
  }, async () => {
    const servers = await Promise.all([start('all'), start('api'), start('api')]);
    const urls = servers.map((server) => server.url);
    // Besides the JSON log, one line a person reads: where everything is, and who signs in.
    expect(servers[0].process.output()).toContain(
      `Emporium is ready: shop ${urls[0]}/ · console ${urls[0]}/admin/ · API ${urls[0]}/v1 (docs ${urls[0]}/docs) · console sign-in: ${admin.email}`,
    );
    const product = await newProduct(urls[0], [4, 3, 3]);
    const buyers = await Promise.all(Array.from({ length: 60 }, (_, index) => signUp(urls[index % 3])));
    for (const [index, buyer] of buyers.entries()) {
      const added = await call(
        urls[index % 3],
        'POST',
        '/v1/cart/items',
        { variantId: product.variantId, quantity: 1 },
        buyer,
      );
      expect(added.status).toBe(201);
    }
    const answers = await Promise.all(
      buyers.map((buyer, index) =>
        call(
          urls[index % 3],
          'POST',
          '/v1/orders',
          // Buyers in the countries the depots serve and elsewhere draw from different locations first.
          {
            shippingAddress: { ...ADDRESS, country: ['GB', 'FR', 'DE'][index % 3] },
            payment: { token: 'tok_visa' },
          },
          {
            ...buyer,
            'idempotency-key': randomUUID(),
          },
        ),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201 || status === 202)).toHaveLength(10);
    expect(statuses.filter((status) => status === 409)).toHaveLength(50);
    const settled = await eventually(async () => {
      const state = await ordersOf(product.sku);
      return state.orders.some((order) => order.status === 'pending') ? undefined : state;
    }, 60_000);
    expect(settled.orders.filter((order) => order.status === 'confirmed')).toHaveLength(10);
    expect(settled.stock).toEqual({ on_hand: 0, reserved: 0 });
    for (const server of servers) server.process.child.kill('SIGKILL');
  });

  it('a server killed mid-checkout over three locations leaves every order confirmed or cancelled and no stock held anywhere', {
    timeout: 300_000,
  }, async () => {
    // A slow provider keeps checkouts in flight when the server dies.
    await fetch(`${paymentsUrl}/v1/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 1500 }),
    });
    const doomed = await start('all', { REQUEST_TIMEOUT_MS: '3000' });
    const product = await newProduct(doomed.url, [8, 6, 6]);
    const buyers = await Promise.all(Array.from({ length: 8 }, () => signUp(doomed.url)));
    for (const buyer of buyers) {
      await call(doomed.url, 'POST', '/v1/cart/items', { variantId: product.variantId, quantity: 2 }, buyer);
    }
    const keys = buyers.map(() => randomUUID());
    const order = { shippingAddress: ADDRESS, payment: { token: 'tok_visa' } };
    const inFlight = buyers.map((buyer, index) =>
      call(doomed.url, 'POST', '/v1/orders', order, { ...buyer, 'idempotency-key': keys[index]! }).catch(
        (error: Error) => ({ status: 0, body: error.message }),
      ),
    );
    await eventually(
      async () => ((await ordersOf(product.sku)).orders.length >= 4 ? true : undefined),
      20_000,
      20,
    );
    doomed.process.child.kill('SIGKILL');
    await Promise.all(inFlight);
    const left = await ordersOf(product.sku);
    // The kill really caught checkouts in the middle of their saga.
    expect(left.orders.some((order) => order.status === 'pending')).toBe(true);

    await fetch(`${paymentsUrl}/v1/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 0 }),
    });
    const survivor = await start('all', { REQUEST_TIMEOUT_MS: '3000' });
    const settled = await eventually(
      async () => {
        const state = await ordersOf(product.sku);
        return state.orders.some((order) => order.status === 'pending') ? undefined : state;
      },
      60_000,
      250,
    );
    for (const order of settled.orders) expect(['confirmed', 'cancelled']).toContain(order.status);
    const sold = settled.orders.filter((order) => order.status === 'confirmed').length * 2;
    expect(settled.stock).toEqual({ on_hand: 20 - sold, reserved: 0 });

    // Money: each confirmed order captured exactly once, nothing captured for a cancelled one.
    const { entries: ledger } = (await (await fetch(`${paymentsUrl}/v1/ledger`)).json()) as {
      entries: Array<{ kind: string; reference: string; amount: number }>;
    };
    for (const order of settled.orders) {
      const captures = ledger.filter((entry) => entry.reference === order.id && entry.kind === 'capture');
      expect(captures).toHaveLength(order.status === 'confirmed' ? 1 : 0);
    }

    // Each buyer retries with the key the killed server never answered. Its HTTP idempotency record
    // died "in progress" with the process, so once that lapses the retry runs the handler again; the
    // order row holds the key, written in the transaction that made the order, so the retry answers
    // that order (confirmed, or cancelled with the cart back) instead of making a second one.
    const retries = await Promise.all(
      buyers.map((buyer, index) =>
        eventually(
          async () => {
            const answer = await call(survivor.url, 'POST', '/v1/orders', order, {
              ...buyer,
              'idempotency-key': keys[index]!,
            });
            return answer.body?.code === 'IDEMPOTENCY_IN_PROGRESS' ? undefined : answer;
          },
          30_000,
          250,
        ),
      ),
    );
    const named = retries.map((answer) => answer.body.id ?? answer.body.orderId);
    for (const earlier of settled.orders) expect(named.filter((id) => id === earlier.id)).toHaveLength(1);
    const fresh = named.filter((id) => !settled.orders.some((earlier) => earlier.id === id));
    expect((await ordersOf(product.sku)).orders).toHaveLength(settled.orders.length + fresh.length);
    survivor.process.child.kill('SIGKILL');
  });

  it('a server killed mid-edit leaves every edit made or undone, its charge given back, and the stock true', {
    timeout: 300_000,
  }, async () => {
    const doomed = await start('all', { REQUEST_TIMEOUT_MS: '3000' });
    const product = await newProduct(doomed.url, [20, 0, 0]);
    const buyers = await Promise.all(Array.from({ length: 4 }, () => signUp(doomed.url)));
    const placed: Array<{ id: string; itemId: string; total: number }> = [];
    for (const buyer of buyers) {
      await call(doomed.url, 'POST', '/v1/cart/items', { variantId: product.variantId, quantity: 1 }, buyer);
      const order = await call(
        doomed.url,
        'POST',
        '/v1/orders',
        { shippingAddress: ADDRESS, payment: { token: 'tok_visa' } },
        { ...buyer, 'idempotency-key': randomUUID() },
      );
      expect(order.status).toBe(201);
      placed.push({ id: order.body.id, itemId: order.body.items[0].id, total: order.body.total.amount });
    }
    // A slow provider keeps the edits' charges in flight when the server dies.
    const setLatency = (latencyMs: number) =>
      fetch(`${paymentsUrl}/v1/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latencyMs }),
      });
    await setLatency(1500);
    const inFlight = placed.map((order) =>
      call(
        doomed.url,
        'POST',
        `/v1/orders/${order.id}/edits`,
        { change: [{ itemId: order.itemId, quantity: 3 }], payment: { token: 'tok_visa' } },
        { ...product.staff, 'idempotency-key': randomUUID() },
      ).catch((error: Error) => ({ status: 0, body: error.message })),
    );
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const edits = async () =>
      (
        await client.query<{ id: string; order_id: string; status: string; difference: number }>(
          'select id, order_id, status, difference from order_edits where order_id = any($1::uuid[])',
          [placed.map((order) => order.id)],
        )
      ).rows;
    try {
      await eventually(async () => ((await edits()).length >= 2 ? true : undefined), 20_000, 20);
      doomed.process.child.kill('SIGKILL');
      await Promise.all(inFlight);
      // The kill really caught edits half-way: charged or charging, not applied.
      expect((await edits()).some((edit) => edit.status === 'charging')).toBe(true);

      await setLatency(0);
      const survivor = await start('all', { REQUEST_TIMEOUT_MS: '3000' });
      const settled = await eventually(
        async () => {
          const rows = await edits();
          return rows.every((edit) => edit.status === 'applied' || edit.status === 'failed')
            ? rows
            : undefined;
        },
        60_000,
        250,
      );
      const { entries: ledger } = (await (await fetch(`${paymentsUrl}/v1/ledger`)).json()) as {
        entries: Array<{ kind: string; reference: string; amount: number }>;
      };
      const held = (reference: string) =>
        ledger
          .filter((entry) => entry.reference === reference)
          .reduce(
            (sum, e) => sum + (e.kind === 'capture' ? e.amount : e.kind === 'refund' ? -e.amount : 0),
            0,
          );
      let units = 0;
      for (const order of placed) {
        const edit = settled.find((row) => row.order_id === order.id);
        const made = edit?.status === 'applied';
        // An edit not made keeps nothing it charged; one made holds its difference.
        if (edit) expect(held(edit.id)).toBe(made ? edit.difference : 0);
        expect(held(order.id)).toBe(order.total);
        units += made ? 3 : 1;
      }
      expect((await ordersOf(product.sku)).stock).toEqual({ on_hand: 20 - units, reserved: 0 });
      survivor.process.child.kill('SIGKILL');
    } finally {
      await client.end();
    }
  });
});
