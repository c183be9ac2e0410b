import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, BERLIN, checkout, createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/** Checkout, shipping, returns and cancellation over stock kept in two places, through HTTP. */
describe.each(dbKinds)('orders over stock in several locations on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
    const berlin = await call('POST', '/v1/stock-locations', staff, {
      code: 'berlin',
      name: 'Berlin depot',
      priority: 5,
      countries: ['DE'],
    });
    expect(berlin.statusCode).toBe(201);
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  /** A product with 2 units at the main warehouse and 3 in Berlin. */
  async function product() {
    const variant = await createProduct(system, staff, { stock: 2, price: 1500 });
    expect(
      (await call('PUT', `/v1/inventory/${variant.sku}/locations/berlin`, staff, { onHand: 3 })).statusCode,
    ).toBe(200);
    return variant;
  }

  const stock = async (sku: string) => (await call('GET', `/v1/inventory/${sku}`, staff)).json();

  async function order(variantId: string, quantity: number) {
    const buyer = await signIn(system);
    expect((await addToCart(system, buyer, variantId, quantity)).statusCode).toBe(201);
    const placed = await checkout(system, buyer, { address: BERLIN });
    expect(placed.statusCode).toBe(201);
    return { buyer, order: placed.json() };
  }

  it('sells a German order from Berlin first and the rest from the main warehouse, and ships from where it was sold', async () => {
    const variant = await product();
    const { order: placed } = await order(variant.variantId, 4);
    expect(placed.status).toBe('confirmed');
    expect(await stock(variant.sku)).toEqual({
      sku: variant.sku,
      onHand: 1,
      reserved: 0,
      available: 1,
      locations: [
        { code: 'main', onHand: 1, reserved: 0, available: 1 },
        { code: 'berlin', onHand: 0, reserved: 0, available: 0 },
      ],
    });
    const line = placed.items[0];
    const first = await call('POST', `/v1/orders/${placed.id}/fulfillments`, staff, {
      items: [{ orderItemId: line.id, quantity: 2 }],
      carrier: 'DHL',
      trackingNumber: 'LOC-1',
    });
    expect(first.statusCode).toBe(201);
    // Shipments take the sold units in location order (berlin before main by code), past those shipped.
    expect(first.json().items).toEqual([
      { orderItemId: line.id, quantity: 2, from: [{ location: 'berlin', quantity: 2 }] },
    ]);
    const second = await call('POST', `/v1/orders/${placed.id}/fulfillments`, staff, {
      items: [{ orderItemId: line.id, quantity: 2 }],
      carrier: 'DHL',
      trackingNumber: 'LOC-2',
    });
    expect(second.json().items[0].from).toEqual([
      { location: 'berlin', quantity: 1 },
      { location: 'main', quantity: 1 },
    ]);
    const listed = await call('GET', `/v1/orders/${placed.id}/fulfillments`, staff);
    expect(
      listed.json().items.map((shipment: { items: Array<{ from: unknown }> }) => shipment.items[0]!.from),
    ).toEqual([first.json().items[0].from, second.json().items[0].from]);
  });

  it('puts a returned unit and a cancelled order back at the locations they were sold from', async () => {
    const variant = await product();
    const { buyer, order: returned } = await order(variant.variantId, 1);
    const { order: cancelled } = await order(variant.variantId, 3);
    // The first order took a Berlin unit; the second Berlin's other two and one from main.
    expect((await stock(variant.sku)).locations).toEqual([
      { code: 'main', onHand: 1, reserved: 0, available: 1 },
      { code: 'berlin', onHand: 0, reserved: 0, available: 0 },
    ]);
    const cancel = await call('POST', `/v1/orders/${cancelled.id}/cancel`, staff);
    expect(cancel.statusCode).toBe(200);
    expect((await stock(variant.sku)).locations).toEqual([
      { code: 'main', onHand: 2, reserved: 0, available: 2 },
      { code: 'berlin', onHand: 2, reserved: 0, available: 2 },
    ]);

    const line = returned.items[0];
    const shipped = await call('POST', `/v1/orders/${returned.id}/fulfillments`, staff, {
      items: [{ orderItemId: line.id, quantity: 1 }],
      carrier: 'DHL',
      trackingNumber: 'LOC-3',
    });
    expect(shipped.statusCode).toBe(201);
    const requested = await call('POST', `/v1/orders/${returned.id}/returns`, buyer, {
      items: [{ orderItemId: line.id, quantity: 1 }],
      reason: 'too small',
    });
    expect(requested.statusCode).toBe(201);
    const received = await call('POST', `/v1/returns/${requested.json().id}/receive`, staff);
    expect(received.statusCode).toBe(200);
    expect((await stock(variant.sku)).locations).toEqual([
      { code: 'main', onHand: 2, reserved: 0, available: 2 },
      { code: 'berlin', onHand: 3, reserved: 0, available: 3 },
    ]);
  });
});
