import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { ADDRESS, addToCart, checkout, stockOf, totalsOnOrder } from './support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

interface Money {
  amount: number;
  currency: string;
}

interface DemoVariant {
  id: string;
  available: number;
  prices: Money[];
}

const US_ADDRESS = { ...ADDRESS, city: 'Boston', postalCode: '02108', country: 'US' };

describe.each(dbKinds)('multi-currency checkout, fulfilment and refund on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000' });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  const createProduct = async (name: string, price: number, prices: Money[] = []) => {
    const sku = `MC-${randomUUID().slice(0, 13)}`;
    const response = await call('POST', '/v1/products', staff, {
      name,
      variants: [{ sku, price: { amount: price, currency: 'EUR' }, prices, stock: 10 }],
    });
    expect(response.statusCode, response.body).toBe(201);
    return { sku, variantId: response.json().variants[0].id as string };
  };

  const ledger = (orderId: string) => {
    return system.sandbox!.ledger().filter((entry) => entry.reference === orderId);
  };
  /** What the provider's books say about one order: captured minus refunded, to the cent. */
  const providerNet = (orderId: string) => {
    const entries = ledger(orderId);
    const sum = (kind: string) =>
      entries.filter((entry) => entry.kind === kind).reduce((total, entry) => total + entry.amount, 0);
    return sum('capture') - sum('refund');
  };

  it('EUR products with USD prices → USD cart, shipping, code, tax → order → partial shipment → return → refund in USD to the cent', async () => {
    const lamp = await createProduct('Lamp', 2000, [{ amount: 2199, currency: 'USD' }]);
    const mug = await createProduct('Mug', 850, [{ amount: 949, currency: 'USD' }]);
    const poster = await createProduct('Poster', 1500);
    await call('PUT', '/v1/tax-rates/US', staff, { rate: 625, name: 'Sales tax' });
    const eurShipping = (
      await call('POST', '/v1/shipping-methods', staff, {
        name: 'Euro post',
        country: 'US',
        price: { amount: 1500, currency: 'EUR' },
        minDays: 5,
        maxDays: 9,
      })
    ).json();
    const usdShipping = (
      await call('POST', '/v1/shipping-methods', staff, {
        name: 'UPS Ground',
        country: 'US',
        price: { amount: 795, currency: 'USD' },
        minDays: 2,
        maxDays: 5,
      })
    ).json();
    await call('POST', '/v1/promotions', staff, {
      code: 'EURO5',
      kind: 'fixed',
      value: 500,
      currency: 'EUR',
    });
    await call('POST', '/v1/promotions', staff, {
      code: 'DOLLAR5',
      kind: 'fixed',
      value: 500,
      currency: 'USD',
      minSubtotal: 5000,
    });

    const buyer = await signIn(system);
    await addToCart(system, buyer, lamp.variantId, 3);
    await addToCart(system, buyer, mug.variantId, 2);
    const withPoster = await addToCart(system, buyer, poster.variantId, 1);
    expect(withPoster.json().currency).toBe('EUR');

    // A line without a USD price blocks the switch, and names the variant.
    const blocked = await call('POST', '/v1/cart/currency', buyer, { currency: 'USD' });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json()).toMatchObject({ code: 'PRICE_UNAVAILABLE', variantIds: [poster.variantId] });
    const posterLine = withPoster.json().items.find((item: { sku: string }) => item.sku === poster.sku);
    expect((await call('DELETE', `/v1/cart/items/${posterLine.id}`, buyer)).statusCode).toBe(204);

    const switched = await call('POST', '/v1/cart/currency', buyer, { currency: 'USD' });
    expect(switched.statusCode, switched.body).toBe(200);
    expect(switched.json().currency).toBe('USD');
    expect(
      switched.json().items.map((item: { sku: string; unitPrice: Money }) => [item.sku, item.unitPrice]),
    ).toEqual([
      [lamp.sku, { amount: 2199, currency: 'USD' }],
      [mug.sku, { amount: 949, currency: 'USD' }],
    ]);
    // Adding an item without a USD price to the USD cart is refused too.
    const addPoster = await addToCart(system, buyer, poster.variantId, 1);
    expect(addPoster.statusCode).toBe(409);
    expect(addPoster.json().code).toBe('PRICE_UNAVAILABLE');

    // A shipping method and a code in another currency do not apply to the USD cart.
    const eurMethod = await call('PUT', '/v1/cart/shipping-method', buyer, {
      shippingMethodId: eurShipping.id,
    });
    expect(eurMethod.statusCode).toBe(409);
    expect(eurMethod.json().code).toBe('PRICE_UNAVAILABLE');
    const eurCode = await call('POST', '/v1/cart/promotions', buyer, { code: 'EURO5' });
    expect(eurCode.statusCode).toBe(400);
    expect(eurCode.json().code).toBe('PROMOTION_INVALID');

    await call('PUT', '/v1/cart/shipping-method', buyer, { shippingMethodId: usdShipping.id });
    const cartResponse = await call('POST', '/v1/cart/promotions', buyer, { code: 'dollar5' });
    expect(cartResponse.statusCode, cartResponse.body).toBe(200);
    const cart = cartResponse.json();
    // 3 × 21.99 + 2 × 9.49 = 84.95; $5 off; shipping 7.95; 6.25 % tax per line and on shipping.
    expect(cart.totals).toMatchObject({
      subtotal: { amount: 8495, currency: 'USD' },
      discountTotal: { amount: 500, currency: 'USD' },
      shippingTotal: { amount: 795, currency: 'USD' },
    });
    const { subtotal, discountTotal, shippingTotal, taxTotal, total } = cart.totals;
    expect(taxTotal.amount).toBeGreaterThan(0);
    expect(total.amount).toBe(
      subtotal.amount - discountTotal.amount + shippingTotal.amount + taxTotal.amount,
    );

    const placed = await checkout(system, buyer, { address: US_ADDRESS });
    expect(placed.statusCode, placed.body).toBe(201);
    const order = placed.json();
    expect(order.total.currency).toBe('USD');
    expect(order.totals).toEqual(totalsOnOrder(cart, order));
    expect(order.promotionCode).toBe('DOLLAR5');
    expect(ledger(order.id).filter((entry) => entry.kind === 'capture')).toEqual([
      expect.objectContaining({ amount: order.total.amount, currency: 'USD' }),
    ]);
    expect(providerNet(order.id)).toBe(order.total.amount);

    const lampLine = order.items.find((item: { sku: string }) => item.sku === lamp.sku);
    const mugLine = order.items.find((item: { sku: string }) => item.sku === mug.sku);
    expect(lampLine.unitPrice).toEqual({ amount: 2199, currency: 'USD' });
    const shipped = await call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
      items: [{ orderItemId: lampLine.id, quantity: 2 }],
      carrier: 'UPS',
      trackingNumber: '1Z-USD-1',
    });
    expect(shipped.statusCode, shipped.body).toBe(201);
    expect((await call('GET', `/v1/orders/${order.id}`, buyer)).json().status).toBe('partially_shipped');

    const requested = await call('POST', `/v1/orders/${order.id}/returns`, buyer, {
      items: [{ orderItemId: lampLine.id, quantity: 1 }],
      reason: 'wrong colour',
    });
    expect(requested.statusCode, requested.body).toBe(201);
    const received = await call('POST', `/v1/returns/${requested.json().id}/receive`, staff);
    expect(received.statusCode, received.body).toBe(200);
    // One of three lamps back: a third of that line's discounted price plus its tax, floored.
    const lampPaid = lampLine.lineTotal.amount - lampLine.discount.amount + lampLine.tax.amount;
    const firstRefund = Math.floor(lampPaid / 3);
    expect(received.json()).toMatchObject({
      status: 'received',
      refund: { amount: firstRefund, currency: 'USD' },
    });
    expect(ledger(order.id).filter((entry) => entry.kind === 'refund')).toEqual([
      expect.objectContaining({ amount: firstRefund, currency: 'USD' }),
    ]);
    const after = (await call('GET', `/v1/orders/${order.id}`, buyer)).json();
    expect(after.payment).toMatchObject({
      status: 'partially_refunded',
      refunded: { amount: firstRefund, currency: 'USD' },
    });
    expect(providerNet(order.id)).toBe(order.total.amount - firstRefund);
    expect((await stockOf(system, staff, lamp.sku)).onHand).toBe(8);

    // The rest ships and comes back: the refunds add up to exactly what was captured.
    await call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
      items: [
        { orderItemId: lampLine.id, quantity: 1 },
        { orderItemId: mugLine.id, quantity: 2 },
      ],
      carrier: 'UPS',
      trackingNumber: '1Z-USD-2',
    });
    const rest = await call('POST', `/v1/orders/${order.id}/returns`, buyer, {
      items: [
        { orderItemId: lampLine.id, quantity: 2 },
        { orderItemId: mugLine.id, quantity: 2 },
      ],
      reason: 'changed my mind',
    });
    expect((await call('POST', `/v1/returns/${rest.json().id}/receive`, staff)).statusCode).toBe(200);
    const final = (await call('GET', `/v1/orders/${order.id}`, buyer)).json();
    expect(final.payment).toMatchObject({ status: 'refunded', refunded: { amount: order.total.amount } });
    expect(providerNet(order.id)).toBe(0);
    expect(ledger(order.id).every((entry) => entry.currency === 'USD')).toBe(true);
  });
});

describe.each(dbKinds)('demo pricing data on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    // A fresh start with SEED_PRODUCTS > 0 loads the demo catalog and, with it, the demo pricing rules.
    system = await createTestSystem(kind, { SEED_PRODUCTS: '20', PAYMENTS_TIMEOUT_MS: '8000' });
    staff = await signIn(system, 'staff');
  }, 60_000);
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  it('holds tax rates, standard and express shipping per country, active codes and USD prices', async () => {
    const rates = (await call('GET', '/v1/tax-rates')).json().items;
    expect(rates).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ country: 'DE', rate: 1900 }),
        expect.objectContaining({ country: 'FR', rate: 2000 }),
        expect.objectContaining({ country: 'GB', rate: 2000 }),
        expect.objectContaining({ country: 'NL', rate: 2100 }),
        expect.objectContaining({ country: 'US', rate: 0 }),
      ]),
    );
    for (const [country, currency] of [
      ['DE', 'EUR'],
      ['FR', 'EUR'],
      ['GB', 'EUR'],
      ['NL', 'EUR'],
      ['US', 'USD'],
    ]) {
      const methods = (await call('GET', `/v1/shipping-methods?country=${country}`)).json().items;
      expect(methods.map((method: { name: string }) => method.name)).toEqual(['Standard', 'Express']);
      for (const method of methods) expect(method.price.currency).toBe(currency);
    }
    const promotions = (await call('GET', '/v1/promotions', staff)).json().items;
    expect(promotions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'WELCOME10', kind: 'percentage', value: 10, active: true }),
        expect.objectContaining({ code: 'FREESHIP', kind: 'free_shipping', active: true }),
      ]),
    );
    const products = (await call('GET', '/v1/products?size=20')).json();
    expect(products.total).toBe(20);
    for (const product of products.items) {
      for (const variant of product.variants) {
        expect(variant.prices).toEqual([{ amount: expect.any(Number), currency: 'USD' }]);
      }
    }
  });

  it('loads the demo pricing rules idempotently: a second load adds nothing and keeps staff changes', async () => {
    const before = (await call('GET', '/v1/shipping-methods')).json().items;
    await call('PUT', '/v1/tax-rates/DE', staff, { rate: 1600, name: 'MwSt (2020)' });
    const pricing = moduleOf(system, 'pricing');
    await pricing.seedDemo();
    expect((await call('GET', '/v1/shipping-methods')).json().items).toEqual(before);
    expect((await call('GET', '/v1/promotions', staff)).json().items).toHaveLength(2);
    const rates = (await call('GET', '/v1/tax-rates')).json().items;
    const german = (taxClass: string) =>
      rates.find(
        (rate: { country: string; taxClass: string }) => rate.country === 'DE' && rate.taxClass === taxClass,
      );
    expect(german('standard')).toMatchObject({ rate: 1600, name: 'MwSt (2020)' });
    expect(german('reduced')).toMatchObject({ rate: 700 });
    await call('PUT', '/v1/tax-rates/DE', staff, { rate: 1900, name: 'MwSt' });
  });

  it('lets a shopper buy the demo in USD with a demo code and shipping method', async () => {
    const products = (await call('GET', '/v1/products?size=20')).json().items;
    // Two of it must reach WELCOME10's minimum subtotal of 30.00.
    const variant = products
      .flatMap((product: { variants: DemoVariant[] }) => product.variants)
      .find((candidate: DemoVariant) => candidate.available >= 2 && candidate.prices[0].amount >= 1500);
    const buyer = await signIn(system);
    expect((await call('POST', '/v1/cart/currency', buyer, { currency: 'USD' })).statusCode).toBe(200);
    expect((await addToCart(system, buyer, variant.id, 2)).statusCode).toBe(201);
    const [express] = (await call('GET', '/v1/shipping-methods?country=US')).json().items.slice(1);
    expect(
      (await call('PUT', '/v1/cart/shipping-method', buyer, { shippingMethodId: express.id })).statusCode,
    ).toBe(200);
    const cart = (await call('POST', '/v1/cart/promotions', buyer, { code: 'WELCOME10' })).json();
    expect(cart.promotion).toEqual({ code: 'WELCOME10', kind: 'percentage' });
    const placed = await checkout(system, buyer, { address: US_ADDRESS });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json().totals).toEqual(totalsOnOrder(cart, placed.json()));
    expect(placed.json().total.currency).toBe('USD');
  });
});
