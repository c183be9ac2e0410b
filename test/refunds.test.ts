import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Staff refunds: whatever the concurrency, refunds together never exceed what was captured, the
 * order books exactly what the provider paid back, and a key names one refund however often sent.
 */
describe.each(dbKinds)('staff refunds on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  async function paidOrder(price = 3000) {
    const variant = await createProduct(system, staff, { price, stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const placed = await checkout(system, buyer);
    expect(placed.statusCode).toBe(201);
    return { order: placed.json(), buyer };
  }

  const refund = (
    orderId: string,
    amount: number,
    headers: Record<string, string> = {},
    reason = 'damaged',
  ) =>
    system.app.inject({
      method: 'POST',
      url: `/v1/orders/${orderId}/refunds`,
      headers: { ...staff.headers, ...headers },
      payload: { amount: { amount, currency: 'EUR' }, reason },
    });
  const orderOf = async (id: string) =>
    (await system.app.inject({ method: 'GET', url: `/v1/orders/${id}`, headers: staff.headers })).json();
  const providerRefunds = (orderId: string) =>
    system
      .sandbox!.ledger()
      .filter((entry) => entry.reference === orderId && entry.kind === 'refund')
      .reduce((sum, entry) => sum + entry.amount, 0);

  it('40 staff refunds at once: exactly as many as the capture covers succeed, the rest are 409', async () => {
    const { order } = await paidOrder();
    const total = order.total.amount as number;
    const share = 500;
    const answers = await Promise.all(Array.from({ length: 40 }, () => refund(order.id, share)));
    const granted = answers.filter((answer) => answer.statusCode === 201);
    const refused = answers.filter((answer) => answer.statusCode === 409);
    expect(granted.length).toBe(Math.floor(total / share));
    expect(refused.length).toBe(40 - granted.length);
    for (const answer of refused) {
      expect(answer.json()).toMatchObject({
        code: 'REFUND_EXCEEDS_CAPTURED',
        refundable: { currency: 'EUR' },
      });
      expect(answer.json().detail).not.toContain(order.id);
    }
    const after = await orderOf(order.id);
    expect(after.payment.refunded.amount).toBe(granted.length * share);
    expect(providerRefunds(order.id)).toBe(granted.length * share);
    const listed = await system.app.inject({
      method: 'GET',
      url: `/v1/orders/${order.id}/refunds`,
      headers: staff.headers,
    });
    expect(listed.json().items.filter((item: { status: string }) => item.status === 'refunded')).toHaveLength(
      granted.length,
    );
    expect(listed.json().items[0]).toMatchObject({ reason: 'damaged', issuedBy: staff.id });
  });

  it('one Idempotency-Key is one refund, however often it is sent', async () => {
    const { order } = await paidOrder();
    const key = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => refund(order.id, 700, { 'idempotency-key': key })));
    const codes = answers.map((answer) => answer.statusCode).sort();
    // Requests while the first is in flight are told so (409); none refunds twice.
    expect(codes.filter((code) => code === 201).length).toBeGreaterThanOrEqual(1);
    const again = await refund(order.id, 700, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(providerRefunds(order.id)).toBe(700);
    expect((await orderOf(order.id)).payment.refunded.amount).toBe(700);
    // The same key with another amount is another request: refused, nothing refunded.
    expect((await refund(order.id, 800, { 'idempotency-key': key })).statusCode).toBe(422);
    expect(providerRefunds(order.id)).toBe(700);
  });

  it('staff refunds racing the owner cancelling: the provider pays back exactly what was captured', async () => {
    for (let round = 0; round < 6; round++) {
      const { order, buyer } = await paidOrder();
      const total = order.total.amount as number;
      const [cancel, ...refunds] = await Promise.all([
        system.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: buyer.headers }),
        ...Array.from({ length: 4 }, () => refund(order.id, 900)),
      ]);
      expect(cancel.statusCode, `round ${round}`).toBe(200);
      for (const answer of refunds) expect([201, 409]).toContain(answer.statusCode);
      const after = await orderOf(order.id);
      expect(after.status).toBe('cancelled');
      expect(providerRefunds(order.id), `round ${round}`).toBe(total);
      expect(after.payment.refunded.amount).toBe(total);
    }
  });

  it('a provider outage leaves the refund to retry: the same key finishes it once', async () => {
    const { order } = await paidOrder();
    const key = randomUUID();
    system.sandbox!.setFaults({ outage: true });
    const down = await refund(order.id, 1200, { 'idempotency-key': key }).finally(() =>
      system.sandbox!.setFaults({ outage: false }),
    );
    expect(down.statusCode).toBe(503);
    expect(down.json().code).toBe('PAYMENT_PROVIDER_UNAVAILABLE');
    // Promised but not paid: another refund cannot take the same money meanwhile.
    const rest = order.total.amount - 1200;
    expect((await refund(order.id, rest + 1)).statusCode).toBe(409);
    const retried = await refund(order.id, 1200, { 'idempotency-key': key });
    expect(retried.statusCode).toBe(201);
    expect(retried.json().status).toBe('refunded');
    expect(providerRefunds(order.id)).toBe(1200);
    expect((await orderOf(order.id)).payment.refunded.amount).toBe(1200);
  });

  it('refuses what is not a refund: clear 4xx, nothing refunded', async () => {
    const { order, buyer } = await paidOrder();
    const cases = [
      {
        payload: { amount: { amount: 100, currency: 'USD' }, reason: 'x' },
        status: 400,
        code: 'CURRENCY_MISMATCH',
      },
      { payload: { amount: { amount: 0, currency: 'EUR' }, reason: 'x' }, status: 400 },
      { payload: { amount: { amount: 100, currency: 'EUR' }, reason: '' }, status: 400 },
      { payload: { amount: { amount: 100, currency: 'EUR' } }, status: 400 },
    ];
    for (const { payload, status, code } of cases) {
      const answer = await system.app.inject({
        method: 'POST',
        url: `/v1/orders/${order.id}/refunds`,
        headers: staff.headers,
        payload,
      });
      expect(answer.statusCode, JSON.stringify(payload)).toBe(status);
      if (code) expect(answer.json().code).toBe(code);
    }
    const byBuyer = await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${order.id}/refunds`,
      headers: buyer.headers,
      payload: { amount: { amount: 100, currency: 'EUR' }, reason: 'please' },
    });
    expect(byBuyer.statusCode).toBe(403);
    expect((await refund(randomUUID(), 100)).statusCode).toBe(404);
    expect(providerRefunds(order.id)).toBe(0);
  });
});
