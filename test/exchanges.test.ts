import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import {
  addToCart,
  apiCaller,
  BERLIN,
  checkout,
  createProduct,
  shipFirstLine,
  stockOf,
} from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Exchanges through HTTP: a shipped item comes back and replacements go out as a new order; the
 * return's refund pays them first (as store credit), and the difference is settled either way.
 * Money is checked in the provider's ledger and on the store credit.
 */
describe.each(dbKinds)('exchanges on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);
  const exchange = (returnId: string, payload: object, key = randomUUID()) =>
    call('POST', `/v1/returns/${returnId}/exchange`, staff, payload, { 'idempotency-key': key });
  const ledger = (reference: string, kind: string) =>
    system
      .sandbox!.ledger()
      .filter((entry) => entry.reference === reference && entry.kind === kind)
      .reduce((sum, entry) => sum + entry.amount, 0);
  const creditOf = async (customer: SignedInUser) =>
    (await call('GET', '/v1/users/me/store-credit', customer)).json().balance.amount as number;

  /** A customer's shipped order of `quantity` of the variant, and their return of one unit. */
  async function shippedAndReturned(variantId: string, quantity: number) {
    const customer = await signIn(system);
    await addToCart(system, customer, variantId, quantity);
    const order = (await checkout(system, customer, { address: BERLIN })).json();
    expect(
      (await shipFirstLine(system, staff, order, { carrier: 'DHL', trackingNumber: randomUUID() }))
        .statusCode,
    ).toBe(201);
    const asked = await call('POST', `/v1/orders/${order.id}/returns`, customer, {
      items: [{ orderItemId: order.items[0].id, quantity: 1 }],
      reason: 'wrong size',
    });
    expect(asked.statusCode).toBe(201);
    return { customer, order, returned: asked.json() };
  }

  it('replacements that cost more: the refund pays first, the card the rest, and they ship as a new order', async () => {
    const kettle = await createProduct(system, staff, { price: 4000, stock: 5 });
    const lamp = await createProduct(system, staff, { price: 6500, stock: 5 });
    const { customer, order, returned } = await shippedAndReturned(kettle.variantId, 2);
    const swap = { replacements: [{ variantId: lamp.variantId, quantity: 1 }] };

    // No card for the rest: refused in a sentence, before anything is received or moved.
    const unpaid = await exchange(returned.id, swap);
    expect([unpaid.statusCode, unpaid.json().code]).toEqual([400, 'PAYMENT_TOKEN_REQUIRED']);
    expect(unpaid.json().detail).toMatch(/^The replacements cost .* charge the other .* to a card$/);
    expect((await call('GET', `/v1/returns/${returned.id}`, staff)).json().status).toBe('requested');

    const key = randomUUID();
    const done = await exchange(returned.id, { ...swap, payment: { token: 'tok_visa' } }, key);
    expect(done.statusCode).toBe(201);
    const { return: received, order: replacement } = done.json();
    const refund = received.refund.amount;
    expect(received).toMatchObject({
      status: 'received',
      storeCredit: received.refund,
      replacementOrderId: replacement.id,
    });
    expect(replacement).toMatchObject({
      status: 'confirmed',
      userId: customer.id,
      storeCredit: { amount: received.refund },
    });
    expect(replacement.items).toMatchObject([{ variantId: lamp.variantId, quantity: 1 }]);
    // The card pays the difference only; the original payment gave nothing back to it.
    expect(ledger(replacement.id, 'capture')).toBe(replacement.total.amount - refund);
    expect(ledger(order.id, 'refund')).toBe(0);
    expect(await creditOf(customer)).toBe(0);
    // The same key answers the same exchange.
    expect(
      (await exchange(returned.id, { ...swap, payment: { token: 'tok_visa' } }, key)).json().order.id,
    ).toBe(replacement.id);
    expect(ledger(replacement.id, 'capture')).toBe(replacement.total.amount - refund);
    // The returned unit is back on hand; the replacement was sold, and ships as its order's fulfillment.
    expect((await stockOf(system, staff, kettle.sku)).onHand).toBe(4);
    expect((await stockOf(system, staff, lamp.sku)).onHand).toBe(4);
    const shipped = await shipFirstLine(system, staff, replacement, { carrier: 'DHL', trackingNumber: 'X1' });
    expect(shipped.statusCode).toBe(201);
    expect((await call('GET', `/v1/orders/${order.id}`, customer)).json().payment.refunded.amount).toBe(0);
  });

  it('replacements that cost less: the rest of the refund goes back to the card, the new order is paid in full', async () => {
    const kettle = await createProduct(system, staff, { price: 4000, stock: 5 });
    const mug = await createProduct(system, staff, { price: 900, stock: 5 });
    const { customer, order, returned } = await shippedAndReturned(kettle.variantId, 1);
    const done = await exchange(returned.id, { replacements: [{ variantId: mug.variantId, quantity: 1 }] });
    expect(done.statusCode).toBe(201);
    const { return: received, order: replacement } = done.json();
    expect(replacement.payment.status).toBe('not_required');
    expect(received.storeCredit.amount).toBe(replacement.total.amount);
    expect(ledger(order.id, 'refund')).toBe(received.refund.amount - replacement.total.amount);
    expect(ledger(replacement.id, 'capture')).toBe(0);
    expect(await creditOf(customer)).toBe(0);
  });

  it('a declined card: the return is received and its refund waits as store credit; a new attempt places the order', async () => {
    const kettle = await createProduct(system, staff, { price: 4000, stock: 5 });
    const lamp = await createProduct(system, staff, { price: 6500, stock: 5 });
    const { customer, returned } = await shippedAndReturned(kettle.variantId, 1);
    const swap = { replacements: [{ variantId: lamp.variantId, quantity: 1 }] };
    const declined = await exchange(returned.id, { ...swap, payment: { token: 'tok_declined' } });
    expect(declined.statusCode).toBe(402);
    const waiting = (await call('GET', `/v1/returns/${returned.id}`, staff)).json();
    expect(waiting.status).toBe('received');
    expect(await creditOf(customer)).toBe(waiting.storeCredit.amount);
    expect((await stockOf(system, staff, lamp.sku)).onHand).toBe(5);
    const placed = await exchange(returned.id, { ...swap, payment: { token: 'tok_visa' } });
    expect(placed.statusCode).toBe(201);
    expect(await creditOf(customer)).toBe(0);
    expect((await stockOf(system, staff, lamp.sku)).onHand).toBe(4);
  });

  it('refuses to exchange a return refunded already, in a sentence', async () => {
    const kettle = await createProduct(system, staff, { price: 4000, stock: 5 });
    const { returned } = await shippedAndReturned(kettle.variantId, 1);
    expect((await call('POST', `/v1/returns/${returned.id}/receive`, staff)).statusCode).toBe(200);
    const late = await exchange(returned.id, {
      replacements: [{ variantId: kettle.variantId, quantity: 1 }],
    });
    expect([late.statusCode, late.json().code]).toEqual([409, 'RETURN_RECEIVED']);
    expect(
      (await exchange(randomUUID(), { replacements: [{ variantId: kettle.variantId, quantity: 1 }] }))
        .statusCode,
    ).toBe(404);
  });
});
