import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canTransition, type OrderStatus } from '../src/modules/ordering/index.ts';
import { freePort, killAll, startCli, startEmporium } from './deploy/processes.ts';
import { type SignedInUser, signIn } from './support/auth.ts';
import { createTestDatabase, dbKinds, type TestDatabase } from './support/db.ts';
import { callServer, signUpAt } from './support/remote.ts';
import { ADDRESS, addToCart, checkout, createProduct, stockOf } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Invariant 9: an order ends shipped with its capture, or cancelled with its refund — never both.
 * The owner's cancel and staff's fulfillment race over one confirmed order, round after round,
 * with varied head starts; whichever wins, the loser is refused and changes nothing.
 */
const ROUNDS = 24;
const PRICE = 1500;

/** Deterministic head starts (0-19 ms) so a failing round can be replayed. */
const delays = (round: number) => [(round * 7) % 20, (round * 13 + 5) % 20] as const;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  cancel: number;
  ship: number;
  status: string;
  refunded: number;
  onHand: number;
  reserved: number;
  providerRefunds: number;
  providerCaptures: number;
}

/** What must hold after a round, whichever request won. */
function expectOneWinner(outcome: Outcome, label: string) {
  const cancelled = outcome.cancel === 200;
  const shipped = outcome.ship === 201;
  expect(cancelled !== shipped, `${label}: exactly one wins ${JSON.stringify(outcome)}`).toBe(true);
  expect([outcome.cancel, outcome.ship].sort(), label).toEqual(cancelled ? [200, 409] : [201, 409]);
  if (cancelled) {
    expect(outcome, label).toMatchObject({
      status: 'cancelled',
      refunded: PRICE,
      onHand: 3,
      reserved: 0,
      providerCaptures: PRICE,
      providerRefunds: PRICE,
    });
  } else {
    expect(outcome, label).toMatchObject({
      status: 'shipped',
      refunded: 0,
      onHand: 2,
      reserved: 0,
      providerCaptures: PRICE,
      providerRefunds: 0,
    });
  }
}

const sumOf = (
  entries: Array<{ kind: string; amount: number; reference: string }>,
  orderId: string,
  kind: string,
) =>
  entries
    .filter((entry) => entry.reference === orderId && entry.kind === kind)
    .reduce((sum, entry) => sum + entry.amount, 0);

describe.each(dbKinds)('cancel racing fulfillment on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { RECOVERY_INTERVAL_MS: '200' });
    await system.startWorkers();
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  it(`ends shipped-and-captured or cancelled-and-refunded, never both (${ROUNDS} rounds)`, async () => {
    const ledger = () => system.sandbox!.ledger();
    const winners = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const variant = await createProduct(system, staff, { stock: 3, price: PRICE });
      const buyer = await signIn(system);
      await addToCart(system, buyer, variant.variantId);
      const placed = await checkout(system, buyer);
      expect(placed.statusCode).toBe(201);
      const order = placed.json();
      const [cancelDelay, shipDelay] = delays(round);
      const [cancel, ship] = await Promise.all([
        pause(cancelDelay).then(() =>
          system.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: buyer.headers }),
        ),
        pause(shipDelay).then(() =>
          system.app.inject({
            method: 'POST',
            url: `/v1/orders/${order.id}/fulfillments`,
            headers: staff.headers,
            payload: {
              items: [{ orderItemId: order.items[0].id, quantity: 1 }],
              carrier: 'DHL',
              trackingNumber: `T-${round}`,
            },
          }),
        ),
      ]);
      const final = (
        await system.app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: staff.headers })
      ).json();
      const stock = await stockOf(system, staff, variant.sku);
      const outcome: Outcome = {
        cancel: cancel.statusCode,
        ship: ship.statusCode,
        status: final.status,
        refunded: final.payment.refunded.amount,
        onHand: stock.onHand,
        reserved: stock.reserved,
        providerCaptures: sumOf(ledger(), order.id, 'capture'),
        providerRefunds: sumOf(ledger(), order.id, 'refund'),
      };
      expectOneWinner(outcome, `round ${round} (${cancelDelay}/${shipDelay} ms)`);
      winners.add(cancel.statusCode === 200 ? 'cancel' : 'ship');
    }
    // The head starts are varied enough for each side to win some rounds.
    expect([...winners].sort()).toEqual(['cancel', 'ship']);
  });

  it('the database itself refuses a status change the state machine does not allow', async () => {
    const { rows } = await sql<{ from: OrderStatus; to: OrderStatus }>`
      select from_status as from, to_status as to from order_status_transitions`.execute(system.database.db);
    const statuses: OrderStatus[] = ['pending', 'confirmed', 'cancelled', 'partially_shipped', 'shipped'];
    for (const from of statuses) {
      for (const to of statuses.filter((status) => status !== from)) {
        expect(
          rows.some((row) => row.from === from && row.to === to),
          `${from} -> ${to}`,
        ).toBe(canTransition(from, to));
      }
    }
    const variant = await createProduct(system, staff, { stock: 2 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const order = (await checkout(system, buyer)).json();
    const update = (set: ReturnType<typeof sql>) =>
      sql`update orders set ${set} where id = ${order.id}`.execute(system.database.db);
    await expect(update(sql`status = 'pending'`)).rejects.toMatchObject({ code: 'EM001' });
    await update(sql`saga_step = 'cancel_refund'`);
    // A cancellation under way: the goods cannot ship, whatever code tries.
    await expect(update(sql`status = 'shipped'`)).rejects.toMatchObject({ code: 'EM001' });
    await update(sql`status = 'cancelled', saga_step = 'done'`);
    await expect(update(sql`status = 'confirmed'`)).rejects.toMatchObject({ code: 'EM001' });
    await expect(update(sql`saga_step = 'cancel_refund'`)).rejects.toMatchObject({ code: 'EM001' });
  });
});

describe.runIf(process.env.DATABASE_URL)('cancel racing fulfillment across server processes', () => {
  let database: TestDatabase;
  let paymentsUrl: string;
  const admin = { email: 'admin@races.test', password: 'admin-password-1' };
  const servers: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const paymentsPort = await freePort();
    await startCli(['psp-sandbox', '--port', String(paymentsPort)], { LOG_LEVEL: 'silent' }, 'listening on');
    paymentsUrl = `http://127.0.0.1:${paymentsPort}`;
    for (const role of ['all', 'api']) {
      const port = await freePort();
      await startEmporium(port, role, {
        DATABASE_URL: database.url!,
        PAYMENTS_URL: paymentsUrl,
        LOG_LEVEL: 'info',
        SEED_PRODUCTS: '0',
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        REGISTER_LIMIT_PER_MINUTE: '100000',
        EMPORIUM_ADMIN_EMAIL: admin.email,
        EMPORIUM_ADMIN_PASSWORD: admin.password,
        RECOVERY_INTERVAL_MS: '300',
      });
      servers.push(`http://127.0.0.1:${port}`);
    }
  }, 300_000);
  afterAll(async () => {
    await killAll();
    await database.dispose();
  });

  it('the owner cancels on one process while staff ship on another: one wins, every round', async () => {
    const [first, second] = servers;
    const login = await callServer(first, 'POST', '/v1/auth/login', admin);
    const staff = { authorization: `Bearer ${login.body.accessToken}` };
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const sku = `RACE-${randomUUID().slice(0, 12)}`;
      const product = await callServer(
        first,
        'POST',
        '/v1/products',
        { name: `Raced ${sku}`, variants: [{ sku, price: { amount: PRICE, currency: 'EUR' }, stock: 3 }] },
        staff,
      );
      expect(product.status).toBe(201);
      const buyer = await signUpAt(first, 'races.test');
      const buyerHeaders = { authorization: buyer.authorization };
      await callServer(
        first,
        'POST',
        '/v1/cart/items',
        { variantId: product.body.variants[0].id, quantity: 1 },
        buyerHeaders,
      );
      const placed = await callServer(
        first,
        'POST',
        '/v1/orders',
        { shippingAddress: ADDRESS, payment: { token: 'tok_visa' } },
        { ...buyerHeaders, 'idempotency-key': randomUUID() },
      );
      expect(placed.status).toBe(201);
      const order = placed.body;
      // Alternate which process takes which side.
      const [cancelAt, shipAt] = round % 2 === 0 ? [first, second] : [second, first];
      const [cancelDelay, shipDelay] = delays(round);
      const [cancel, ship] = await Promise.all([
        pause(cancelDelay).then(() =>
          callServer(cancelAt, 'POST', `/v1/orders/${order.id}/cancel`, undefined, buyerHeaders),
        ),
        pause(shipDelay).then(() =>
          callServer(
            shipAt,
            'POST',
            `/v1/orders/${order.id}/fulfillments`,
            {
              items: [{ orderItemId: order.items[0].id, quantity: 1 }],
              carrier: 'DHL',
              trackingNumber: `T-${round}`,
            },
            staff,
          ),
        ),
      ]);
      const final = (await callServer(second, 'GET', `/v1/orders/${order.id}`, undefined, staff)).body;
      const stock = (await callServer(first, 'GET', `/v1/inventory/${sku}`, undefined, staff)).body;
      const ledger = (await callServer(paymentsUrl, 'GET', '/v1/ledger')).body.entries;
      expectOneWinner(
        {
          cancel: cancel.status,
          ship: ship.status,
          status: final.status,
          refunded: final.payment.refunded.amount,
          onHand: stock.onHand,
          reserved: stock.reserved,
          providerCaptures: sumOf(ledger, order.id, 'capture'),
          providerRefunds: sumOf(ledger, order.id, 'refund'),
        },
        `round ${round}`,
      );
    }
  });
});
