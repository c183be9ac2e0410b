import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { ADDRESS } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { ADDRESS_LIMIT } from './addresses.ts';

describe.each(dbKinds)('the address book on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (
    user: SignedInUser,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) => system.app.inject({ method, url, headers: user.headers, ...(payload ? { payload } : {}) });
  const list = async (user: SignedInUser) =>
    (await call(user, 'GET', '/v1/users/me/addresses')).json().items as Array<{
      id: string;
      city: string;
      isDefault: boolean;
      line2?: string;
    }>;

  it('keeps a customer’s addresses, the first one the default until another is made so, and staff see them', async () => {
    const user = await signIn(system);
    const home = await call(user, 'POST', '/v1/users/me/addresses', { ...ADDRESS, line2: '  Flat 2 ' });
    expect(home.statusCode).toBe(201);
    expect(home.headers.location).toBe(`/v1/users/me/addresses/${home.json().id}`);
    expect(home.json()).toMatchObject({ ...ADDRESS, line2: 'Flat 2', isDefault: true });
    const work = await call(user, 'POST', '/v1/users/me/addresses', {
      ...ADDRESS,
      city: 'Paris',
      postalCode: '75001',
      country: 'FR',
      isDefault: true,
    });
    expect(work.json().isDefault).toBe(true);
    expect((await list(user)).map((address) => [address.city, address.isDefault])).toEqual([
      ['Paris', true],
      ['London', false],
    ]);

    const moved = await call(user, 'PATCH', `/v1/users/me/addresses/${home.json().id}`, {
      city: 'Cambridge',
      line2: '',
      isDefault: true,
    });
    expect(moved.json()).toMatchObject({ city: 'Cambridge', isDefault: true });
    expect(moved.json().line2).toBeUndefined();
    expect((await list(user)).map((address) => address.city)).toEqual(['Cambridge', 'Paris']);

    const customer = (await call(staff, 'GET', `/v1/customers/${user.id}`)).json();
    expect(customer.addresses.map((address: { city: string }) => address.city)).toEqual([
      'Cambridge',
      'Paris',
    ]);

    expect((await call(user, 'DELETE', `/v1/users/me/addresses/${work.json().id}`)).statusCode).toBe(204);
    expect((await list(user)).map((address) => address.city)).toEqual(['Cambridge']);
  });

  it("refuses another customer's address as missing, a malformed one with the field, and an empty change", async () => {
    const owner = await signIn(system);
    const other = await signIn(system);
    const saved = (await call(owner, 'POST', '/v1/users/me/addresses', ADDRESS)).json();
    const url = `/v1/users/me/addresses/${saved.id}`;
    expect((await call(other, 'PATCH', url, { city: 'Oxford' })).statusCode).toBe(404);
    expect((await call(other, 'DELETE', url)).statusCode).toBe(404);
    // A failed change takes nothing over: the owner's default stays.
    const otherFirst = (await call(other, 'POST', '/v1/users/me/addresses', ADDRESS)).json();
    expect((await call(other, 'PATCH', url, { isDefault: true })).statusCode).toBe(404);
    expect((await list(other)).find((address) => address.id === otherFirst.id)?.isDefault).toBe(true);
    expect((await list(owner))[0]).toMatchObject({ city: 'London', isDefault: true });

    const lower = await call(owner, 'POST', '/v1/users/me/addresses', { ...ADDRESS, country: 'gb' });
    expect(lower.json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(lower.json().errors[0].path).toBe('/country');
    expect((await call(owner, 'PATCH', url, {})).statusCode).toBe(400);
    expect((await system.app.inject({ method: 'GET', url: '/v1/users/me/addresses' })).statusCode).toBe(401);
  });

  it(`keeps at most ${ADDRESS_LIMIT} addresses, however many are added at once`, async () => {
    const user = await signIn(system);
    const answers = await Promise.all(
      Array.from({ length: ADDRESS_LIMIT + 5 }, (_, index) =>
        call(user, 'POST', '/v1/users/me/addresses', { ...ADDRESS, line1: `${index + 1} Analytical St` }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(ADDRESS_LIMIT);
    expect(statuses.filter((status) => status === 409)).toHaveLength(5);
    expect(answers.find((answer) => answer.statusCode === 409)!.json().code).toBe('ADDRESS_LIMIT');
    const kept = await list(user);
    expect(kept).toHaveLength(ADDRESS_LIMIT);
    expect(kept.filter((address) => address.isDefault)).toHaveLength(1);
  });

  it('refuses a required field of spaces alone, in a sentence, and keeps nothing', async () => {
    const user = await signIn(system);
    const blank = await call(user, 'POST', '/v1/users/me/addresses', { ...ADDRESS, name: '   ', city: ' ' });
    expect(blank.json()).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: 'Fill in the name: spaces alone are not one',
      errors: [{ path: '/name', message: 'must not be blank' }],
    });
    expect(await list(user)).toEqual([]);
    const kept = (await call(user, 'POST', '/v1/users/me/addresses', ADDRESS)).json();
    const emptied = await call(user, 'PATCH', `/v1/users/me/addresses/${kept.id}`, { line1: '  ' });
    expect(emptied.json()).toMatchObject({
      status: 400,
      detail: 'Fill in the first address line: spaces alone are not one',
    });
    expect((await list(user))[0]).toMatchObject({ city: ADDRESS.city });
  });
});
