import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { addToCart, createProduct } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

describe.each(dbKinds)('cart on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  it('adds to an existing line, prices every line from the catalog now, and totals the cart', async () => {
    const variant = await createProduct(system, staff, { stock: 20, price: 250 });
    const buyer = await signIn(system);
    expect((await addToCart(system, buyer, variant.variantId, 2)).statusCode).toBe(201);
    const cart = (await addToCart(system, buyer, variant.variantId, 3)).json();
    expect(cart.items).toHaveLength(1);
    expect(cart.items[0]).toMatchObject({
      quantity: 5,
      unitPrice: { amount: 250, currency: 'EUR' },
      lineTotal: { amount: 1250 },
    });
    expect(cart.total).toEqual({ amount: 1250, currency: 'EUR' });
    expect(cart.totals.total).toEqual(cart.total);

    // A staff price change shows in the cart at once: the cart never stores a price.
    const product = await call('GET', `/v1/products/${variant.productId}`);
    const repriced = await system.app.inject({
      method: 'PATCH',
      url: `/v1/products/${variant.productId}`,
      headers: {
        ...staff.headers,
        'content-type': 'application/merge-patch+json',
        'if-match': String(product.headers.etag),
      },
      payload: JSON.stringify({
        variants: [{ id: variant.variantId, sku: variant.sku, price: { amount: 300, currency: 'EUR' } }],
      }),
    });
    expect(repriced.statusCode).toBe(200);
    expect((await call('GET', '/v1/cart', buyer)).json().total.amount).toBe(1500);
  });

  it('refuses more than is available (409 OUT_OF_STOCK), quantities outside 1..99 (400), unknown variants (404)', async () => {
    const variant = await createProduct(system, staff, { stock: 3 });
    const buyer = await signIn(system);
    expect((await addToCart(system, buyer, variant.variantId, 4)).json().code).toBe('OUT_OF_STOCK');
    expect((await addToCart(system, buyer, variant.variantId, 0)).statusCode).toBe(400);
    expect((await addToCart(system, buyer, variant.variantId, 100)).statusCode).toBe(400);
    expect((await addToCart(system, buyer, '01a213cf-92ac-75ce-8030-026f2262fb64', 1)).statusCode).toBe(404);
    const line = (await addToCart(system, buyer, variant.variantId, 3)).json().items[0];
    expect((await call('PATCH', `/v1/cart/items/${line.id}`, buyer, { quantity: 4 })).json().code).toBe(
      'OUT_OF_STOCK',
    );
    expect(
      (await call('PATCH', `/v1/cart/items/${line.id}`, buyer, { quantity: 1 })).json().items[0].quantity,
    ).toBe(1);
  });

  it("keeps carts apart: another user's line is 404; anonymous is 401", async () => {
    const variant = await createProduct(system, staff, { stock: 3 });
    const owner = await signIn(system);
    const other = await signIn(system);
    const line = (await addToCart(system, owner, variant.variantId, 1)).json().items[0];
    expect((await call('PATCH', `/v1/cart/items/${line.id}`, other, { quantity: 2 })).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/cart/items/${line.id}`, other)).statusCode).toBe(404);
    expect((await call('GET', '/v1/cart')).statusCode).toBe(401);
    expect((await call('DELETE', `/v1/cart/items/${line.id}`, owner)).statusCode).toBe(204);
    expect((await call('GET', '/v1/cart', owner)).json().items).toEqual([]);
    await addToCart(system, owner, variant.variantId, 1);
    expect((await call('DELETE', '/v1/cart', owner)).statusCode).toBe(204);
    expect((await call('GET', '/v1/cart', owner)).json().items).toEqual([]);
  });
});
