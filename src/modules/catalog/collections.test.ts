import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

let skuSequence = 0;
const sku = () => `OC-${process.pid}-${++skuSequence}`;

describe.each(dbKinds)('product options and collections on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  const inject = (options: InjectOptions) => system.app.inject(options);
  const asStaff = (options: InjectOptions) =>
    inject({ ...options, headers: { ...staff.headers, ...options.headers } });
  const variant = (options: Record<string, string>, amount = 2500, stock = 3) => ({
    sku: sku(),
    price: { amount, currency: 'EUR' },
    stock,
    options,
  });
  const create = async (body: Record<string, unknown>) => {
    const response = await asStaff({ method: 'POST', url: '/v1/products', payload: body });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    for (const category of [
      { slug: 'outdoor', name: 'Outdoor' },
      { slug: 'tents', name: 'Tents', parentSlug: 'outdoor' },
      { slug: 'kitchen', name: 'Kitchen' },
    ]) {
      expect((await asStaff({ method: 'POST', url: '/v1/categories', payload: category })).statusCode).toBe(
        201,
      );
    }
  });
  afterAll(() => system.dispose());

  it('keys variants by option values, and refuses variants that do not fit the options', async () => {
    const options = [
      { name: 'Size', values: ['S', 'M', 'L'] },
      { name: 'Colour', values: ['Red', 'Blue'] },
    ];
    const shirt = await create({
      name: 'Option shirt',
      options,
      variants: [variant({ Size: 'S', Colour: 'Red' }), variant({ Size: 'M', Colour: 'Blue' }, 2500, 0)],
    });
    expect(shirt.options).toEqual(options);
    expect(shirt.variants.map((each: { options: unknown }) => each.options)).toEqual([
      { Size: 'S', Colour: 'Red' },
      { Size: 'M', Colour: 'Blue' },
    ]);
    expect((await inject({ url: `/v1/products/${shirt.id}` })).json().options).toEqual(options);

    const refusals: Array<[unknown[], RegExp]> = [
      [[variant({ Size: 'S' })], /needs a Colour/],
      [[variant({ Size: 'XL', Colour: 'Red' })], /XL is not one of the Size values/],
      [[variant({ Size: 'S', Colour: 'Red', Fit: 'Slim' })], /Fit, which is not an option/],
      [[variant({ Size: 'S', Colour: 'Red' }), variant({ Size: 'S', Colour: 'Red' })], /are both S \/ Red/],
    ];
    for (const [variants, message] of refusals) {
      const response = await asStaff({
        method: 'POST',
        url: '/v1/products',
        payload: { name: 'Bad', options, variants },
      });
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json()).toMatchObject({
        code: 'INVALID_OPTIONS',
        detail: expect.stringMatching(message),
      });
    }
    const twice = await asStaff({
      method: 'POST',
      url: '/v1/products',
      payload: {
        name: 'Bad',
        options: [options[0], { name: 'size', values: ['1'] }],
        variants: [variant({})],
      },
    });
    expect(twice.json().detail).toMatch(/Size is listed twice/);
    const padded = await asStaff({
      method: 'POST',
      url: '/v1/products',
      payload: {
        name: 'Bad',
        options: [{ name: 'Size ', values: ['S'] }],
        variants: [variant({ 'Size ': 'S' })],
      },
    });
    expect(padded.statusCode).toBe(400);

    // A merge patch that adds a value and a variant (arrays are replaced whole, RFC 7396).
    const current = await inject({ url: `/v1/products/${shirt.id}` });
    const patched = await asStaff({
      method: 'PATCH',
      url: `/v1/products/${shirt.id}`,
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': String(current.headers.etag) },
      payload: JSON.stringify({
        options: [{ name: 'Size', values: ['S', 'M', 'L', 'XL'] }, options[1]],
        variants: [
          ...current
            .json()
            .variants.map((each: { id: string; sku: string; price: unknown; options: unknown }) => ({
              id: each.id,
              sku: each.sku,
              price: each.price,
              options: each.options,
            })),
          variant({ Size: 'XL', Colour: 'Red' }),
        ],
      }),
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().variants).toHaveLength(3);
    expect(patched.json().variants[2].options).toEqual({ Size: 'XL', Colour: 'Red' });
  });

  it('lists a manual collection and a collection of rules, and keeps them apart', async () => {
    const tent = await create({
      name: 'Ridge tent',
      categorySlugs: ['tents'],
      variants: [variant({}, 19900)],
    });
    const cheapTent = await create({
      name: 'Pop-up tent',
      categorySlugs: ['tents'],
      variants: [variant({}, 4900)],
    });
    const pan = await create({ name: 'Camp pan', categorySlugs: ['kitchen'], variants: [variant({}, 2900)] });

    const manual = await asStaff({
      method: 'POST',
      url: '/v1/collections',
      payload: { slug: 'staff-picks', name: 'Staff picks', productIds: [pan.id, tent.id] },
    });
    expect(manual.statusCode, manual.body).toBe(201);
    expect(manual.headers.location).toBe('/v1/collections/staff-picks');
    expect(manual.json()).toEqual({
      slug: 'staff-picks',
      name: 'Staff picks',
      description: '',
      productIds: [pan.id, tent.id],
    });

    const rules = await asStaff({
      method: 'POST',
      url: '/v1/collections',
      payload: {
        slug: 'outdoor-under-100',
        name: 'Outdoor under €100',
        rules: { category: 'outdoor', maxPrice: 10000 },
      },
    });
    expect(rules.statusCode, rules.body).toBe(201);

    const ids = async (query: string) =>
      (await inject({ url: `/v1/products?${query}` }))
        .json()
        .items.map((each: { id: string }) => each.id)
        .sort();
    expect(await ids('collection=staff-picks')).toEqual([pan.id, tent.id].sort());
    expect(await ids('collection=outdoor-under-100')).toEqual([cheapTent.id]);
    // With the shopper's own filters on top.
    expect(await ids('collection=staff-picks&maxPrice=5000')).toEqual([pan.id]);
    const listed = (await inject({ url: '/v1/collections' }))
      .json()
      .items.map((each: { slug: string }) => each.slug);
    expect(listed).toEqual(expect.arrayContaining(['staff-picks', 'outdoor-under-100']));

    // A changed list shows at once (cached pages are dropped).
    const replaced = await asStaff({
      method: 'PUT',
      url: '/v1/collections/staff-picks',
      payload: { name: 'Staff picks', productIds: [cheapTent.id] },
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(await ids('collection=staff-picks')).toEqual([cheapTent.id]);

    const unknown = await inject({ url: '/v1/products?collection=no-such' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('COLLECTION_UNKNOWN');

    const refusals: Array<[Record<string, unknown>, number, string]> = [
      [{ slug: 'staff-picks', name: 'Again' }, 409, 'COLLECTION_EXISTS'],
      [
        { slug: 'both', name: 'Both', productIds: [pan.id], rules: { maxPrice: 100 } },
        400,
        'INVALID_COLLECTION',
      ],
      [
        { slug: 'ghost', name: 'Ghost', productIds: ['0190a0b0-0000-7000-8000-000000000000'] },
        400,
        'UNKNOWN_PRODUCT',
      ],
      [{ slug: 'nowhere', name: 'Nowhere', rules: { category: 'no-such' } }, 400, 'UNKNOWN_CATEGORY'],
      [
        { slug: 'upside', name: 'Upside', rules: { minPrice: 500, maxPrice: 100 } },
        400,
        'INVALID_PRICE_RANGE',
      ],
    ];
    for (const [payload, status, code] of refusals) {
      const response = await asStaff({ method: 'POST', url: '/v1/collections', payload });
      expect(response.statusCode, response.body).toBe(status);
      expect(response.json().code).toBe(code);
    }
    const byShopper = await inject({
      method: 'POST',
      url: '/v1/collections',
      headers: (await signIn(system)).headers,
      payload: { slug: 'mine', name: 'Mine' },
    });
    expect(byShopper.statusCode).toBe(403);

    expect((await asStaff({ method: 'DELETE', url: '/v1/collections/staff-picks' })).statusCode).toBe(204);
    expect((await inject({ url: '/v1/collections/staff-picks' })).statusCode).toBe(404);
    expect((await inject({ url: `/v1/products/${pan.id}` })).statusCode).toBe(200);
  });
});
