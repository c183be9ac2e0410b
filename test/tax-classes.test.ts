import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, BERLIN, checkout, createProduct, totalsOnOrder } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Tax classes end to end: staff keep classes and a rate per country and class, a variant is sold
 * under a class, and a cart taxes each line at its class's rate in the destination (a class with
 * no rate there at the standard one), shipping at the standard rate.
 */
describe.each(dbKinds)('tax classes on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  it('staff keep classes and rates per country and class; an unknown class is refused in a sentence', async () => {
    expect((await call('GET', '/v1/tax-classes')).json().items.map((c: { code: string }) => c.code)).toEqual([
      'reduced',
      'standard',
      'zero',
    ]);
    const customer = await signIn(system);
    expect(
      (await call('POST', '/v1/tax-classes', customer, { code: 'luxury', name: 'Luxury' })).statusCode,
    ).toBe(403);
    const made = await call('POST', '/v1/tax-classes', staff, { code: 'luxury', name: 'Luxury goods' });
    expect(made.statusCode).toBe(201);
    expect(made.headers.location).toBe('/v1/tax-classes/luxury');
    expect((await call('GET', '/v1/tax-classes/luxury')).json()).toEqual({
      code: 'luxury',
      name: 'Luxury goods',
    });
    expect(
      (await call('POST', '/v1/tax-classes', staff, { code: 'luxury', name: 'Again' })).json(),
    ).toMatchObject({
      status: 409,
      code: 'TAX_CLASS_EXISTS',
    });
    expect((await call('POST', '/v1/tax-classes', staff, { code: 'Not OK', name: 'x' })).statusCode).toBe(
      400,
    );

    const unknown = await call('PUT', '/v1/tax-rates/DE', staff, { rate: 700, name: 'x', taxClass: 'books' });
    expect(unknown.json()).toMatchObject({
      status: 400,
      code: 'TAX_CLASS_UNKNOWN',
      detail: 'There is no tax class books: create it under tax classes first',
    });
    const product = await call('POST', '/v1/products', staff, {
      name: 'Untaxable',
      variants: [{ sku: 'UNTAXABLE-1', price: { amount: 100, currency: 'EUR' }, taxClass: 'books' }],
    });
    expect(product.json()).toMatchObject({ status: 400, code: 'TAX_CLASS_UNKNOWN' });
  });

  it('a German cart taxes a book at the reduced rate, a lamp and shipping at the standard one, and charges exactly that', async () => {
    expect((await call('PUT', '/v1/tax-rates/DE', staff, { rate: 1900, name: 'USt' })).statusCode).toBe(200);
    const reduced = await call('PUT', '/v1/tax-rates/DE', staff, {
      rate: 700,
      name: 'ermäßigt',
      taxClass: 'reduced',
    });
    expect(reduced.json()).toEqual({ country: 'DE', taxClass: 'reduced', rate: 700, name: 'ermäßigt' });
    const rates = (await call('GET', '/v1/tax-rates')).json().items;
    expect(rates.filter((rate: { country: string }) => rate.country === 'DE')).toEqual([
      { country: 'DE', taxClass: 'reduced', rate: 700, name: 'ermäßigt' },
      { country: 'DE', taxClass: 'standard', rate: 1900, name: 'USt' },
    ]);
    expect(
      (
        await call('POST', '/v1/shipping-methods', staff, {
          name: 'DHL',
          country: 'DE',
          price: { amount: 500, currency: 'EUR' },
          minDays: 1,
          maxDays: 2,
        })
      ).statusCode,
    ).toBe(201);
    const book = await call('POST', '/v1/products', staff, {
      name: 'A book on taxes',
      variants: [
        { sku: 'BOOK-TAX-1', price: { amount: 2000, currency: 'EUR' }, stock: 5, taxClass: 'reduced' },
      ],
    });
    expect(book.statusCode, book.body).toBe(201);
    expect(book.json().variants[0].taxClass).toBe('reduced');
    const lamp = await createProduct(system, staff, { price: 3000 });
    // A class with no German rate is taxed at the German standard rate.
    const zeroed = await call('POST', '/v1/products', staff, {
      name: 'Zero-rated where it has a rate',
      variants: [{ sku: 'ZERO-TAX-1', price: { amount: 1000, currency: 'EUR' }, stock: 5, taxClass: 'zero' }],
    });
    const shopper = await signIn(system);
    await addToCart(system, shopper, book.json().variants[0].id, 1);
    await addToCart(system, shopper, lamp.variantId, 1);
    await addToCart(system, shopper, zeroed.json().variants[0].id, 1);
    const cart = (
      await call('PUT', '/v1/cart/address', shopper, { shippingAddress: { country: 'DE' } })
    ).json();
    const taxOf = (variantId: string) =>
      cart.items.find((item: { variantId: string }) => item.variantId === variantId).tax.amount;
    expect(taxOf(book.json().variants[0].id)).toBe(140); // 7 % of 2000
    expect(taxOf(lamp.variantId)).toBe(570); // 19 % of 3000
    expect(taxOf(zeroed.json().variants[0].id)).toBe(190); // no zero rate in DE: 19 %
    expect(cart.totals).toMatchObject({
      taxTotal: { amount: 140 + 570 + 190 + 95 },
      total: { amount: 6500 + 995 },
    });

    const placed = await checkout(system, shopper, { address: BERLIN, expectedTotal: cart.total });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json().totals).toEqual(totalsOnOrder(cart, placed.json()));
    expect(placed.json().payment.amount).toEqual({ amount: 7495, currency: 'EUR' });
  });
});
