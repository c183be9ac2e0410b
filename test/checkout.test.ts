import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transact } from '../src/platform/db/index.ts';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { ADDRESS, addToCart, checkout, createProduct, eventually, stockOf } from './support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

/** How many captures the provider booked for an order: the proof that no retry charged twice. */
function capturesOf(system: TestSystem, orderId: string): number {
  return system.sandbox!.ledger().filter((entry) => entry.reference === orderId && entry.kind === 'capture')
    .length;
}

async function orderOfUser(system: TestSystem, user: SignedInUser, id: string) {
  return (await system.app.inject({ method: 'GET', url: `/v1/orders/${id}`, headers: user.headers })).json();
}

describe.each(dbKinds)('checkout on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    // Generous per-attempt timeout: 200 concurrent checkouts on a loaded 2-core machine are slow, not failing.
    system = await createTestSystem(kind, {
      RECOVERY_INTERVAL_MS: '200',
      PAYMENTS_TIMEOUT_MS: '8000',
      // Requests may queue long on a loaded machine; the payment itself still answers 202 after 5 s.
      REQUEST_TIMEOUT_MS: '60000',
      CHECKOUT_PAYMENT_BUDGET_MS: '5000',
    });
    await system.startWorkers();
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const orderOf = (user: SignedInUser, id: string) => orderOfUser(system, user, id);

  it('200 buyers race for 10 units: exactly 10 orders confirmed, 190 out of stock, nothing left reserved', async () => {
    const variant = await createProduct(system, staff, { stock: 10, price: 500 });
    const buyers = await Promise.all(Array.from({ length: 200 }, () => signIn(system)));
    for (const buyer of buyers)
      expect((await addToCart(system, buyer, variant.variantId)).statusCode).toBe(201);
    const answers = await Promise.all(
      buyers.map(async (buyer) => ({ buyer, answer: await checkout(system, buyer) })),
    );
    // On a loaded machine a winner's payment may outlast the request's budget (202); it settles by itself.
    const accepted = answers.filter(({ answer }) => answer.statusCode === 201 || answer.statusCode === 202);
    const refused = answers.filter(({ answer }) => answer.statusCode === 409);
    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(190);
    for (const { answer } of refused) expect(answer.json().code).toBe('OUT_OF_STOCK');
    for (const { answer, buyer } of accepted) {
      expect(answer.headers.location).toBe(`/v1/orders/${answer.json().id}`);
      const settled = await eventually(async () => {
        const order = await orderOf(buyer, answer.json().id);
        return order.status === 'pending' ? undefined : order;
      }, 60_000);
      expect(settled).toMatchObject({
        status: 'confirmed',
        payment: { status: 'captured', amount: { amount: 500 } },
      });
    }
    expect(await stockOf(system, staff, variant.sku)).toEqual({
      sku: variant.sku,
      onHand: 0,
      reserved: 0,
      available: 0,
      locations: [{ code: 'main', onHand: 0, reserved: 0, available: 0 }],
    });
  });

  it('a confirmed order carries items, totals, address and payment as the contract says', async () => {
    const variant = await createProduct(system, staff, { stock: 5, price: 1250 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId, 2);
    const answer = await checkout(system, buyer);
    expect(answer.statusCode).toBe(201);
    const order = answer.json();
    expect(order).toMatchObject({
      userId: buyer.id,
      status: 'confirmed',
      items: [
        {
          variantId: variant.variantId,
          sku: variant.sku,
          quantity: 2,
          unitPrice: { amount: 1250, currency: 'EUR' },
          lineTotal: { amount: 2500, currency: 'EUR' },
        },
      ],
      total: { amount: 2500, currency: 'EUR' },
      totals: { subtotal: { amount: 2500 }, total: { amount: 2500 } },
      shippingAddress: ADDRESS,
      payment: { status: 'captured', amount: { amount: 2500, currency: 'EUR' } },
    });
    const cart = (await system.app.inject({ method: 'GET', url: '/v1/cart', headers: buyer.headers })).json();
    expect(cart.items).toEqual([]);
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 3, reserved: 0 });
  });

  it('a declined card answers 402, cancels the order and releases the stock', async () => {
    const variant = await createProduct(system, staff, { stock: 3 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId, 2);
    const answer = await checkout(system, buyer, { token: 'tok_declined' });
    expect(answer.statusCode).toBe(402);
    expect(answer.json().code).toBe('PAYMENT_DECLINED');
    const order = await orderOf(buyer, answer.json().orderId);
    expect(order).toMatchObject({ status: 'cancelled', cancelReason: 'payment_declined' });
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
  });

  it('an empty cart is 400 CART_EMPTY; a missing Idempotency-Key is 400', async () => {
    const buyer = await signIn(system);
    const empty = await checkout(system, buyer);
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('CART_EMPTY');
    const noKey = await system.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: buyer.headers,
      payload: { shippingAddress: ADDRESS, payment: { token: 'tok_visa' } },
    });
    expect(noKey.statusCode).toBe(400);
    expect(noKey.json().code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(noKey.json().errors)).toContain('idempotency-key');
  });

  it('replays the stored answer for the same key and body, refuses another body with 422', async () => {
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const first = await checkout(system, buyer, { key: 'key-replay-1' });
    expect(first.statusCode).toBe(201);
    const again = await checkout(system, buyer, { key: 'key-replay-1' });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    const otherBody = await checkout(system, buyer, { key: 'key-replay-1', token: 'tok_declined' });
    expect(otherBody.statusCode).toBe(422);
    expect(otherBody.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    const list = (
      await system.app.inject({ method: 'GET', url: '/v1/orders', headers: buyer.headers })
    ).json();
    expect(list.total).toBe(1);
    expect(capturesOf(system, list.items[0].id)).toBe(1);
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 4, reserved: 0 });
  });

  it('two concurrent requests with one key create one order', async () => {
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const answers = await Promise.all([
      checkout(system, buyer, { key: 'same-key' }),
      checkout(system, buyer, { key: 'same-key' }),
    ]);
    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect([
      [201, 201],
      [201, 409],
    ]).toContainEqual(statuses);
    const list = (
      await system.app.inject({ method: 'GET', url: '/v1/orders', headers: buyer.headers })
    ).json();
    expect(list.total).toBe(1);
    expect(capturesOf(system, list.items[0].id)).toBe(1);
  });

  it('cancelling a confirmed order refunds it and returns the stock; only once, only by its owner or staff', async () => {
    const variant = await createProduct(system, staff, { stock: 2, price: 700 });
    const buyer = await signIn(system);
    const stranger = await signIn(system);
    await addToCart(system, buyer, variant.variantId, 2);
    const order = (await checkout(system, buyer)).json();
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 0 });
    const byStranger = await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${order.id}/cancel`,
      headers: stranger.headers,
    });
    expect(byStranger.statusCode).toBe(404);
    expect(
      (await system.app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: stranger.headers }))
        .statusCode,
    ).toBe(404);
    const cancelled = await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${order.id}/cancel`,
      headers: buyer.headers,
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', payment: { status: 'refunded' } });
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 2, reserved: 0 });
    const twice = await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${order.id}/cancel`,
      headers: buyer.headers,
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('INVALID_STATE');
  });

  it('staff see every order and filter by status; customers only their own', async () => {
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    await checkout(system, buyer);
    const mine = (
      await system.app.inject({ method: 'GET', url: '/v1/orders', headers: buyer.headers })
    ).json();
    expect(mine.items.every((order: { userId: string }) => order.userId === buyer.id)).toBe(true);
    const all = (
      await system.app.inject({
        method: 'GET',
        url: `/v1/orders?status=confirmed&userId=${buyer.id}`,
        headers: staff.headers,
      })
    ).json();
    expect(all.total).toBe(1);
    const everyone = (
      await system.app.inject({ method: 'GET', url: '/v1/orders?size=100', headers: staff.headers })
    ).json();
    expect(everyone.total).toBeGreaterThan(10);
  });

  it('a provider that does not answer in time gives 202; the order settles by itself', async () => {
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const answer = await checkout(system, buyer, { token: 'tok_slow' });
    expect(answer.statusCode).toBe(202);
    expect(answer.json().status).toBe('pending');
    const settled = await eventually(async () => {
      const order = await orderOf(buyer, answer.json().id);
      return order.status === 'pending' ? undefined : order;
    }, 40_000);
    expect(settled.status).toBe('confirmed');
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 4, reserved: 0 });
  });

  it('stock released while the provider was slow: the capture is refunded, the order cancelled, the cart put back', async () => {
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId, 2);
    const answer = await checkout(system, buyer, { token: 'tok_slow' });
    expect(answer.statusCode).toBe(202);
    const orderId = answer.json().id;
    // What the expiry worker does to a reservation past its time, while the authorization is still out.
    const inventory = moduleOf(system, 'inventory');
    expect(
      await transact(system.database.db, (tx) => inventory.service.release(tx, orderId, 'expired')),
    ).toBe(1);
    const settled = await eventually(async () => {
      const order = await orderOf(buyer, orderId);
      return order.status === 'pending' ? undefined : order;
    }, 40_000);
    expect(settled).toMatchObject({
      status: 'cancelled',
      cancelReason: 'reservation_expired',
      payment: { status: 'refunded', refunded: settled.total },
    });
    const ledger = system.sandbox!.ledger().filter((entry) => entry.reference === orderId);
    expect(ledger.map((entry) => entry.kind).sort()).toEqual(['authorize', 'capture', 'refund']);
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 5, reserved: 0 });
    const cart = (await system.app.inject({ method: 'GET', url: '/v1/cart', headers: buyer.headers })).json();
    expect(cart.items).toMatchObject([{ variantId: variant.variantId, quantity: 2 }]);
  });

  it('a provider that keeps failing ends the order cancelled with the stock released', async () => {
    const variant = await createProduct(system, staff, { stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const answer = await checkout(system, buyer, { token: 'tok_error' });
    expect(answer.statusCode).toBe(202);
    const settled = await eventually(async () => {
      const order = await orderOf(buyer, answer.json().id);
      return order.status === 'pending' ? undefined : order;
    }, 40_000);
    expect(settled).toMatchObject({ status: 'cancelled', cancelReason: 'payment_failed' });
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 5, reserved: 0 });
  });
});

describe.each(dbKinds)('checkout while the payment provider is down, on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { RECOVERY_INTERVAL_MS: '200', PAYMENTS_TIMEOUT_MS: '2000' });
    await system.startWorkers();
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  it('opens the breaker: clear 503s, no order stuck, and closes again when the provider returns', {
    timeout: 120_000,
  }, async () => {
    const sandbox = system.sandbox!;
    const variant = await createProduct(system, staff, { stock: 50 });
    const buyers = await Promise.all(Array.from({ length: 12 }, () => signIn(system)));
    for (const buyer of buyers) await addToCart(system, buyer, variant.variantId);
    sandbox.setFaults({ outage: true });

    const answers = [];
    for (const buyer of buyers.slice(0, 10)) answers.push({ buyer, answer: await checkout(system, buyer) });
    const refused = answers.filter(({ answer }) => answer.statusCode === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const { answer } of refused) {
      expect(answer.json().code).toBe('PAYMENT_PROVIDER_UNAVAILABLE');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Refused checkouts created nothing: every order there is came from a 202.
    const pending = answers.filter(({ answer }) => answer.statusCode === 202);
    expect(pending.length + refused.length).toBe(10);

    sandbox.setFaults({ outage: false });
    for (const { buyer, answer } of pending) {
      const settled = await eventually(async () => {
        const order = await orderOfUser(system, buyer, answer.json().id);
        return order.status === 'pending' ? undefined : order;
      }, 60_000);
      expect(['confirmed', 'cancelled']).toContain(settled.status);
    }
    const recovered = await eventually(
      async () => {
        const answer = await checkout(system, buyers[10]);
        return answer.statusCode === 201 ? answer : undefined;
      },
      30_000,
      1000,
    );
    expect(recovered.json().status).toBe('confirmed');
    expect((await stockOf(system, staff, variant.sku)).reserved).toBe(0);
  });
});
