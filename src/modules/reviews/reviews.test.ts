import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { addToCart, checkout } from '../../../test/support/shop.ts';
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
        variants: [{ sku: `R-${uuidv7().slice(-12)}`, price: { amount: 100, currency: 'EUR' }, stock: 50 }],
      },
    });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string; variants: Array<{ id: string }> };
  };
  /** A customer who has paid for the product. */
  const buyerOf = async (product: { variants: Array<{ id: string }> }) => {
    const buyer = await signIn(system);
    await addToCart(system, buyer, product.variants[0].id);
    expect((await checkout(system, buyer)).statusCode).toBe(201);
    return buyer;
  };
  const review = (productId: string, user: SignedInUser, payload: object) =>
    inject({ method: 'POST', url: `/v1/products/${productId}/reviews`, headers: user.headers, payload });

  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  it('keeps the product rating in step with its reviews, one review per buyer (409 REVIEW_EXISTS)', async () => {
    const product = await newProduct('Reviewed Lamp');
    const url = `/v1/products/${product.id}/reviews`;
    const before = await inject({ method: 'GET', url: `/v1/products/${product.id}` });
    const [ann, bob] = [await buyerOf(product), await buyerOf(product)];
    const first = await review(product.id, ann, { rating: 5, title: 'Great', body: 'Bright\nand warm' });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({
      productId: product.id,
      userId: ann.id,
      rating: 5,
      title: 'Great',
      body: 'Bright\nand warm',
      verifiedPurchase: true,
    });
    expect(first.headers.location).toBe(`/v1/reviews/${first.json().id}`);
    expect((await inject({ method: 'GET', url: first.headers.location as string })).json()).toEqual(
      first.json(),
    );
    expect((await review(product.id, bob, { rating: 2, body: 'Dim' })).statusCode).toBe(201);
    const again = await review(product.id, ann, { rating: 1, body: 'Changed my mind' });
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

  it('lets only customers who bought the product review it', async () => {
    const product = await newProduct('Coveted Lamp');
    const browser = await signIn(system);
    const refused = await review(product.id, browser, { rating: 5, body: 'Never had one' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: 'PURCHASE_REQUIRED',
      detail: 'Only customers who bought this product can review it',
    });
    // Bought something else: still no.
    const other = await newProduct('Other Lamp');
    const otherBuyer = await buyerOf(other);
    expect((await review(product.id, otherBuyer, { rating: 4, body: 'x' })).statusCode).toBe(403);
    // A declined checkout is no purchase.
    await addToCart(system, browser, product.variants[0].id);
    expect((await checkout(system, browser, { token: 'tok_declined' })).statusCode).toBe(402);
    expect((await review(product.id, browser, { rating: 5, body: 'x' })).statusCode).toBe(403);
  });

  it('lets staff hide a review (out of listings and the rating) and show it again, with the reason kept', async () => {
    const product = await newProduct('Moderated Lamp');
    const [fan, troll] = [await buyerOf(product), await buyerOf(product)];
    await review(product.id, fan, { rating: 5, body: 'Lovely' });
    const bad = (await review(product.id, troll, { rating: 1, body: 'Buy it from my shop instead' })).json();
    const rating = async () =>
      (await inject({ method: 'GET', url: `/v1/products/${product.id}` })).json().rating;
    expect(await rating()).toEqual({ average: 3, count: 2 });

    const hide = (headers: object, payload: object = { reason: 'advertising' }) =>
      inject({ method: 'POST', url: `/v1/reviews/${bad.id}/hide`, headers: headers as never, payload });
    expect((await hide(fan.headers)).statusCode).toBe(403);
    const hidden = await hide(staff.headers);
    expect(hidden.statusCode).toBe(200);
    expect(hidden.json().hidden).toMatchObject({ reason: 'advertising' });
    expect((await hide(staff.headers)).json().code).toBe('REVIEW_HIDDEN');
    expect(await rating()).toEqual({ average: 5, count: 1 });
    const listing = (await inject({ method: 'GET', url: `/v1/products/${product.id}/reviews` })).json();
    expect(listing.items.map((item: { id: string }) => item.id)).not.toContain(bad.id);
    expect(listing.total).toBe(1);
    expect((await inject({ method: 'GET', url: `/v1/reviews/${bad.id}` })).statusCode).toBe(404);

    const moderation = (query: string, headers: object = staff.headers) =>
      inject({ method: 'GET', url: `/v1/reviews?${query}`, headers: headers as never });
    expect((await moderation('status=hidden', fan.headers)).statusCode).toBe(403);
    const hiddenOnes = (await moderation(`status=hidden&productId=${product.id}`)).json();
    expect(hiddenOnes.items.map((item: { id: string }) => item.id)).toEqual([bad.id]);
    expect((await moderation(`productId=${product.id}`)).json().total).toBe(2);

    const shown = await inject({ method: 'POST', url: `/v1/reviews/${bad.id}/show`, headers: staff.headers });
    expect(shown.statusCode).toBe(200);
    expect(shown.json().hidden).toBeUndefined();
    expect(await rating()).toEqual({ average: 3, count: 2 });
    const twice = await inject({ method: 'POST', url: `/v1/reviews/${bad.id}/show`, headers: staff.headers });
    expect(twice.json().code).toBe('REVIEW_VISIBLE');
  });

  it('validates input and who may write', async () => {
    const product = await newProduct('Validated Lamp');
    const url = `/v1/products/${product.id}/reviews`;
    const user = await buyerOf(product);
    expect((await inject({ method: 'POST', url, payload: { rating: 3, body: 'x' } })).statusCode).toBe(401);
    for (const payload of [
      { rating: 0, body: 'x' },
      { rating: 6, body: 'x' },
      { rating: 2.5, body: 'x' },
      { rating: 3 },
      { rating: 3, body: 'x', extra: 1 },
      { rating: 3, body: 'bell \u0007' },
      { rating: 3, title: 'nul \u0000', body: 'x' },
    ]) {
      expect((await review(product.id, user, payload)).statusCode).toBe(400);
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
    const user = await buyerOf(product);
    await inject({ method: 'DELETE', url: `/v1/products/${product.id}`, headers: staff.headers });
    expect((await review(product.id, user, { rating: 4, body: 'x' })).statusCode).toBe(404);
  });
});
