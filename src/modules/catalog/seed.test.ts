import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';

interface Item {
  id: string;
  name: string;
  slug: string;
  categories: string[];
  variants: Array<{
    sku: string;
    price: { amount: number; currency: string };
    prices: Array<{ amount: number; currency: string }>;
    attributes: object;
    available: number;
  }>;
}

const firstPage = async (system: TestSystem, size: number): Promise<{ items: Item[]; total: number }> =>
  (await system.app.inject({ method: 'GET', url: `/v1/products?sort=createdAt&size=${size}` })).json();

describe.each(dbKinds)('demo catalog on %s', (kind) => {
  let system: TestSystem;
  beforeAll(async () => {
    // SEED_PRODUCTS > 0 on an empty database loads the demo catalog while the system starts.
    system = await createTestSystem(kind, { SEED_PRODUCTS: '1000' });
  }, 120_000);
  afterAll(() => system.dispose());

  it('loads 1,000 products across a category tree, 1-5 priced variants each with attributes and stock', async () => {
    const page = await firstPage(system, 100);
    expect(page.total).toBe(1000);
    for (const item of page.items) {
      expect(item.categories).toHaveLength(1);
      expect(item.variants.length).toBeGreaterThanOrEqual(1);
      expect(item.variants.length).toBeLessThanOrEqual(5);
      for (const variant of item.variants) {
        expect(variant.price.currency).toBe('EUR');
        expect(variant.price.amount).toBeGreaterThan(0);
        expect(variant.prices).toEqual([{ amount: expect.any(Number), currency: 'USD' }]);
        expect(variant.prices[0].amount % 100).toBe(99);
        expect(Object.keys(variant.attributes).length).toBeGreaterThan(0);
        expect(variant.available).toBeGreaterThanOrEqual(0);
      }
    }
    const categories = (await system.app.inject({ method: 'GET', url: '/v1/categories' })).json().items;
    expect(
      categories.filter((category: { parentSlug?: string }) => !category.parentSlug).length,
    ).toBeGreaterThan(1);
    expect(
      categories.filter((category: { parentSlug?: string }) => category.parentSlug).length,
    ).toBeGreaterThan(10);
    const inTree = (await system.app.inject({ method: 'GET', url: '/v1/products?category=clothing' })).json();
    expect(inTree.total).toBeGreaterThan(100);
  });

  it('is deterministic and resumable: another database seeded in two steps holds the same products', async () => {
    const other = await createTestSystem(kind);
    try {
      const catalog = moduleOf(other, 'catalog');
      expect(await catalog.seed(10)).toBe(10);
      expect(await catalog.seed(30)).toBe(20);
      const strip = (items: Item[]) =>
        items.map(({ id: _id, ...item }) => ({
          ...item,
          variants: item.variants.map(({ sku, price, prices, attributes }) => ({
            sku,
            price,
            prices,
            attributes,
          })),
        }));
      const mine = await firstPage(system, 30);
      const theirs = await firstPage(other, 30);
      expect(theirs.total).toBe(30);
      expect(strip(theirs.items)).toEqual(strip(mine.items));
    } finally {
      await other.dispose();
    }
  });
});
