import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, BERLIN, checkout, createProduct, type TestVariant } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

const SHOPPERS = 24;
const START = { main: 20, berlin: 15 };

/**
 * An order's reservations are sold or released by one statement for all its variants and
 * locations (inventory's settleReservations). Many shoppers buying the same variants, added in
 * different orders, drawn from two locations, some paying and some declined, all at once: every
 * order ends confirmed or cancelled, nothing stays reserved, and each variant's totals are the
 * sums of its locations and what was sold.
 */
describe.each(dbKinds)('orders settling at once over shared variants and locations on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let variants: TestVariant[];
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
    const location = await system.app.inject({
      method: 'POST',
      url: '/v1/stock-locations',
      headers: staff.headers,
      payload: { code: 'berlin', name: 'Berlin depot', priority: 5, countries: ['DE'] },
    });
    expect(location.statusCode).toBe(201);
    variants = [];
    for (let index = 0; index < 3; index++) {
      const variant = await createProduct(system, staff, { stock: START.main, price: 1000 + index });
      const set = await system.app.inject({
        method: 'PUT',
        url: `/v1/inventory/${variant.sku}/locations/berlin`,
        headers: staff.headers,
        payload: { onHand: START.berlin },
      });
      expect(set.statusCode).toBe(200);
      variants.push(variant);
    }
  });
  afterAll(() => system?.dispose());

  it('ends every order confirmed or cancelled, with nothing reserved and every unit accounted for', async () => {
    const shoppers = await Promise.all(Array.from({ length: SHOPPERS }, () => signIn(system)));
    for (const [index, shopper] of shoppers.entries()) {
      // Each shopper adds the three variants in its own order, one to three units each.
      const order = [0, 1, 2].map((offset) => variants[(index + offset) % 3]!);
      for (const variant of index % 2 ? order.reverse() : order) {
        expect((await addToCart(system, shopper, variant.variantId, 1 + (index % 3))).statusCode).toBe(201);
      }
    }
    const answers = await Promise.all(
      shoppers.map((shopper, index) =>
        checkout(system, shopper, {
          token: index % 4 === 3 ? 'tok_declined' : 'tok_visa',
          // Berlin draws from its depot first, the rest from the main warehouse.
          ...(index % 2 ? { address: BERLIN } : {}),
        }),
      ),
    );
    for (const answer of answers) expect([201, 402, 409], answer.body).toContain(answer.statusCode);
    const confirmed = answers.filter((answer) => answer.statusCode === 201).map((answer) => answer.json());
    expect(confirmed.length).toBeGreaterThan(0);
    expect(answers.some((answer) => answer.statusCode === 402)).toBe(true);
    for (const order of confirmed) expect(order.status).toBe('confirmed');

    for (const variant of variants) {
      const stock = (
        await system.app.inject({
          method: 'GET',
          url: `/v1/inventory/${variant.sku}`,
          headers: staff.headers,
        })
      ).json() as {
        onHand: number;
        reserved: number;
        locations: Array<{ onHand: number; reserved: number }>;
      };
      const sold = confirmed
        .flatMap((order) => order.items as Array<{ variantId: string; quantity: number }>)
        .filter((item) => item.variantId === variant.variantId)
        .reduce((sum, item) => sum + item.quantity, 0);
      expect(stock.reserved).toBe(0);
      expect(stock.onHand).toBe(START.main + START.berlin - sold);
      expect(stock.locations.reduce((sum, level) => sum + level.onHand, 0)).toBe(stock.onHand);
      for (const level of stock.locations) {
        expect(level.reserved).toBe(0);
        expect(level.onHand).toBeGreaterThanOrEqual(0);
      }
    }
  });
});
