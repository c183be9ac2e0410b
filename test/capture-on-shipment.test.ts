import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct, stockOf } from './support/shop.ts';
import { type StripeEmulator, startStripeEmulator } from './support/stripe-emulator.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

type Line = { id: string; quantity: number };
type PlacedOrder = { id: string; items: Line[]; total: { amount: number } };

/**
 * PAYMENTS_CAPTURE=on_shipment: the order is confirmed on an authorization; each shipment
 * captures its share (discount, tax and, with the last units, shipping included), so the
 * shipments together capture exactly the total; a cancel before shipping voids the hold.
 */
describe.each(dbKinds)('capture as the goods ship, with the sandbox, on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_CAPTURE: 'on_shipment', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: 'GET' | 'POST', url: string, user: SignedInUser, payload?: object) =>
    system.app.inject({ method, url, headers: user.headers, payload });
  const ledgerOf = (orderId: string) =>
    system.sandbox!.ledger().filter((entry) => entry.reference === orderId);
  const ship = (order: PlacedOrder, items: Array<{ line: number; quantity: number }>) =>
    call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
      items: items.map((item) => ({ orderItemId: order.items[item.line]!.id, quantity: item.quantity })),
      carrier: 'DHL',
      trackingNumber: 'T-1',
    });

  async function place(): Promise<{ order: PlacedOrder; buyer: SignedInUser; skus: string[] }> {
    const mug = await createProduct(system, staff, { price: 1333, stock: 10 });
    const tee = await createProduct(system, staff, { price: 2399, stock: 10 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, mug.variantId, 3);
    await addToCart(system, buyer, tee.variantId, 1);
    const answer = await checkout(system, buyer);
    expect(answer.statusCode, answer.body).toBe(201);
    const order: PlacedOrder = answer.json();
    // Lines in the order they were added: the three mugs, then the tee.
    order.items.sort((a, b) => b.quantity - a.quantity);
    return { order, buyer, skus: [mug.sku, tee.sku] };
  }

  it('confirms on the authorization, and the shipments capture shares that add up to the total exactly', async () => {
    const { order, buyer } = await place();
    expect(order).toMatchObject({
      status: 'confirmed',
      payment: { status: 'authorized', captured: { amount: 0 } },
    });
    expect(ledgerOf(order.id).map((entry) => entry.kind)).toEqual(['authorize']);

    expect((await ship(order, [{ line: 0, quantity: 1 }])).statusCode).toBe(201);
    const first = (await call('GET', `/v1/orders/${order.id}`, buyer)).json();
    expect(first).toMatchObject({ status: 'partially_shipped', payment: { status: 'partially_captured' } });
    const captures = () => ledgerOf(order.id).filter((entry) => entry.kind === 'capture');
    expect(captures()).toHaveLength(1);
    expect(first.payment.captured.amount).toBe(captures()[0]!.amount);
    // Partly captured money can be refunded, never beyond what was taken.
    const tooMuch = await call('POST', `/v1/orders/${order.id}/refunds`, staff, {
      amount: { amount: first.payment.captured.amount + 1, currency: 'EUR' },
      reason: 'goodwill',
    });
    expect(tooMuch.json().code).toBe('REFUND_EXCEEDS_CAPTURED');
    expect(
      (
        await call('POST', `/v1/orders/${order.id}/refunds`, staff, {
          amount: { amount: 100, currency: 'EUR' },
          reason: 'goodwill',
        })
      ).statusCode,
    ).toBe(201);

    expect((await ship(order, [{ line: 0, quantity: 2 }])).statusCode).toBe(201);
    expect((await ship(order, [{ line: 1, quantity: 1 }])).statusCode).toBe(201);
    const last = (await call('GET', `/v1/orders/${order.id}`, buyer)).json();
    const taken = captures().reduce((sum, entry) => sum + entry.amount, 0);
    expect(captures()).toHaveLength(3);
    expect(taken).toBe(order.total.amount);
    expect(last).toMatchObject({
      status: 'shipped',
      payment: {
        status: 'partially_refunded',
        captured: { amount: order.total.amount },
        refunded: { amount: 100 },
      },
    });
    // Nothing more can ship, so nothing more is captured.
    expect((await ship(order, [{ line: 1, quantity: 1 }])).json().code).toBe('INVALID_STATE');
    expect(captures()).toHaveLength(3);
  });

  it('a cancel before anything shipped voids the authorization: nothing is captured or refunded', async () => {
    const { order, buyer, skus } = await place();
    const cancelled = await call('POST', `/v1/orders/${order.id}/cancel`, buyer);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', payment: { status: 'voided' } });
    expect(ledgerOf(order.id).map((entry) => entry.kind)).toEqual(['authorize', 'void']);
    expect((await stockOf(system, staff, skus[0]!)).onHand).toBe(10);
  });

  it('a shipment racing a cancel: exactly one wins, and the money follows it', async () => {
    for (let round = 0; round < 6; round++) {
      const { order, buyer } = await place();
      const [shipped, cancelled] = await Promise.all([
        ship(order, [{ line: 1, quantity: 1 }]),
        call('POST', `/v1/orders/${order.id}/cancel`, buyer),
      ]);
      const kinds = ledgerOf(order.id).map((entry) => entry.kind);
      const final = (await call('GET', `/v1/orders/${order.id}`, staff)).json();
      if (shipped.statusCode === 201) {
        expect(cancelled.statusCode).toBe(409);
        expect(final.status).toBe('partially_shipped');
        expect(kinds).toEqual(['authorize', 'capture']);
      } else {
        expect(shipped.statusCode, shipped.body).toBe(409);
        expect(cancelled.statusCode).toBe(200);
        expect(final.status).toBe('cancelled');
        expect(kinds).toEqual(['authorize', 'void']);
      }
    }
  });

  it('a capture cut off mid-way holds the order until recovery finishes it, capturing once', async () => {
    const { order } = await place();
    const fulfillment = moduleOf(system, 'fulfillment').service;
    // Every answer is lost after the sandbox did the work: the request gives up, the capture happened.
    system.sandbox!.setFaults({ failNext: 50 });
    const cut = await ship(order, [{ line: 0, quantity: 3 }]);
    system.sandbox!.setFaults({ failNext: 0 });
    expect(cut.statusCode, cut.body).toBe(503);
    expect((await call('GET', `/v1/orders/${order.id}/fulfillments`, staff)).json().items).toEqual([]);
    // Held: nothing else ships and nobody cancels while the capture is unresolved.
    expect((await ship(order, [{ line: 1, quantity: 1 }])).json().code).toBe('INVALID_STATE');
    const cancel = await call('POST', `/v1/orders/${order.id}/cancel`, staff);
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json().detail).toMatch(/being charged/);
    // Not stale yet: recovery leaves a shipment a request may still be finishing.
    expect(await fulfillment.recoverCapturesOnce()).toBe(0);
    await system.testDb.db
      .withTables<{ fulfillments: { order_id: string; created_at: Date } }>()
      .updateTable('fulfillments')
      .set({ created_at: new Date(Date.now() - 3_600_000) })
      .where('order_id', '=', order.id)
      .execute();
    expect(await fulfillment.recoverCapturesOnce()).toBe(1);
    const shipments = (await call('GET', `/v1/orders/${order.id}/fulfillments`, staff)).json().items;
    expect(shipments).toHaveLength(1);
    const captures = ledgerOf(order.id).filter((entry) => entry.kind === 'capture');
    expect(captures).toHaveLength(1);
    const now = (await call('GET', `/v1/orders/${order.id}`, staff)).json();
    expect(now).toMatchObject({
      status: 'partially_shipped',
      payment: { captured: { amount: captures[0]!.amount } },
    });
    expect((await ship(order, [{ line: 1, quantity: 1 }])).statusCode).toBe(201);
    expect(
      ledgerOf(order.id)
        .filter((entry) => entry.kind === 'capture')
        .reduce((sum, entry) => sum + entry.amount, 0),
    ).toBe(order.total.amount);
  });
});

describe('capture as the goods ship, with Stripe', () => {
  let stripe: StripeEmulator;
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    stripe = await startStripeEmulator();
    system = await createTestSystem('pglite', {
      PAYMENTS_PROVIDER: 'stripe',
      PAYMENTS_CAPTURE: 'on_shipment',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
    });
    staff = await signIn(system, 'staff');
  });
  afterAll(async () => {
    await system.dispose();
    await stripe.close();
  });

  const call = (method: 'GET' | 'POST', url: string, user: SignedInUser, payload?: object) =>
    system.app.inject({ method, url, headers: user.headers, payload });
  const intentOf = (orderId: string) =>
    stripe.intents().find((intent) => intent.metadata.reference === orderId)!;

  async function shipInTwo() {
    const mug = await createProduct(system, staff, { price: 1333, stock: 10 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, mug.variantId, 2);
    const order: PlacedOrder = (await checkout(system, buyer, { token: 'pm_card_visa' })).json();
    const shipOne = () =>
      call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
        items: [{ orderItemId: order.items[0]!.id, quantity: 1 }],
        carrier: 'UPS',
        trackingNumber: 'Z-1',
      });
    return { order, shipOne };
  }

  it('captures each shipment with multicapture, and the final one settles the PaymentIntent', async () => {
    const { order, shipOne } = await shipInTwo();
    expect(intentOf(order.id)).toMatchObject({
      status: 'requires_capture',
      payment_method_options: { card: { request_multicapture: 'if_available' } },
    });
    expect((await shipOne()).statusCode).toBe(201);
    const half = intentOf(order.id);
    expect(half.status).toBe('requires_capture');
    expect(half.amount_received).toBeGreaterThan(0);
    expect(half.amount_received).toBeLessThan(order.total.amount);
    expect((await shipOne()).statusCode).toBe(201);
    expect(intentOf(order.id)).toMatchObject({ status: 'succeeded', amount_received: order.total.amount });
    const final = (await call('GET', `/v1/orders/${order.id}`, staff)).json();
    expect(final).toMatchObject({ status: 'shipped', payment: { status: 'captured' } });
  });

  it('where the card refuses multicapture, the first shipment captures everything and the next takes nothing more', async () => {
    stripe.setFaults({ noMulticapture: true });
    try {
      const { order, shipOne } = await shipInTwo();
      expect((await shipOne()).statusCode).toBe(201);
      expect(intentOf(order.id)).toMatchObject({ status: 'succeeded', amount_received: order.total.amount });
      expect((await shipOne()).statusCode).toBe(201);
      const final = (await call('GET', `/v1/orders/${order.id}`, staff)).json();
      expect(final).toMatchObject({
        status: 'shipped',
        payment: { status: 'captured', captured: { amount: order.total.amount } },
      });
    } finally {
      stripe.setFaults({ noMulticapture: false });
    }
  });
});
