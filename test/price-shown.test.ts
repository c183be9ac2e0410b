import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import {
  addToCart,
  checkout,
  createProduct,
  stockOf,
  type TestVariant,
  totalsOnOrder,
} from './support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

/** The demo's German methods (pricing/demo.ts): Standard €4.95, Express €9.95; 19 % VAT. */
const DE_STANDARD = '01936b2a-0000-7000-8000-000000000001';
const DE_EXPRESS = '01936b2a-0000-7000-8000-000000000002';

const addressIn = (country: string) => ({
  name: 'Grace Hopper',
  line1: '1 Compiler Way',
  city: 'Somewhere',
  postalCode: '12345',
  country,
});

interface Money {
  amount: number;
  currency: string;
}
interface Totals {
  subtotal: Money;
  discountTotal: Money;
  shippingTotal: Money;
  taxTotal: Money;
  total: Money;
}

/**
 * Invariant 8: the total a cart shows for its destination is the total the order charges, or
 * checkout refuses with the new total and charges nothing.
 */
describe.each(dbKinds)('the price shown is the price charged on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    await moduleOf(system, 'pricing').seedDemo();
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: unknown) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload: payload as object });
  const cartOf = async (user: SignedInUser) => (await call('GET', '/v1/cart', user)).json();
  const shipTo = async (user: SignedInUser, country: string) => {
    const response = await call('PUT', '/v1/cart/address', user, { shippingAddress: { country } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  const captured = (orderId: string) =>
    system
      .sandbox!.ledger()
      .filter((entry) => entry.reference === orderId && entry.kind === 'capture')
      .reduce((sum, entry) => sum + entry.amount, 0);
  const ledgerSize = () => system.sandbox!.ledger().length;

  it('a German cart shows 19 % VAT and the cheapest shipping before checkout, and is charged exactly that', async () => {
    const variant = await createProduct(system, staff, { price: 9590 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    const cart = await shipTo(buyer, 'DE');
    // Nothing chosen: the cheapest German method is chosen and shown, never free by omission.
    expect(cart.shippingMethod).toMatchObject({ id: DE_STANDARD, name: 'Standard', price: { amount: 495 } });
    expect(cart.shippingAddress).toEqual({ country: 'DE' });
    const tax = Math.round((9590 + 495) * 0.19);
    expect(cart.totals).toEqual({
      subtotal: { amount: 9590, currency: 'EUR' },
      discountTotal: { amount: 0, currency: 'EUR' },
      discounts: [],
      shippingTotal: { amount: 495, currency: 'EUR' },
      taxTotal: { amount: tax, currency: 'EUR' },
      total: { amount: 9590 + 495 + tax, currency: 'EUR' },
      taxInclusive: false,
    });
    expect(await cartOf(buyer)).toEqual(cart);

    const placed = await checkout(system, buyer, { address: addressIn('DE'), expectedTotal: cart.total });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json().totals).toEqual(totalsOnOrder(cart, placed.json()));
    expect(placed.json().shippingMethod).toMatchObject({ id: DE_STANDARD });
    expect(captured(placed.json().id)).toBe(cart.total.amount);
  });

  it('refuses control characters in an address (PostgreSQL cannot store NUL) with 400, at the cart and at checkout', async () => {
    const variant = await createProduct(system, staff, { price: 500 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    for (const shippingAddress of [
      { country: 'DE', line2: '\u0000' },
      { country: 'DE', name: 'A\u0007B' },
    ]) {
      const refused = await call('PUT', '/v1/cart/address', buyer, { shippingAddress });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().code).toBe('VALIDATION_FAILED');
    }
    const order = await checkout(system, buyer, { address: { ...addressIn('DE'), city: 'Ber\u0000lin' } });
    expect(order.statusCode).toBe(400);
  });

  it('a total that changed since it was shown is refused with 409 TOTAL_CHANGED and the new totals; nothing is reserved or charged', async () => {
    const variant = await createProduct(system, staff, { price: 9590, stock: 4 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    // The shopper saw the cart before any destination: €95.90, no tax, no shipping.
    const shown = (await cartOf(buyer)).total;
    expect(shown).toEqual({ amount: 9590, currency: 'EUR' });
    const entriesBefore = ledgerSize();
    const refused = await checkout(system, buyer, { address: addressIn('DE'), expectedTotal: shown });
    expect(refused.statusCode).toBe(409);
    const problem = refused.json();
    expect(problem.code).toBe('TOTAL_CHANGED');
    expect(problem.expectedTotal).toEqual(shown);
    expect(problem.totals.total.amount).toBe(9590 + 495 + Math.round((9590 + 495) * 0.19));
    expect(problem.detail).toMatch(/nothing was charged/);
    const orders = (await call('GET', '/v1/orders', buyer)).json();
    expect(orders.total).toBe(0);
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 4, reserved: 0 });
    expect(ledgerSize()).toBe(entriesBefore);
    // The cart is untouched; with the new total the same checkout goes through.
    expect((await cartOf(buyer)).items).toHaveLength(1);
    const placed = await checkout(system, buyer, {
      address: addressIn('DE'),
      expectedTotal: problem.totals.total,
    });
    expect(placed.statusCode).toBe(201);
    expect(captured(placed.json().id)).toBe(problem.totals.total.amount);
  });

  it('a chosen method that staff retire or reprice into another currency is replaced and shown, never charged as 0', async () => {
    const express = await call('POST', '/v1/shipping-methods', staff, {
      name: 'Courier',
      country: 'DE',
      price: { amount: 1500, currency: 'EUR' },
      minDays: 0,
      maxDays: 1,
    });
    const variant = await createProduct(system, staff, { price: 2000 });
    for (const change of ['retire', 'reprice'] as const) {
      const method = await call('POST', '/v1/shipping-methods', staff, {
        name: `Courier ${change}`,
        country: 'DE',
        price: { amount: 1200, currency: 'EUR' },
        minDays: 0,
        maxDays: 1,
      });
      const buyer = await signIn(system);
      await addToCart(system, buyer, variant.variantId);
      await shipTo(buyer, 'DE');
      const chosen = await call('PUT', '/v1/cart/shipping-method', buyer, {
        shippingMethodId: method.json().id,
      });
      expect(chosen.json().shippingMethod.id).toBe(method.json().id);
      expect(chosen.json().totals.shippingTotal.amount).toBe(1200);
      if (change === 'retire') await call('DELETE', `/v1/shipping-methods/${method.json().id}`, staff);
      else
        await call('PATCH', `/v1/shipping-methods/${method.json().id}`, staff, {
          price: { amount: 1300, currency: 'USD' },
        });
      const view = await call('GET', '/v1/cart', buyer);
      expect(view.statusCode, `${change}: ${view.body}`).toBe(200);
      const cart = view.json();
      expect(cart.shippingMethod, change).toMatchObject({ id: DE_STANDARD, price: { amount: 495 } });
      expect(cart.shippingNotice, change).toBe(
        `Courier ${change} is no longer available; Standard was chosen instead`,
      );
      expect(cart.totals.shippingTotal.amount, change).toBe(495);
      const placed = await checkout(system, buyer, { address: addressIn('DE'), expectedTotal: cart.total });
      expect(placed.statusCode, placed.body).toBe(201);
      expect(placed.json().totals.shippingTotal.amount).toBe(495);
      expect(captured(placed.json().id)).toBe(cart.total.amount);
      // Emptying the cart clears what was chosen for it.
      await addToCart(system, buyer, variant.variantId);
      expect((await call('DELETE', '/v1/cart', buyer)).statusCode).toBe(204);
      const emptied = await cartOf(buyer);
      expect(emptied.items).toEqual([]);
      expect(emptied.shippingMethod).toBeUndefined();
      expect(emptied.total.amount).toBe(0);
    }
    await call('DELETE', `/v1/shipping-methods/${express.json().id}`, staff);
  });

  it('a US address says plainly that shipping there is in USD; switching the cart to USD makes it payable', async () => {
    const dual = await createProduct(system, staff, {
      price: 3000,
      prices: [{ amount: 3300, currency: 'USD' }],
    });
    const euroOnly = await createProduct(system, staff, { price: 1000 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, dual.variantId);
    await addToCart(system, buyer, euroOnly.variantId);
    const cart = await shipTo(buyer, 'US');
    expect(cart.shippingProblem).toEqual({
      code: 'SHIPPING_CURRENCY',
      detail: 'Shipping to US is charged in USD; this cart is in EUR',
      currencies: ['USD'],
    });
    const refused = await checkout(system, buyer, { address: addressIn('US') });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'SHIPPING_UNAVAILABLE', currencies: ['USD'] });
    // One item has no USD price: the switch is refused and names it.
    const blocked = await call('POST', '/v1/cart/currency', buyer, { currency: 'USD' });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json()).toMatchObject({ code: 'PRICE_UNAVAILABLE', variantIds: [euroOnly.variantId] });
    const line = (await cartOf(buyer)).items.find(
      (item: { variantId: string }) => item.variantId === euroOnly.variantId,
    );
    await call('DELETE', `/v1/cart/items/${line.id}`, buyer);
    const switched = (await call('POST', '/v1/cart/currency', buyer, { currency: 'USD' })).json();
    expect(switched.shippingProblem).toBeUndefined();
    expect(switched.shippingMethod).toMatchObject({
      country: 'US',
      price: { amount: 1499, currency: 'USD' },
    });
    expect(switched.total).toEqual({ amount: 3300 + 1499, currency: 'USD' });
    const placed = await checkout(system, buyer, { address: addressIn('US'), expectedTotal: switched.total });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(captured(placed.json().id)).toBe(3300 + 1499);
  });

  it('a declined card gives the cart back on the server, with its code, method and address; the order says why', async () => {
    const variant = await createProduct(system, staff, { price: 4000, stock: 5 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId, 2);
    await shipTo(buyer, 'DE');
    await call('PUT', '/v1/cart/shipping-method', buyer, { shippingMethodId: DE_EXPRESS });
    await call('POST', '/v1/cart/promotions', buyer, { code: 'WELCOME10' });
    const before = await cartOf(buyer);
    const declined = await checkout(system, buyer, {
      token: 'tok_declined',
      address: addressIn('DE'),
      expectedTotal: before.total,
    });
    expect(declined.statusCode).toBe(402);
    expect(declined.json().detail).toBe(
      'The card was declined; nothing was charged, and the items are back in your cart',
    );
    const order = (await call('GET', `/v1/orders/${declined.json().orderId}`, buyer)).json();
    expect(order).toMatchObject({ status: 'cancelled', cancelReason: 'payment_declined' });
    const after = await cartOf(buyer);
    expect(after).toEqual({
      ...before,
      id: after.id,
      items: after.items,
      totals: totalsOnOrder(before, after),
    });
    expect(
      after.items.map((item: { variantId: string; quantity: number }) => [item.variantId, item.quantity]),
    ).toEqual([[variant.variantId, 2]]);
    expect(after.total).toEqual(before.total);
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 5, reserved: 0 });
    // Another card, the same total.
    const paid = await checkout(system, buyer, { address: addressIn('DE'), expectedTotal: after.total });
    expect(paid.statusCode, paid.body).toBe(201);
    expect(captured(paid.json().id)).toBe(before.total.amount);
  });

  it('property: for random carts, destinations, codes and methods the quoted total is the charged total', async () => {
    await call('POST', '/v1/promotions', staff, {
      code: 'FIVEOFF',
      kind: 'fixed',
      value: 500,
      currency: 'EUR',
    });
    await call('POST', '/v1/promotions', staff, { code: 'HALF', kind: 'percentage', value: 50 });
    const pool: TestVariant[] = [];
    for (const price of [1, 99, 1234, 4999, 19999, 33333]) {
      pool.push(
        await createProduct(system, staff, {
          price,
          stock: 100_000,
          prices: [{ amount: price + 7, currency: 'USD' }],
        }),
      );
    }
    const scenario = fc.record({
      lines: fc.uniqueArray(
        fc.record({ product: fc.nat(pool.length - 1), quantity: fc.integer({ min: 1, max: 5 }) }),
        {
          minLength: 1,
          maxLength: 4,
          selector: (line) => line.product,
        },
      ),
      country: fc.constantFrom('DE', 'FR', 'GB', 'NL', 'US', 'JP'),
      currency: fc.constantFrom('EUR', 'USD'),
      code: fc.constantFrom(undefined, 'WELCOME10', 'FREESHIP', 'FIVEOFF', 'HALF'),
      method: fc.constantFrom('none', 'cheapest', 'dearest'),
    });
    let checkedOut = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ lines, country, currency, code, method }) => {
        const buyer = await signIn(system);
        for (const line of lines) await addToCart(system, buyer, pool[line.product].variantId, line.quantity);
        if (currency !== 'EUR') await call('POST', '/v1/cart/currency', buyer, { currency });
        if (code) await call('POST', '/v1/cart/promotions', buyer, { code });
        let cart = await shipTo(buyer, country);
        if (method !== 'none') {
          const methods = (await call('GET', `/v1/shipping-methods?country=${country}`))
            .json()
            .items.filter((candidate: { price: Money }) => candidate.price.currency === currency);
          const pick = method === 'cheapest' ? methods[0] : methods.at(-1);
          if (pick)
            cart = (
              await call('PUT', '/v1/cart/shipping-method', buyer, { shippingMethodId: pick.id })
            ).json();
        }
        const totals: Totals = cart.totals;
        expect(totals.total.amount).toBe(
          totals.subtotal.amount -
            totals.discountTotal.amount +
            totals.shippingTotal.amount +
            totals.taxTotal.amount,
        );
        expect(cart.total).toEqual(totals.total);
        for (const money of Object.values(totals)) {
          if (typeof money === 'object' && 'currency' in money) expect(money.currency).toBe(currency);
        }
        const answer = await checkout(system, buyer, {
          address: addressIn(country),
          expectedTotal: cart.total,
        });
        // A cart that cannot be placed as it is says why first, even when it would cost nothing.
        if (cart.shippingProblem || cart.promotionProblem) {
          expect(answer.statusCode, answer.body).toBeGreaterThanOrEqual(400);
          expect(answer.statusCode).toBeLessThan(500);
          return;
        }
        if (totals.total.amount === 0) {
          expect(answer.statusCode, answer.body).toBe(409);
          expect(answer.json().code).toBe('NOTHING_TO_PAY');
          return;
        }
        expect(answer.statusCode, answer.body).toBe(201);
        const order = answer.json();
        expect(order.totals).toEqual(totalsOnOrder(cart, order));
        expect(order.payment.amount).toEqual(totals.total);
        expect(captured(order.id)).toBe(totals.total.amount);
        checkedOut += 1;
      }),
      { numRuns: 30 },
    );
    expect(checkedOut).toBeGreaterThan(10);
  });
});
