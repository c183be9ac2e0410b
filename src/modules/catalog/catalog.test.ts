import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { transact } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { InventoryModule } from '../inventory/index.ts';
import type { CatalogModule } from './index.ts';

let skuSequence = 0;
const sku = () => `T-${process.pid}-${++skuSequence}`;

describe.each(dbKinds)('catalog on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let customer: SignedInUser;
  let catalog: CatalogModule;
  let inventory: InventoryModule;

  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => system.app.inject(options);
  const createProduct = async (body: Record<string, unknown>) => {
    const response = await inject({
      method: 'POST',
      url: '/v1/products',
      headers: staff.headers,
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response;
  };
  const simpleProduct = (name: string, amount = 1000, extra: Record<string, unknown> = {}) => ({
    name,
    variants: [{ sku: sku(), price: { amount, currency: 'EUR' }, stock: 5 }],
    ...extra,
  });

  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    customer = await signIn(system, 'customer');
    catalog = moduleOf(system, 'catalog');
    inventory = moduleOf(system, 'inventory');
    for (const category of [
      { slug: 'apparel', name: 'Apparel' },
      { slug: 'tops', name: 'Tops', parentSlug: 'apparel' },
      { slug: 'shirts', name: 'Shirts', parentSlug: 'tops' },
      { slug: 'garden', name: 'Garden' },
    ]) {
      const response = await inject({
        method: 'POST',
        url: '/v1/categories',
        headers: staff.headers,
        payload: category,
      });
      expect(response.statusCode, response.body).toBe(201);
    }
  });
  afterAll(() => system.dispose());

  it('creates a product with variants, stock from inventory, a slug and a Location', async () => {
    const response = await createProduct({
      name: 'Crème Brûlée Torch',
      description: 'Caramelises sugar',
      categorySlugs: ['tops'],
      variants: [
        { sku: sku(), price: { amount: 2599, currency: 'EUR' }, stock: 7, attributes: { colour: 'red' } },
        { sku: sku(), price: { amount: 1999, currency: 'EUR' }, attributes: { colour: 'blue' } },
      ],
    });
    const product = response.json();
    expect(response.headers.location).toBe(`/v1/products/${product.id}`);
    expect(response.headers.etag).toMatch(/^"[\w-]+\.[a-z0-9]+"$/);
    expect(product).toMatchObject({
      name: 'Crème Brûlée Torch',
      slug: 'creme-brulee-torch',
      description: 'Caramelises sugar',
      categories: ['tops'],
      rating: { average: 0, count: 0 },
    });
    expect(product.variants.map((variant: { available: number }) => variant.available)).toEqual([7, 0]);
    expect(product.variants[0]).toMatchObject({
      price: { amount: 2599, currency: 'EUR' },
      attributes: { colour: 'red' },
    });

    const again = await createProduct(simpleProduct('Crème brûlée torch'));
    expect(again.json().slug).toBe('creme-brulee-torch-2');
  });

  it('answers writes 401 anonymous and 403 for customers', async () => {
    const body = simpleProduct('Forbidden');
    expect((await inject({ method: 'POST', url: '/v1/products', payload: body })).statusCode).toBe(401);
    const forbidden = await inject({
      method: 'POST',
      url: '/v1/products',
      headers: customer.headers,
      payload: body,
    });
    expect(forbidden.statusCode).toBe(403);
    const category = { slug: 'nope', name: 'Nope' };
    expect((await inject({ method: 'POST', url: '/v1/categories', payload: category })).statusCode).toBe(401);
    expect(
      (await inject({ method: 'POST', url: '/v1/categories', headers: customer.headers, payload: category }))
        .statusCode,
    ).toBe(403);
    const created = (await createProduct(simpleProduct('Guarded'))).json();
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      const url = `/v1/products/${created.id}`;
      expect((await inject({ method, url, payload: body })).statusCode).toBe(401);
      expect((await inject({ method, url, headers: customer.headers, payload: body })).statusCode).toBe(403);
    }
  });

  it('rejects invalid products: duplicate and taken SKUs, negative prices, other currencies, unknown fields', async () => {
    const taken = sku();
    await createProduct({
      name: 'Holder',
      variants: [{ sku: taken, price: { amount: 1, currency: 'EUR' } }],
    });
    const post = (payload: object) =>
      inject({ method: 'POST', url: '/v1/products', headers: staff.headers, payload });
    const conflictResponse = await post({
      name: 'Thief',
      variants: [{ sku: taken, price: { amount: 1, currency: 'EUR' } }],
    });
    expect(conflictResponse.statusCode).toBe(409);
    expect(conflictResponse.json().code).toBe('SKU_TAKEN');
    const twice = sku();
    const duplicate = await post({
      name: 'Twice',
      variants: [
        { sku: twice, price: { amount: 1, currency: 'EUR' } },
        { sku: twice, price: { amount: 2, currency: 'EUR' } },
      ],
    });
    expect(duplicate.json().code).toBe('DUPLICATE_SKU');
    expect(
      (await post({ name: 'Neg', variants: [{ sku: sku(), price: { amount: -1, currency: 'EUR' } }] }))
        .statusCode,
    ).toBe(400);
    const usd = await post({
      name: 'Usd',
      variants: [{ sku: sku(), price: { amount: 1, currency: 'USD' } }],
    });
    expect(usd.json().code).toBe('CURRENCY_NOT_SUPPORTED');
    expect(
      (await post({ name: 'Lower', variants: [{ sku: sku(), price: { amount: 1, currency: 'eur' } }] }))
        .statusCode,
    ).toBe(400);
    expect((await post({ ...simpleProduct('Extra'), colour: 'red' })).statusCode).toBe(400);
    expect((await post({ name: 'None', variants: [] })).statusCode).toBe(400);
    const unknown = await post({ ...simpleProduct('Lost'), categorySlugs: ['no-such-category'] });
    expect(unknown.json().code).toBe('UNKNOWN_CATEGORY');
  });

  it('serves a product with a strong ETag, 304 on If-None-Match, and cache headers', async () => {
    const created = (await createProduct(simpleProduct('Etag Lamp'))).json();
    const url = `/v1/products/${created.id}`;
    const first = await inject({ method: 'GET', url });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toContain('max-age');
    expect(first.headers.vary).toContain('Authorization');
    const etag = first.headers.etag as string;
    expect(etag.startsWith('"')).toBe(true);
    const cached = await inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    const signedIn = await inject({ method: 'GET', url, headers: customer.headers });
    expect(signedIn.headers['cache-control']).toBe('private, no-cache');
    expect((await inject({ method: 'GET', url, headers: { 'if-none-match': '"other"' } })).statusCode).toBe(
      200,
    );
    expect((await inject({ method: 'GET', url: `/v1/products/${uuidv7()}` })).statusCode).toBe(404);
    expect((await inject({ method: 'GET', url: '/v1/products/not-a-uuid' })).statusCode).toBe(400);
  });

  it('answers concurrent first reads of different products each with its own availability', async () => {
    const products = [];
    for (const stock of [1, 2, 3, 4]) {
      const body = simpleProduct(`Batch Lamp ${stock}`);
      body.variants[0].stock = stock;
      products.push((await createProduct(body)).json());
    }
    const answers = await Promise.all(
      products.map((product) => inject({ method: 'GET', url: `/v1/products/${product.id}` })),
    );
    expect(answers.map((answer) => answer.json().variants[0].available)).toEqual([1, 2, 3, 4]);
    const again = await Promise.all(
      products.map((product) => inject({ method: 'GET', url: `/v1/products/${product.id}` })),
    );
    expect(again.map((answer) => answer.headers.etag)).toEqual(answers.map((answer) => answer.headers.etag));
  });

  it('changes the ETag and the body when stock changes (fresh availability after a sale)', async () => {
    const created = (await createProduct(simpleProduct('Stocked Mug'))).json();
    const url = `/v1/products/${created.id}`;
    const before = await inject({ method: 'GET', url });
    expect(before.json().variants[0].available).toBe(5);
    await transact(system.database.db, (tx) =>
      inventory.service.reserve(
        tx,
        uuidv7(),
        [{ variantId: created.variants[0].id, quantity: 2 }],
        new Date(Date.now() + 60_000),
      ),
    );
    const after = await inject({
      method: 'GET',
      url,
      headers: { 'if-none-match': before.headers.etag as string },
    });
    expect(after.statusCode).toBe(200);
    expect(after.json().variants[0].available).toBe(3);
    const list = await inject({ method: 'GET', url: '/v1/products?q=stocked%20mug' });
    expect(list.json().items[0].variants[0].available).toBe(3);
  });

  it('replaces with PUT under If-Match: 428 without, 412 when stale, 200 when current', async () => {
    const created = await createProduct({
      ...simpleProduct('Replaceable Chair', 5000),
      categorySlugs: ['garden'],
    });
    const product = created.json();
    const url = `/v1/products/${product.id}`;
    const newSku = sku();
    const body = {
      name: 'Replaced Chair',
      description: 'now with arms',
      categorySlugs: ['shirts'],
      variants: [
        { id: product.variants[0].id, sku: newSku, price: { amount: 4500, currency: 'EUR' } },
        { sku: sku(), price: { amount: 6000, currency: 'EUR' }, stock: 2, attributes: { size: 'L' } },
      ],
    };
    const missing = await inject({ method: 'PUT', url, headers: staff.headers, payload: body });
    expect(missing.statusCode).toBe(428);
    expect(missing.json().code).toBe('PRECONDITION_REQUIRED');
    const stale = await inject({
      method: 'PUT',
      url,
      headers: { ...staff.headers, 'if-match': '"stale.0"' },
      payload: body,
    });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('PRECONDITION_FAILED');
    const etag = created.headers.etag as string;
    const replaced = await inject({
      method: 'PUT',
      url,
      headers: { ...staff.headers, 'if-match': etag },
      payload: body,
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({
      name: 'Replaced Chair',
      slug: product.slug,
      description: 'now with arms',
      categories: ['shirts'],
    });
    expect(
      replaced
        .json()
        .variants.map((variant: { sku: string; available: number }) => [variant.sku, variant.available]),
    ).toEqual([
      [newSku, 5],
      [body.variants[1].sku, 2],
    ]);
    // The SKU rename reached inventory, which owns stock.
    expect((await inventory.service.get(newSku)).onHand).toBe(5);
    // The ETag from before the change no longer matches.
    const again = await inject({
      method: 'PUT',
      url,
      headers: { ...staff.headers, 'if-match': etag },
      payload: body,
    });
    expect(again.statusCode).toBe(412);
  });

  it('patches with application/merge-patch+json', async () => {
    const created = await createProduct({
      ...simpleProduct('Patchable Kettle'),
      description: 'boils',
      categorySlugs: ['garden'],
    });
    const url = `/v1/products/${created.json().id}`;
    const headers = { ...staff.headers, 'content-type': 'application/merge-patch+json' };
    expect((await inject({ method: 'PATCH', url, headers, payload: { name: 'X' } })).statusCode).toBe(428);
    const wrongType = await inject({
      method: 'PATCH',
      url,
      headers: { ...staff.headers, 'if-match': created.headers.etag as string },
      payload: { name: 'X' },
    });
    expect(wrongType.statusCode).toBe(415);
    const patched = await inject({
      method: 'PATCH',
      url,
      headers: { ...headers, 'if-match': created.headers.etag as string },
      payload: JSON.stringify({ name: 'Patched Kettle', description: null, categorySlugs: null }),
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Patched Kettle', description: '', categories: [] });
    expect(patched.json().variants).toHaveLength(1);
    const invalid = await inject({
      method: 'PATCH',
      url,
      headers: { ...headers, 'if-match': patched.headers.etag as string },
      payload: JSON.stringify({
        variants: [{ sku: 'no spaces allowed', price: { amount: 1, currency: 'EUR' } }],
      }),
    });
    expect(invalid.statusCode).toBe(400);
  });

  it('archives on DELETE: 204, hidden from listings, still readable by id; 412 on a stale If-Match', async () => {
    const created = await createProduct(simpleProduct('Archivable Zebra Plush'));
    const { id } = created.json();
    const url = `/v1/products/${id}`;
    const stale = await inject({
      method: 'DELETE',
      url,
      headers: { ...staff.headers, 'if-match': '"nope.1"' },
    });
    expect(stale.statusCode).toBe(412);
    expect((await inject({ method: 'GET', url: '/v1/products?q=zebra' })).json().total).toBe(1);
    const removed = await inject({
      method: 'DELETE',
      url,
      headers: { ...staff.headers, 'if-match': created.headers.etag as string },
    });
    expect(removed.statusCode).toBe(204);
    expect((await inject({ method: 'GET', url: '/v1/products?q=zebra' })).json()).toMatchObject({
      items: [],
      total: 0,
    });
    expect((await inject({ method: 'GET', url })).statusCode).toBe(200);
    const [variant] = await catalog.variantsForCheckout([created.json().variants[0].id]);
    expect(variant).toMatchObject({
      productId: id,
      archived: true,
      price: { amount: 1000, currency: 'EUR' },
    });
    expect((await inject({ method: 'DELETE', url, headers: staff.headers })).statusCode).toBe(204);
    expect(
      (await inject({ method: 'DELETE', url: `/v1/products/${uuidv7()}`, headers: staff.headers }))
        .statusCode,
    ).toBe(404);
  });

  it('lists archived products for staff and restores one to the shelf; a SKU finds its product', async () => {
    const created = await createProduct(simpleProduct('Restorable Yak Blanket'));
    const { id } = created.json();
    const sku = created.json().variants[0].sku as string;
    // A SKU, typed in any case, finds its product like its words do.
    for (const q of [sku, sku.toLowerCase(), sku.toUpperCase(), 'yak']) {
      expect((await inject({ method: 'GET', url: `/v1/products?q=${q}` })).json().items, q).toMatchObject([
        { id },
      ]);
    }
    await inject({ method: 'DELETE', url: `/v1/products/${id}`, headers: staff.headers });
    expect((await inject({ method: 'GET', url: `/v1/products/${id}` })).json().archivedAt).toEqual(
      expect.any(String),
    );
    const archived = (url: string) => inject({ method: 'GET', url, headers: staff.headers });
    expect((await archived(`/v1/archived-products?q=${sku}`)).json()).toMatchObject({
      total: 1,
      items: [{ id }],
    });
    expect(
      (await inject({ method: 'GET', url: '/v1/archived-products', headers: customer.headers })).statusCode,
    ).toBe(403);

    const restored = await inject({
      method: 'POST',
      url: `/v1/products/${id}/restore`,
      headers: staff.headers,
    });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json()).toMatchObject({ id, name: 'Restorable Yak Blanket' });
    expect(restored.json().archivedAt).toBeUndefined();
    expect((await inject({ method: 'GET', url: '/v1/products?q=yak' })).json().items).toMatchObject([{ id }]);
    expect((await archived(`/v1/archived-products?q=${sku}`)).json().total).toBe(0);
    // Restoring a live product changes nothing; an unknown one is 404.
    expect(
      (await inject({ method: 'POST', url: `/v1/products/${id}/restore`, headers: staff.headers }))
        .statusCode,
    ).toBe(200);
    expect(
      (await inject({ method: 'POST', url: `/v1/products/${uuidv7()}/restore`, headers: staff.headers }))
        .statusCode,
    ).toBe(404);
  });

  it('gives other modules prices, categories (with those above them) and collections through variantsForCheckout', async () => {
    const product = (
      await createProduct({ ...simpleProduct('Checkout Teapot', 3210), categorySlugs: ['shirts', 'garden'] })
    ).json();
    const variantId = product.variants[0].id;
    // In one collection by hand, in another by its rule (apparel is above shirts), not in a third.
    for (const collection of [
      { slug: 'teapot-picks', name: 'Picks', productIds: [product.id] },
      { slug: 'all-apparel', name: 'Apparel', rules: { category: 'apparel' } },
      { slug: 'dear-apparel', name: 'Dear apparel', rules: { category: 'apparel', minPrice: 100_000 } },
    ]) {
      const made = await inject({
        method: 'POST',
        url: '/v1/collections',
        headers: staff.headers,
        payload: collection,
      });
      expect(made.statusCode, made.body).toBe(201);
    }
    const rows = await catalog.variantsForCheckout([variantId, variantId, uuidv7()]);
    expect(rows).toEqual([
      {
        variantId,
        sku: product.variants[0].sku,
        productId: product.id,
        productName: 'Checkout Teapot',
        price: { amount: 3210, currency: 'EUR' },
        prices: [],
        archived: false,
        categorySlugs: ['apparel', 'garden', 'shirts', 'tops'],
        collectionSlugs: ['all-apparel', 'teapot-picks'],
        taxClass: 'standard',
      },
    ]);
  });

  it('keeps prices in other currencies per variant: create, read, PUT, PATCH, checkout, refusals', async () => {
    const skus = [sku(), sku()];
    const created = await createProduct({
      name: 'Two Currency Lamp',
      variants: [
        {
          sku: skus[0],
          price: { amount: 2000, currency: 'EUR' },
          prices: [
            { amount: 2199, currency: 'USD' },
            { amount: 1799, currency: 'GBP' },
          ],
        },
        { sku: skus[1], price: { amount: 2500, currency: 'EUR' } },
      ],
    });
    const product = created.json();
    expect(product.variants.map((variant: { prices: unknown }) => variant.prices)).toEqual([
      [
        { amount: 1799, currency: 'GBP' },
        { amount: 2199, currency: 'USD' },
      ],
      [],
    ]);
    const url = `/v1/products/${product.id}`;
    expect((await inject({ method: 'GET', url })).json().variants[0].prices).toHaveLength(2);

    const replaced = await inject({
      method: 'PUT',
      url,
      headers: { ...staff.headers, 'if-match': created.headers.etag as string },
      payload: {
        name: 'Two Currency Lamp',
        variants: [
          { id: product.variants[0].id, sku: skus[0], price: { amount: 2000, currency: 'EUR' } },
          {
            id: product.variants[1].id,
            sku: skus[1],
            price: { amount: 2500, currency: 'EUR' },
            prices: [{ amount: 2699, currency: 'USD' }],
          },
        ],
      },
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json().variants.map((variant: { prices: unknown }) => variant.prices)).toEqual([
      [],
      [{ amount: 2699, currency: 'USD' }],
    ]);
    // The cached rendering was dropped with the write.
    expect((await inject({ method: 'GET', url })).json().variants[1].prices).toEqual([
      { amount: 2699, currency: 'USD' },
    ]);

    const patched = await inject({
      method: 'PATCH',
      url,
      headers: {
        ...staff.headers,
        'if-match': replaced.headers.etag as string,
        'content-type': 'application/merge-patch+json',
      },
      payload: JSON.stringify({
        variants: [
          {
            id: product.variants[0].id,
            sku: skus[0],
            price: { amount: 2000, currency: 'EUR' },
            prices: [{ amount: 2099, currency: 'USD' }],
          },
        ],
      }),
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().variants).toEqual([
      expect.objectContaining({ sku: skus[0], prices: [{ amount: 2099, currency: 'USD' }] }),
    ]);
    const checkout = await catalog.variantsForCheckout([product.variants[0].id, product.variants[1].id]);
    const byId = new Map(checkout.map((variant) => [variant.variantId, variant]));
    expect(byId.get(product.variants[0].id)?.prices).toEqual([{ amount: 2099, currency: 'USD' }]);
    expect(byId.get(product.variants[1].id)).toMatchObject({ archived: true });

    const refused = async (prices: object[]) =>
      (
        await inject({
          method: 'POST',
          url: '/v1/products',
          headers: staff.headers,
          payload: {
            name: 'Refused Lamp',
            variants: [{ sku: sku(), price: { amount: 100, currency: 'EUR' }, prices }],
          },
        })
      ).json();
    expect(await refused([{ amount: 100, currency: 'EUR' }])).toMatchObject({
      code: 'CURRENCY_NOT_SUPPORTED',
      errors: [{ path: '/variants/0/prices/0/currency' }],
    });
    expect(
      await refused([
        { amount: 100, currency: 'USD' },
        { amount: 200, currency: 'USD' },
      ]),
    ).toMatchObject({ code: 'DUPLICATE_CURRENCY', errors: [{ path: '/variants/0/prices/1/currency' }] });
    expect((await refused([{ amount: -1, currency: 'USD' }])).status).toBe(400);
  });

  it('lists categories with their parents and rejects duplicates and unknown parents', async () => {
    const list = await inject({ method: 'GET', url: '/v1/categories' });
    expect(list.json().items).toEqual(
      expect.arrayContaining([
        { slug: 'apparel', name: 'Apparel' },
        { slug: 'tops', name: 'Tops', parentSlug: 'apparel' },
      ]),
    );
    const post = (payload: object) =>
      inject({ method: 'POST', url: '/v1/categories', headers: staff.headers, payload });
    expect((await post({ slug: 'apparel', name: 'Again' })).json().code).toBe('CATEGORY_EXISTS');
    expect((await post({ slug: 'orphan', name: 'Orphan', parentSlug: 'missing' })).json().code).toBe(
      'UNKNOWN_CATEGORY',
    );
    expect((await post({ slug: 'Bad Slug', name: 'Bad' })).statusCode).toBe(400);
  });

  it('counts cache hits and misses in /metrics', async () => {
    const product = (await createProduct(simpleProduct('Metric Vase'))).json();
    await inject({ method: 'GET', url: `/v1/products/${product.id}` });
    await inject({ method: 'GET', url: `/v1/products/${product.id}` });
    const metrics = (await inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/catalog_cache_lookups_total\{cache="product",result="hit"\} [1-9]/);
    expect(metrics).toMatch(/catalog_cache_lookups_total\{cache="product",result="miss"\} [1-9]/);
  });
  it('replays a create retried with the same Idempotency-Key instead of making a second product', async () => {
    const body = simpleProduct('Idempotent Stool');
    const headers = { ...staff.headers, 'idempotency-key': `create-${uuidv7()}` };
    const first = await inject({ method: 'POST', url: '/v1/products', headers, payload: body });
    expect(first.statusCode, first.body).toBe(201);
    const again = await inject({ method: 'POST', url: '/v1/products', headers, payload: body });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers.location).toBe(first.headers.location);
    const other = await inject({
      method: 'POST',
      url: '/v1/products',
      headers,
      payload: simpleProduct('Other Stool'),
    });
    expect(other.statusCode).toBe(422);
    const found = await inject({ method: 'GET', url: '/v1/products?q=idempotent%20stool' });
    expect(found.json().total).toBe(1);
  });

  it('reads a category by slug, and answers its creation with a Location', async () => {
    const created = await inject({
      method: 'POST',
      url: '/v1/categories',
      headers: staff.headers,
      payload: { slug: 'polo-shirts', name: 'Polo shirts', parentSlug: 'shirts' },
    });
    expect(created.headers.location).toBe('/v1/categories/polo-shirts');
    const read = await inject({ method: 'GET', url: '/v1/categories/polo-shirts' });
    expect(read.json()).toEqual({ slug: 'polo-shirts', name: 'Polo shirts', parentSlug: 'shirts' });
    expect((await inject({ method: 'GET', url: '/v1/categories/absent' })).statusCode).toBe(404);
  });
  it('lets exactly one of two concurrent writers with the same If-Match win; the other gets 412', async () => {
    const created = await createProduct(simpleProduct('Contested Desk'));
    const url = `/v1/products/${created.json().id}`;
    const headers = {
      ...staff.headers,
      'if-match': created.headers.etag as string,
      'content-type': 'application/merge-patch+json',
    };
    const results = await Promise.all(
      ['Desk by Ann', 'Desk by Bob'].map((name) =>
        inject({ method: 'PATCH', url, headers, payload: JSON.stringify({ name }) }),
      ),
    );
    expect(results.map((result) => result.statusCode).sort()).toEqual([200, 412]);
    const winner = results.find((result) => result.statusCode === 200)!.json().name;
    expect((await inject({ method: 'GET', url })).json().name).toBe(winner);
  });

  it('gives concurrent creates of one name distinct slugs', async () => {
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => createProduct(simpleProduct('Popular Name'))),
    );
    const slugs = responses.map((response) => response.json().slug).sort();
    expect(slugs).toEqual(['popular-name', 'popular-name-2', 'popular-name-3', 'popular-name-4']);
  });
});
