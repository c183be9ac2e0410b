import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Price lists end to end: tiered prices from a quantity, prices for a customer group, a date
 * window, the best applicable price winning over the shelf, the cart naming the list that priced
 * a line, and checkout charging exactly that.
 */
describe.each(dbKinds)('price lists on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });
  const eur = (amount: number) => ({ amount, currency: 'EUR' });
  const lineOf = async (shopper: SignedInUser) => (await call('GET', '/v1/cart', shopper)).json().items[0];

  it('volume tiers: the price from the line quantity up, the best one winning, named on the line; checkout charges it', async () => {
    const mug = await createProduct(system, staff, { price: 1000, stock: 50 });
    const made = await call('POST', '/v1/price-lists', staff, {
      name: 'Volume',
      prices: [
        { variantId: mug.variantId, amount: eur(900), minQuantity: 5 },
        { variantId: mug.variantId, amount: eur(800), minQuantity: 10 },
        // Above the shelf price: never chosen, the shelf price is among the candidates.
        { variantId: mug.variantId, amount: eur(1200) },
      ],
    });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.headers.location).toBe(`/v1/price-lists/${made.json().id}`);
    expect((await call('GET', made.headers.location as string, staff)).json()).toEqual(made.json());
    const volume = { id: made.json().id, name: 'Volume' };

    const shopper = await signIn(system);
    await addToCart(system, shopper, mug.variantId, 2);
    const two = await lineOf(shopper);
    expect(two.unitPrice).toEqual(eur(1000));
    expect(two.priceList).toBeUndefined();
    await call('PATCH', `/v1/cart/items/${two.id}`, shopper, { quantity: 5 });
    expect(await lineOf(shopper)).toMatchObject({
      unitPrice: eur(900),
      lineTotal: eur(4500),
      priceList: volume,
    });
    await call('PATCH', `/v1/cart/items/${two.id}`, shopper, { quantity: 12 });
    const twelve = await lineOf(shopper);
    expect(twelve).toMatchObject({ unitPrice: eur(800), lineTotal: eur(9600), priceList: volume });

    const cart = (await call('GET', '/v1/cart', shopper)).json();
    const placed = await checkout(system, shopper, { expectedTotal: cart.total });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json().items[0]).toMatchObject({
      unitPrice: eur(800),
      lineTotal: eur(9600),
      priceList: volume,
    });
    // The order keeps which list priced the line, whatever happens to the list later.
    const kept = (await call('GET', `/v1/orders/${placed.json().id}`, shopper)).json();
    expect(kept.items[0].priceList).toEqual(volume);
    expect(placed.json().payment.amount).toEqual(cart.total);

    // Deactivated, the list prices nothing: the shelf price again.
    expect((await call('DELETE', `/v1/price-lists/${volume.id}`, staff)).statusCode).toBe(204);
    const again = await signIn(system);
    await addToCart(system, again, mug.variantId, 12);
    expect((await lineOf(again)).unitPrice).toEqual(eur(1000));
  });

  it('a list for a customer group prices its members only; one whose window has not opened prices no one', async () => {
    const chair = await createProduct(system, staff, { price: 10_000, stock: 20 });
    const group = await call('POST', '/v1/customer-groups', staff, { name: 'Wholesale' });
    expect(group.statusCode, group.body).toBe(201);
    const member = await signIn(system);
    const other = await signIn(system);
    expect(
      (await call('PUT', `/v1/customer-groups/${group.json().id}/members/${member.id}`, staff)).statusCode,
    ).toBe(204);
    const wholesale = await call('POST', '/v1/price-lists', staff, {
      name: 'Wholesale prices',
      customerGroup: group.json().id,
      prices: [{ variantId: chair.variantId, amount: eur(7000) }],
    });
    expect(wholesale.statusCode).toBe(201);
    const later = new Date(Date.now() + 86_400_000).toISOString();
    await call('POST', '/v1/price-lists', staff, {
      name: 'Next week',
      startsAt: later,
      prices: [{ variantId: chair.variantId, amount: eur(5000) }],
    });

    await addToCart(system, member, chair.variantId, 1);
    await addToCart(system, other, chair.variantId, 1);
    expect(await lineOf(member)).toMatchObject({
      unitPrice: eur(7000),
      priceList: { id: wholesale.json().id, name: 'Wholesale prices' },
    });
    expect((await lineOf(other)).unitPrice).toEqual(eur(10_000));
    const guest = (await call('POST', '/v1/carts')).json();
    const guestCart = await system.app.inject({
      method: 'POST',
      url: '/v1/cart/items',
      headers: { 'cart-token': guest.cartToken },
      payload: { variantId: chair.variantId, quantity: 1 },
    });
    expect(guestCart.json().items[0].unitPrice).toEqual(eur(10_000));
  });

  it('refuses a list that cannot work, in sentences', async () => {
    const lamp = await createProduct(system, staff, { price: 1000 });
    const twice = await call('POST', '/v1/price-lists', staff, {
      name: 'Twice',
      prices: [
        { variantId: lamp.variantId, amount: eur(900) },
        { variantId: lamp.variantId, amount: eur(800), minQuantity: 1 },
      ],
    });
    expect(twice.json()).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: 'A variant has one price per currency and starting quantity: one of them is there twice',
    });
    const backwards = await call('POST', '/v1/price-lists', staff, {
      name: 'Backwards',
      startsAt: '2027-02-01T00:00:00Z',
      endsAt: '2027-01-01T00:00:00Z',
      prices: [{ variantId: lamp.variantId, amount: eur(900) }],
    });
    expect(backwards.json()).toMatchObject({ status: 400, detail: 'endsAt must be after startsAt' });
    const nowhere = await call('POST', '/v1/price-lists', staff, {
      name: 'Nowhere',
      prices: [{ variantId: '01936b2a-0000-7000-8000-00000000abcd', amount: eur(900) }],
    });
    expect(nowhere.json()).toMatchObject({ status: 400, code: 'UNKNOWN_VARIANT' });
    const customer = await signIn(system);
    expect((await call('GET', '/v1/price-lists', customer)).statusCode).toBe(403);
    expect((await call('POST', '/v1/price-lists', staff, { name: 'Empty', prices: [] })).statusCode).toBe(
      400,
    );
  });
});
