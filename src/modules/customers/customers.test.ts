import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { addToCart, checkout, createProduct } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

describe.each(dbKinds)('customers for staff on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const get = (url: string, user: SignedInUser) =>
    system.app.inject({ method: 'GET', url, headers: user.headers });
  async function buy(buyer: SignedInUser, price: number) {
    const variant = await createProduct(system, staff, { price, stock: 5 });
    await addToCart(system, buyer, variant.variantId);
    const answer = await checkout(system, buyer);
    expect(answer.statusCode, answer.body).toBe(201);
    return answer.json();
  }

  it('lists customers with their paid orders and what they kept paid, searchable by email or name', async () => {
    const tag = randomUUID().slice(0, 8);
    const ada = await signIn(system, 'customer', `ada-${tag}@example.test`);
    const bob = await signIn(system, 'customer', `bob-${tag}@example.test`);
    const first = await buy(ada, 1000);
    await buy(ada, 2500);
    const cancelled = await buy(bob, 1200);
    expect(
      (
        await system.app.inject({
          method: 'POST',
          url: `/v1/orders/${cancelled.id}/cancel`,
          headers: bob.headers,
        })
      ).statusCode,
    ).toBe(200);
    const refund = await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${first.id}/refunds`,
      headers: staff.headers,
      payload: { amount: { amount: 300, currency: 'EUR' }, reason: 'goodwill' },
    });
    expect(refund.statusCode).toBe(201);

    const found = await get(`/v1/customers?q=${tag.toUpperCase()}`, staff);
    expect(found.statusCode).toBe(200);
    const page = found.json();
    expect(page.total).toBe(2);
    // Newest first: Bob signed up after Ada.
    expect(page.items.map((customer: { email: string }) => customer.email)).toEqual([bob.email, ada.email]);
    const [bobRow, adaRow] = page.items;
    expect(bobRow).toMatchObject({ orderCount: 0, totalSpent: { amount: 0, currency: 'EUR' } });
    expect(bobRow.lastOrderAt).toBeUndefined();
    const paid =
      first.total.amount + (await get(`/v1/orders?userId=${ada.id}`, staff)).json().items[0].total.amount;
    expect(adaRow).toMatchObject({
      orderCount: 2,
      totalSpent: { amount: paid - 300, currency: 'EUR' },
      spentInOtherCurrencies: [],
    });
    expect(adaRow.lastOrderAt).toEqual(expect.any(String));

    const oldest = (await get(`/v1/customers?q=${tag}&sort=createdAt&size=1`, staff)).json();
    expect(oldest).toMatchObject({ total: 2, size: 1, items: [{ email: ada.email }] });
    // The search text is literal: a % matches only a %.
    expect((await get('/v1/customers?q=%25', staff)).json().total).toBe(0);

    const detail = (await get(`/v1/customers/${ada.id}`, staff)).json();
    expect(detail).toMatchObject({ email: ada.email, orderCount: 2 });
    expect(detail.orders).toHaveLength(2);
  });

  it('is for staff only, and knows no staff account as a customer', async () => {
    const customer = await signIn(system);
    expect((await get('/v1/customers', customer)).statusCode).toBe(403);
    expect((await get(`/v1/customers/${customer.id}`, customer)).statusCode).toBe(403);
    expect((await get(`/v1/customers/${staff.id}`, staff)).statusCode).toBe(404);
    expect((await get(`/v1/customers/${randomUUID()}`, staff)).statusCode).toBe(404);
    expect((await get('/v1/customers?sort=email', staff)).statusCode).toBe(400);
  });

  it('keeps customer groups: unique names, members put in once, shown on the customer, staff only', async () => {
    const call = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      system.app.inject({ method, url, headers: staff.headers, ...(payload ? { payload } : {}) });
    const tag = randomUUID().slice(0, 8);
    const made = await call('POST', '/v1/customer-groups', { name: `Wholesale ${tag}` });
    expect(made.statusCode).toBe(201);
    const group = made.json();
    expect(group).toMatchObject({ name: `Wholesale ${tag}`, memberCount: 0 });
    const twin = await call('POST', '/v1/customer-groups', { name: `WHOLESALE ${tag}` });
    expect(twin.json()).toMatchObject({ status: 409, code: 'GROUP_NAME_TAKEN' });
    expect((await call('POST', '/v1/customer-groups', { name: '   ' })).statusCode).toBe(400);

    const ada = await signIn(system);
    const member = `/v1/customer-groups/${group.id}/members/${ada.id}`;
    expect((await call('PUT', member)).statusCode).toBe(204);
    expect((await call('PUT', member)).statusCode).toBe(204);
    expect((await call('PUT', `/v1/customer-groups/${group.id}/members/${staff.id}`)).statusCode).toBe(404);
    expect((await call('PUT', `/v1/customer-groups/${randomUUID()}/members/${ada.id}`)).statusCode).toBe(404);
    const detail = (await get(`/v1/customer-groups/${group.id}`, staff)).json();
    expect(detail).toMatchObject({ memberCount: 1, members: [{ id: ada.id, email: ada.email }] });
    expect((await get(`/v1/customers/${ada.id}`, staff)).json().groups).toEqual([
      { id: group.id, name: `Wholesale ${tag}` },
    ]);
    const renamed = await call('PATCH', `/v1/customer-groups/${group.id}`, { name: `Trade ${tag}` });
    expect(renamed.json()).toMatchObject({ name: `Trade ${tag}`, memberCount: 1 });
    expect((await get('/v1/customer-groups', ada)).statusCode).toBe(403);

    expect((await call('DELETE', member)).statusCode).toBe(204);
    expect((await call('DELETE', member)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/customer-groups/${group.id}`)).statusCode).toBe(204);
    expect((await get(`/v1/customer-groups/${group.id}`, staff)).statusCode).toBe(404);
  });
});
