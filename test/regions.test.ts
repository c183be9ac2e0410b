import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, BERLIN, checkout, createProduct, totalsOnOrder } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Regions and tax-inclusive prices end to end: in a region whose prices contain tax, the cart's
 * total is the shelf prices plus shipping, the tax is the part of it the rate makes up, the order
 * and the payment carry exactly that total, and a cancellation gives all of it back.
 */
describe.each(dbKinds)('regions and tax-inclusive prices on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    expect((await call('PUT', '/v1/tax-rates/DE', staff, { rate: 1900, name: 'USt' })).statusCode).toBe(200);
    const shipping = await call('POST', '/v1/shipping-methods', staff, {
      name: 'DHL Paket',
      country: 'DE',
      price: { amount: 490, currency: 'EUR' },
      minDays: 1,
      maxDays: 3,
    });
    expect(shipping.statusCode).toBe(201);
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  it('staff make regions whose countries never overlap; anyone lists them', async () => {
    const customer = await signIn(system);
    const eu = {
      code: 'eu',
      name: 'European Union',
      currency: 'EUR',
      countries: ['FR', 'DE', 'DE'],
      taxInclusive: true,
    };
    expect((await call('POST', '/v1/regions', customer, eu)).statusCode).toBe(403);
    const made = await call('POST', '/v1/regions', staff, eu);
    expect(made.statusCode).toBe(201);
    expect(made.json()).toEqual({ ...eu, countries: ['DE', 'FR'] });
    expect((await call('POST', '/v1/regions', staff, eu)).json()).toMatchObject({
      status: 409,
      code: 'REGION_EXISTS',
    });

    const overlapping = await call('POST', '/v1/regions', staff, {
      code: 'dach',
      name: 'DACH',
      currency: 'EUR',
      countries: ['AT', 'DE'],
      taxInclusive: true,
    });
    expect(overlapping.json()).toMatchObject({ status: 409, code: 'COUNTRY_IN_REGION' });
    expect(overlapping.json().detail).toBe('DE is already in the region eu: take it out there first');
    const bad = await call('POST', '/v1/regions', staff, { ...eu, code: 'x', countries: ['germany'] });
    expect(bad.statusCode).toBe(400);

    const moved = await call('PATCH', '/v1/regions/eu', staff, { countries: ['AT', 'DE', 'FR'] });
    expect(moved.json().countries).toEqual(['AT', 'DE', 'FR']);
    expect((await call('PATCH', '/v1/regions/nowhere', staff, { name: 'N' })).statusCode).toBe(404);
    const listed = await call('GET', '/v1/regions');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toEqual([{ ...eu, countries: ['AT', 'DE', 'FR'] }]);
  });

  it('a German cart in a tax-inclusive region charges the shelf prices plus shipping, with the VAT inside', async () => {
    const lamp = await createProduct(system, staff, { price: 1190, stock: 5 });
    const mug = await createProduct(system, staff, { price: 999, stock: 5 });
    const shopper = await signIn(system);
    await addToCart(system, shopper, lamp.variantId, 1);
    await addToCart(system, shopper, mug.variantId, 3);

    // Outside any region the rate is added on top.
    await call('DELETE', '/v1/regions/eu', staff);
    const added = await call('PUT', '/v1/cart/address', shopper, { shippingAddress: { country: 'DE' } });
    expect(added.json().totals).toMatchObject({
      subtotal: { amount: 4187 },
      taxTotal: { amount: 888 }, // 226 + 569 on the goods, 93 on shipping
      total: { amount: 4187 + 490 + 888 },
      taxInclusive: false,
    });

    const region = await call('POST', '/v1/regions', staff, {
      code: 'eu',
      name: 'European Union',
      currency: 'EUR',
      countries: ['DE'],
      taxInclusive: true,
    });
    expect(region.statusCode).toBe(201);
    const cart = (await call('GET', '/v1/cart', shopper)).json();
    // 1190 × 19/119 = 190; 2997 × 19/119 = 478.51 → 479; 490 × 19/119 = 78.2 → 78.
    expect(cart.totals).toEqual({
      subtotal: { amount: 4187, currency: 'EUR' },
      discountTotal: { amount: 0, currency: 'EUR' },
      discounts: [],
      shippingTotal: { amount: 490, currency: 'EUR' },
      taxTotal: { amount: 747, currency: 'EUR' },
      total: { amount: 4677, currency: 'EUR' },
      taxInclusive: true,
    });
    expect(cart.items.map((line: { tax: { amount: number } }) => line.tax.amount).sort()).toEqual([190, 479]);

    const placed = await checkout(system, shopper, {
      address: BERLIN,
      key: randomUUID(),
      expectedTotal: { amount: 4677, currency: 'EUR' },
    });
    expect(placed.statusCode, placed.body).toBe(201);
    const order = placed.json();
    expect(order.totals).toEqual(totalsOnOrder(cart, order));
    expect(order.total).toEqual({ amount: 4677, currency: 'EUR' });
    expect(order.payment.amount).toEqual({ amount: 4677, currency: 'EUR' });

    // A cancellation refunds every cent charged: the contained tax is not given back twice.
    const cancelled = await call('POST', `/v1/orders/${order.id}/cancel`, shopper);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().payment.refunded).toEqual({ amount: 4677, currency: 'EUR' });
  });

  it("a cart's region follows its address: its currency when every line has a price in it, else it says why", async () => {
    const us = { code: 'us', name: 'United States', currency: 'USD', countries: ['US'], taxInclusive: false };
    expect((await call('POST', '/v1/regions', staff, us)).statusCode).toBe(201);
    const both = await createProduct(system, staff, {
      price: 2000,
      prices: [{ amount: 2200, currency: 'USD' }],
    });
    const euroOnly = await createProduct(system, staff, { price: 1500, name: 'Euro-only teapot' });

    const shopper = await signIn(system);
    await addToCart(system, shopper, both.variantId, 1);
    const moved = (
      await call('PUT', '/v1/cart/address', shopper, { shippingAddress: { country: 'US' } })
    ).json();
    expect(moved).toMatchObject({
      currency: 'USD',
      region: { code: 'us', currency: 'USD', taxInclusive: false },
    });
    expect(moved.items[0].unitPrice).toEqual({ amount: 2200, currency: 'USD' });
    expect(moved.regionNotice).toBeUndefined();
    // Back to Germany: the EU region's euros.
    const back = (
      await call('PUT', '/v1/cart/address', shopper, { shippingAddress: { country: 'DE' } })
    ).json();
    expect(back).toMatchObject({ currency: 'EUR', region: { code: 'eu', taxInclusive: true } });

    const stuck = await signIn(system);
    await addToCart(system, stuck, euroOnly.variantId, 1);
    const stays = (
      await call('PUT', '/v1/cart/address', stuck, { shippingAddress: { country: 'US' } })
    ).json();
    expect(stays.currency).toBe('EUR');
    expect(stays.regionNotice).toBe(
      'Prices in United States are in USD, and Euro-only teapot cannot be bought in USD: your cart stays in EUR',
    );
  });

  it('a region chosen before any address sets the currency and the tax mode; the address then decides', async () => {
    const lamp = await createProduct(system, staff, {
      price: 2000,
      prices: [{ amount: 2200, currency: 'USD' }],
    });
    const shopper = await signIn(system);
    await addToCart(system, shopper, lamp.variantId, 2);
    const american = await call('PUT', '/v1/cart/region', shopper, { region: 'us' });
    expect(american.statusCode, american.body).toBe(200);
    expect(american.json()).toMatchObject({
      currency: 'USD',
      region: { code: 'us', currency: 'USD', taxInclusive: false },
      totals: { subtotal: { amount: 4400, currency: 'USD' }, taxInclusive: false },
    });

    // In the EU the shelf prices are what is paid; the VAT inside waits for the country.
    const european = (await call('PUT', '/v1/cart/region', shopper, { region: 'eu' })).json();
    expect(european).toMatchObject({ currency: 'EUR', region: { code: 'eu', taxInclusive: true } });
    expect(european.totals).toMatchObject({
      subtotal: { amount: 4000 },
      taxTotal: { amount: 0 },
      total: { amount: 4000 },
      taxInclusive: true,
    });
    const german = (
      await call('PUT', '/v1/cart/address', shopper, { shippingAddress: { country: 'DE' } })
    ).json();
    // 4000 × 19/119 = 638.66 → 639 inside the same shelf total, plus shipping.
    expect(german.totals).toMatchObject({ subtotal: { amount: 4000 }, total: { amount: 4490 } });
    expect(german.items[0].tax.amount).toBe(639);

    // With a German address, another region is refused in a sentence; the address decides.
    const mismatch = await call('PUT', '/v1/cart/region', shopper, { region: 'us' });
    expect(mismatch.json()).toMatchObject({ status: 409, code: 'REGION_MISMATCH' });
    expect(mismatch.json().detail).toBe(
      'Your address is in DE, which United States does not include: change the address instead',
    );
    expect((await call('PUT', '/v1/cart/region', shopper, { region: 'mars' })).statusCode).toBe(404);
    expect((await call('PUT', '/v1/cart/region', shopper, { region: 'EU!' })).statusCode).toBe(400);

    // A line with no price in the region's currency keeps the cart where it is.
    const euroOnly = await createProduct(system, staff, { price: 900 });
    const other = await signIn(system);
    await addToCart(system, other, euroOnly.variantId, 1);
    const refused = await call('PUT', '/v1/cart/region', other, { region: 'us' });
    expect(refused.json()).toMatchObject({ status: 409, code: 'PRICE_UNAVAILABLE' });
    const forgotten = (await call('PUT', '/v1/cart/region', other, { region: null })).json();
    expect(forgotten.region).toBeUndefined();
    expect(forgotten.currency).toBe('EUR');
  });

  it('listings take ?region= and show the prices in its currency, with their own ETag', async () => {
    expect((await call('GET', '/v1/regions')).json().items.map((r: { code: string }) => r.code)).toContain(
      'us',
    );
    const word = randomUUID().slice(0, 8);
    const lamp = await createProduct(system, staff, {
      name: `Regional lamp ${word}`,
      price: 2000,
      prices: [{ amount: 2200, currency: 'USD' }],
    });
    const plain = await call('GET', `/v1/products/${lamp.productId}`);
    const american = await call('GET', `/v1/products/${lamp.productId}?region=us`);
    expect(american.statusCode).toBe(200);
    expect(american.json().variants[0]).toMatchObject({
      price: { amount: 2200, currency: 'USD' },
      prices: [{ amount: 2000, currency: 'EUR' }],
    });
    expect(plain.json().variants[0].price).toEqual({ amount: 2000, currency: 'EUR' });
    expect(american.headers.etag).not.toBe(plain.headers.etag);
    // A region in the store's currency answers exactly what no region does.
    const european = await call('GET', `/v1/products/${lamp.productId}?region=eu`);
    expect(european.body).toBe(plain.body);
    const again = await system.app.inject({
      method: 'GET',
      url: `/v1/products/${lamp.productId}?region=us`,
      headers: { 'if-none-match': american.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);

    const listed = await call('GET', `/v1/products?q=${word}&region=us`);
    expect(
      listed.json().items.map((p: { variants: Array<{ price: unknown }> }) => p.variants[0].price),
    ).toEqual([{ amount: 2200, currency: 'USD' }]);
    const unknown = await call('GET', `/v1/products?region=mars`);
    expect(unknown.json()).toMatchObject({ status: 400, code: 'REGION_UNKNOWN' });
  });
});
