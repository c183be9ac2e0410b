import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { transact } from '../../platform/db/index.ts';

interface Item {
  id: string;
  name: string;
  categories: string[];
  variants: Array<{ price: { amount: number } }>;
  rating: { average: number; count: number };
  createdAt: string;
}

const PRODUCTS = 150;
const price = (item: Item) => Math.min(...item.variants.map((variant) => variant.price.amount));
const sortValue = (item: Item, key: string): number | string =>
  key === 'price'
    ? price(item)
    : key === 'name'
      ? item.name
      : key === 'rating'
        ? item.rating.average
        : item.createdAt;

describe.each(dbKinds)('product listing on %s', (kind) => {
  let system: TestSystem;
  let subtree: Map<string, Set<string>>;
  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => system.app.inject(options);
  const list = async (query: string) => {
    const response = await inject({ method: 'GET', url: `/v1/products?${query}` });
    expect(response.statusCode, `${query}: ${response.body}`).toBe(200);
    return response.json() as {
      items: Item[];
      page: number;
      size: number;
      total: number;
      nextCursor: string | null;
    };
  };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    const catalog = moduleOf(system, 'catalog');
    expect(await catalog.seed(PRODUCTS)).toBe(PRODUCTS);
    expect(await catalog.seed(PRODUCTS)).toBe(0);
    // Varied ratings, so sorting by rating has more than ties to order.
    const all = await list('size=100&sort=createdAt');
    await transact(system.database.db, async (tx) => {
      for (const [index, item] of all.items.entries()) {
        for (let review = 0; review < index % 4; review++)
          await catalog.applyRating(tx, item.id, 1 + ((index + review) % 5));
      }
    });
    await catalog.evict(all.items[0].id);
    const categories = (await inject({ method: 'GET', url: '/v1/categories' })).json().items as Array<{
      slug: string;
      parentSlug?: string;
    }>;
    subtree = new Map();
    for (const category of categories) {
      const below = new Set([category.slug]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const other of categories) {
          if (other.parentSlug && below.has(other.parentSlug) && !below.has(other.slug)) {
            below.add(other.slug);
            grew = true;
          }
        }
      }
      subtree.set(category.slug, below);
    }
  });
  afterAll(() => system.dispose());

  it('pages with defaults, and answers past the end with no items and the right total', async () => {
    const first = await list('');
    expect(first).toMatchObject({ page: 1, size: 20, total: PRODUCTS });
    expect(first.items).toHaveLength(20);
    expect(first.nextCursor).toEqual(expect.any(String));
    const beyond = await list('page=99&size=10');
    expect(beyond).toMatchObject({ items: [], page: 99, size: 10, total: PRODUCTS, nextCursor: null });
  });

  it('rejects sizes outside 1..100, page 0, unknown sort keys and bad cursors with 400', async () => {
    for (const query of [
      'size=0',
      'size=101',
      'size=-1',
      'page=0',
      'size=abc',
      'sort=colour',
      'sort=price,sideways',
      'sort=-price,-price',
      'sort=relevance',
      'minPrice=-1',
      'minPrice=500&maxPrice=100',
      'cursor=not-a-cursor',
      `cursor=${Buffer.from('{"s":"x","p":2,"v":[1]}').toString('base64url')}`,
      'category=Not%20A%20Slug',
    ]) {
      const response = await inject({ method: 'GET', url: `/v1/products?${query}` });
      expect(response.statusCode, query).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const other = await list('sort=price&size=5');
    const reused = await inject({
      method: 'GET',
      url: `/v1/products?sort=name&size=5&cursor=${other.nextCursor}`,
    });
    expect(reused.json().code).toBe('INVALID_CURSOR');
  });

  it('answers a crafted cursor with a valid signature but values the database would refuse with 400', async () => {
    const tamper = (cursor: string, change: (content: { p: number; v: unknown[] }) => void) => {
      const content = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      change(content);
      return Buffer.from(JSON.stringify(content)).toString('base64url');
    };
    const byTime = (await list('sort=createdAt&size=5')).nextCursor!;
    const byPrice = (await list('sort=price&size=5')).nextCursor!;
    for (const [query, cursor] of [
      // Date.parse takes these; PostgreSQL does not (22008, 22007).
      ['sort=createdAt&size=5', tamper(byTime, (c) => (c.v[0] = '2024-02-30T00:00:00.000Z'))],
      ['sort=createdAt&size=5', tamper(byTime, (c) => (c.v[0] = 'Tue, 01 Jan 2030 00:00:00 GMT'))],
      ['sort=createdAt&size=5', tamper(byTime, (c) => (c.v[0] = '275760-09-13T00:00:00.000Z'))],
      ['sort=price&size=5', tamper(byPrice, (c) => (c.v[0] = 1e300))],
      ['sort=price&size=5', tamper(byPrice, (c) => (c.v[0] = 12.5))],
      ['sort=price&size=5', tamper(byPrice, (c) => (c.p = 1e300))],
    ] as const) {
      const response = await inject({ method: 'GET', url: `/v1/products?${query}&cursor=${cursor}` });
      expect(response.statusCode, `${query} ${Buffer.from(cursor, 'base64url')}`).toBe(400);
      expect(response.json().code).toBe('INVALID_CURSOR');
    }
  });

  it('never fails on hostile search text: SQL metacharacters, quotes, tsquery operators, emoji, NUL', async () => {
    for (const q of [
      "'; drop table catalog_products; --",
      '" or 1=1 --',
      "O'Reilly",
      '\\',
      '%_%',
      '!(&|:*<->)',
      '-',
      'a & b | !c',
      '😀 shirt',
      '\u0000',
      'shirt\u0000',
      'x'.repeat(200),
      'x'.repeat(201),
      '\u202e\ufeff',
    ]) {
      const response = await inject({ method: 'GET', url: `/v1/products?q=${encodeURIComponent(q)}` });
      expect([200, 400], JSON.stringify(q)).toContain(response.statusCode);
    }
    expect((await list('q=%27%3B%20drop%20table%20catalog_products%3B%20--')).total).toBeGreaterThanOrEqual(
      0,
    );
    expect((await list('')).total).toBe(PRODUCTS);
  });

  it('searches names above descriptions and stems words', async () => {
    const found = await list('q=shirts&size=100');
    expect(found.total).toBeGreaterThan(0);
    for (const item of found.items)
      expect(`${item.name} ${JSON.stringify(item)}`.toLowerCase()).toContain('shirt');
    const ranked = await list('q=shirt&size=100');
    // Products with the word in the name (weight A) rank above those with it only in the description.
    const inName = ranked.items.map((item) => item.name.toLowerCase().includes('shirt'));
    expect(inName.indexOf(false) === -1 || inName.lastIndexOf(true) < inName.indexOf(false)).toBe(true);
  });

  it('filters by a category with its subcategories', async () => {
    const top = await list('category=clothing&size=100');
    expect(top.total).toBeGreaterThan(0);
    const below = subtree.get('clothing')!;
    for (const item of top.items) expect(item.categories.some((slug) => below.has(slug))).toBe(true);
    const leaf = await list('category=mens-shirts&size=100');
    expect(leaf.total).toBeLessThan(top.total);
    expect((await list('category=no-such-category')).total).toBe(0);
  });

  it('accepts both sort syntaxes', async () => {
    const a = await list('sort=price,desc&size=30');
    const b = await list('sort=-price&size=30');
    expect(a.items.map((item) => item.id)).toEqual(b.items.map((item) => item.id));
    const prices = a.items.map(price);
    expect(prices).toEqual([...prices].sort((x, y) => y - x));
  });

  it('gives list pages a strong ETag and answers 304', async () => {
    const first = await inject({ method: 'GET', url: '/v1/products?size=5' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"/);
    expect(first.headers['cache-control']).toContain('stale-while-revalidate');
    const again = await inject({
      method: 'GET',
      url: '/v1/products?size=5',
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
  });

  it('property: random valid queries return matching items in order, each once, by page and by cursor', async () => {
    const words = ['shirt', 'classic', 'wool', 'lamp', 'boot', 'premium'];
    const categories = ['clothing', 'mens-clothing', 'shoes', 'laptops', 'home', 'fiction'];
    const keys = ['price', 'name', 'createdAt', 'rating'];
    const query = fc.record({
      q: fc.option(fc.constantFrom(...words), { nil: undefined }),
      category: fc.option(fc.constantFrom(...categories), { nil: undefined }),
      minPrice: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
      span: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
      sort: fc.uniqueArray(
        fc.record({ key: fc.constantFrom(...keys), desc: fc.boolean(), dash: fc.boolean() }),
        {
          selector: (term) => term.key,
          maxLength: 3,
        },
      ),
      size: fc.integer({ min: 4, max: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(query, async (input) => {
        const params = new URLSearchParams({ size: String(input.size) });
        if (input.q) params.set('q', input.q);
        if (input.category) params.set('category', input.category);
        if (input.minPrice !== undefined) params.set('minPrice', String(input.minPrice));
        const maxPrice = input.span === undefined ? undefined : (input.minPrice ?? 0) + input.span;
        if (maxPrice !== undefined) params.set('maxPrice', String(maxPrice));
        if (input.sort.length > 0) {
          params.set(
            'sort',
            input.sort
              .map((term) =>
                term.dash
                  ? `${term.desc ? '-' : ''}${term.key}`
                  : `${term.key},${term.desc ? 'desc' : 'asc'}`,
              )
              .join(','),
          );
        }
        const base = params.toString();
        const byPage: Item[] = [];
        let total = -1;
        for (let page = 1; ; page++) {
          const result = await list(`${base}&page=${page}`);
          if (total === -1) total = result.total;
          expect(result.total).toBe(total);
          if (result.items.length === 0) break;
          byPage.push(...result.items);
        }
        const byCursor: Item[] = [];
        let cursor: string | null = null;
        do {
          const result = await list(cursor ? `${base}&cursor=${cursor}` : base);
          expect(result.total).toBe(total);
          byCursor.push(...result.items);
          cursor = result.nextCursor;
        } while (cursor);

        expect(byPage).toHaveLength(total);
        expect(new Set(byPage.map((item) => item.id)).size).toBe(total);
        expect(byCursor.map((item) => item.id)).toEqual(byPage.map((item) => item.id));
        for (const item of byPage) {
          if (input.minPrice !== undefined) expect(price(item)).toBeGreaterThanOrEqual(input.minPrice);
          if (maxPrice !== undefined) expect(price(item)).toBeLessThanOrEqual(maxPrice);
          if (input.category) {
            const below = subtree.get(input.category)!;
            expect(item.categories.some((slug) => below.has(slug))).toBe(true);
          }
        }
        if (input.sort.length > 0) {
          for (let index = 1; index < byPage.length; index++) {
            const [before, after] = [byPage[index - 1], byPage[index]];
            for (const term of input.sort) {
              const [x, y] = [sortValue(before, term.key), sortValue(after, term.key)];
              if (x === y) continue;
              expect(term.desc ? x > y : x < y, `${term.key} ${x} then ${y}`).toBe(true);
              break;
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
