import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { apiCaller, createProduct } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

/** Staff change many products at once: all of them, or none when one cannot be changed. */
describe.each(dbKinds)('bulk product changes on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);
  const bulk = (productIds: string[], change: object, user = staff) =>
    call('POST', '/v1/products/bulk', user, { productIds, change });
  const priceOf = async (id: string) =>
    (await call('GET', `/v1/products/${id}`)).json().variants[0].price.amount;

  it('raises every price by a percentage to the cent, sets one price, archives and restores, all at once', async () => {
    const products = await Promise.all(
      [1999, 1000, 333].map((price) => createProduct(system, staff, { price })),
    );
    const ids = products.map((product) => product.productId);
    const raised = await bulk(ids, { kind: 'reprice', percent: 10 });
    expect(raised.json()).toEqual({ changed: 3 });
    expect(await Promise.all(ids.map(priceOf))).toEqual([2199, 1100, 366]);
    expect(
      (await bulk(ids.slice(0, 2), { kind: 'price', amount: { amount: 2500, currency: 'EUR' } })).json(),
    ).toEqual({
      changed: 2,
    });
    expect(await Promise.all(ids.map(priceOf))).toEqual([2500, 2500, 366]);

    expect((await bulk([ids[0], ids[1], ids[1]], { kind: 'archive' })).json()).toEqual({ changed: 2 });
    const listed = (await call('GET', '/v1/products?size=100'))
      .json()
      .items.map((item: { id: string }) => item.id);
    expect(listed).not.toContain(ids[0]);
    expect(listed).toContain(ids[2]);
    // Already archived: nothing to do for those, one to archive.
    expect((await bulk(ids, { kind: 'archive' })).json()).toEqual({ changed: 1 });
    expect((await bulk(ids, { kind: 'restore' })).json()).toEqual({ changed: 3 });
  });

  it('changes nothing when one product cannot be changed, and refuses customers and empty changes', async () => {
    const kept = await createProduct(system, staff, { price: 1200 });
    const archived = await createProduct(system, staff, { price: 800 });
    await bulk([archived.productId], { kind: 'archive' });
    const refused = await bulk([kept.productId, archived.productId], { kind: 'reprice', percent: 50 });
    expect(refused.statusCode).toBe(409);
    expect(await priceOf(kept.productId)).toBe(1200);
    const unknown = await bulk([kept.productId, '0190a0b0-0000-7000-8000-000000000000'], {
      kind: 'reprice',
      percent: 50,
    });
    expect(unknown.statusCode).toBe(404);
    expect(await priceOf(kept.productId)).toBe(1200);

    expect((await bulk([kept.productId], { kind: 'reprice', percent: 0 })).statusCode).toBe(400);
    expect((await bulk([kept.productId], { kind: 'reprice', percent: -95 })).statusCode).toBe(400);
    expect((await bulk([], { kind: 'archive' })).statusCode).toBe(400);
    const customer = await signIn(system);
    expect((await bulk([kept.productId], { kind: 'archive' }, customer)).statusCode).toBe(403);
  });
});
