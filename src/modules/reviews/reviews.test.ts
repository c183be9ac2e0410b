import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { uuidv7 } from '../../platform/ids.ts';

describe.each(dbKinds)('reviews on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => system.app.inject(options);
  const newProduct = async (name: string) => {
    const response = await inject({
      method: 'POST',
      url: '/v1/products',
      headers: staff.headers,
      payload: {
        name,
        variants: [{ sku: `R-${uuidv7().slice(-12)}`, price: { amount: 100, currency: 'EUR' } }],
      },
    });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string };
  };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  it('keeps the product rating in step with its reviews, one review per user (409 REVIEW_EXISTS)', async () => {
    const product = await newProduct('Reviewed Lamp');
    const url = `/v1/products/${product.id}/reviews`;
    const before = await inject({ method: 'GET', url: `/v1/products/${product.id}` });
    const [ann, bob] = [await signIn(system), await signIn(system)];
    const first = await inject({
      method: 'POST',
      url,
      headers: ann.headers,
      payload: { rating: 5, title: 'Great', body: 'Bright' },
    });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({
      productId: product.id,
      userId: ann.id,
      rating: 5,
      title: 'Great',
      body: 'Bright',
    });
    const second = await inject({
      method: 'POST',
      url,
      headers: bob.headers,
      payload: { rating: 2, body: 'Dim' },
    });
    expect(second.statusCode).toBe(201);
    const again = await inject({
      method: 'POST',
      url,
      headers: ann.headers,
      payload: { rating: 1, body: 'Changed my mind' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('REVIEW_EXISTS');

    // The cached product (and its ETag) reflect the new rating; the rejected review added nothing.
    const after = await inject({
      method: 'GET',
      url: `/v1/products/${product.id}`,
      headers: { 'if-none-match': before.headers.etag as string },
    });
    expect(after.statusCode).toBe(200);
    expect(after.json().rating).toEqual({ average: 3.5, count: 2 });

    const listed = await inject({ method: 'GET', url: `${url}?size=1` });
    expect(listed.json()).toMatchObject({ page: 1, size: 1, total: 2 });
    expect(listed.json().items[0].userId).toBe(bob.id);
  });

  it('validates input and who may write', async () => {
    const product = await newProduct('Validated Lamp');
    const url = `/v1/products/${product.id}/reviews`;
    const user = await signIn(system);
    expect((await inject({ method: 'POST', url, payload: { rating: 3, body: 'x' } })).statusCode).toBe(401);
    for (const payload of [
      { rating: 0, body: 'x' },
      { rating: 6, body: 'x' },
      { rating: 2.5, body: 'x' },
      { rating: 3 },
      { rating: 3, body: 'x', extra: 1 },
    ]) {
      expect((await inject({ method: 'POST', url, headers: user.headers, payload })).statusCode).toBe(400);
    }
    const missing = `/v1/products/${uuidv7()}/reviews`;
    expect(
      (
        await inject({
          method: 'POST',
          url: missing,
          headers: user.headers,
          payload: { rating: 3, body: 'x' },
        })
      ).statusCode,
    ).toBe(404);
    expect((await inject({ method: 'GET', url: missing })).statusCode).toBe(404);
  });

  it('refuses reviews of archived products', async () => {
    const product = await newProduct('Archived Lamp');
    await inject({ method: 'DELETE', url: `/v1/products/${product.id}`, headers: staff.headers });
    const user = await signIn(system);
    const response = await inject({
      method: 'POST',
      url: `/v1/products/${product.id}/reviews`,
      headers: user.headers,
      payload: { rating: 4, body: 'x' },
    });
    expect(response.statusCode).toBe(404);
  });
});
