import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

let skuSequence = 0;
const sku = () => `SR-${process.pid}-${++skuSequence}`;

describe.each(dbKinds)('search with typos and facets on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  const names = async (query: string) =>
    (await system.app.inject({ url: `/v1/products?${query}` }))
      .json()
      .items.map((item: { name: string }) => item.name);

  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    for (const category of [
      { slug: 'coats', name: 'Coats' },
      { slug: 'bags', name: 'Bags' },
    ]) {
      await system.app.inject({
        method: 'POST',
        url: '/v1/categories',
        headers: staff.headers,
        payload: category,
      });
    }
    const products = [
      { name: 'Waterproof jacket', category: 'coats', amount: 12900, sizes: ['S', 'M'] },
      { name: 'Quilted jacket', category: 'coats', amount: 8900, sizes: ['M', 'L'] },
      { name: 'Jackfruit tote', category: 'bags', amount: 2900, sizes: [] },
      { name: 'Canvas backpack', category: 'bags', amount: 4500, sizes: [] },
    ];
    for (const product of products) {
      const variants =
        product.sizes.length > 0
          ? product.sizes.map((size) => ({
              sku: sku(),
              price: { amount: product.amount, currency: 'EUR' },
              options: { Size: size },
            }))
          : [{ sku: sku(), price: { amount: product.amount, currency: 'EUR' } }];
      const response = await system.app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: staff.headers,
        payload: {
          name: product.name,
          description: 'Made to last.',
          categorySlugs: [product.category],
          ...(product.sizes.length > 0 ? { options: [{ name: 'Size', values: product.sizes }] } : {}),
          variants,
        },
      });
      expect(response.statusCode, response.body).toBe(201);
    }
  });
  afterAll(() => system.dispose());

  it('finds names through a typo and by a prefix, the closest first', async () => {
    // The jackets first; a word that merely starts alike comes after them.
    const typo = await names('q=jackt');
    expect(typo.slice(0, 2).sort()).toEqual(['Quilted jacket', 'Waterproof jacket']);
    expect(typo.slice(2)).toEqual(['Jackfruit tote']);
    expect((await names('q=waterprof'))[0]).toBe('Waterproof jacket');
    // A prefix: the jackets and the jackfruit.
    expect((await names('q=jack')).sort()).toEqual(['Jackfruit tote', 'Quilted jacket', 'Waterproof jacket']);
    // Words still match exactly and rank above near misses.
    expect((await names('q=backpack'))[0]).toBe('Canvas backpack');
    expect(await names('q=zzqx')).toEqual([]);
    // Paging through a fuzzy search by cursor sees each product once.
    const first = (await system.app.inject({ url: '/v1/products?q=jack&size=2' })).json();
    const second = (
      await system.app.inject({
        url: `/v1/products?q=jack&size=2&cursor=${encodeURIComponent(first.nextCursor)}`,
      })
    ).json();
    const seen = [...first.items, ...second.items].map((item: { name: string }) => item.name);
    expect(new Set(seen).size).toBe(3);
  });

  it('counts categories, price bands and option values of what the query matches, when asked', async () => {
    const response = await system.app.inject({ url: '/v1/products?facets=category,price,option' });
    expect(response.statusCode, response.body).toBe(200);
    const { facets } = response.json();
    expect(facets.category).toEqual([
      { value: 'bags', count: 2 },
      { value: 'coats', count: 2 },
    ]);
    expect(facets.price).toEqual([
      { min: 2500, max: 5000, count: 2 },
      { min: 5000, max: 10_000, count: 1 },
      { min: 10_000, max: 20_000, count: 1 },
    ]);
    expect(facets.option).toEqual([
      { name: 'Size', value: 'M', count: 2 },
      { name: 'Size', value: 'L', count: 1 },
      { name: 'Size', value: 'S', count: 1 },
    ]);

    // With a query and a filter, the counts follow them; without facets=, there are none.
    const narrowed = (
      await system.app.inject({ url: '/v1/products?q=jacket&maxPrice=10000&facets=category' })
    ).json();
    expect(narrowed.facets).toEqual({ category: [{ value: 'coats', count: 1 }] });
    expect((await system.app.inject({ url: '/v1/products' })).json().facets).toBeUndefined();
    // An option value of the facet filters the list.
    expect((await names('option=Size:L')).sort()).toEqual(['Quilted jacket']);
    expect((await names('option=Size:M')).sort()).toEqual(['Quilted jacket', 'Waterproof jacket']);
    expect((await system.app.inject({ url: '/v1/products?option=Size' })).statusCode).toBe(400);
    const bad = await system.app.inject({ url: '/v1/products?facets=colour' });
    expect(bad.statusCode).toBe(400);
  });
});
