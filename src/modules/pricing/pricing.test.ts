import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { createTestDatabase, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { createPricingService, type TaxProvider } from './service.ts';

describe.each(dbKinds)('pricing rules on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let customer: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    customer = await signIn(system, 'customer');
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });

  it('lets staff create, list, change and deactivate promotions; codes are unique and upper-case', async () => {
    const created = await call('POST', '/v1/promotions', staff, {
      code: 'spring-10',
      kind: 'percentage',
      value: 10,
      usageLimit: 5,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      code: 'SPRING-10',
      kind: 'percentage',
      value: 10,
      usageLimit: 5,
      timesUsed: 0,
      active: true,
    });
    expect(
      (await call('POST', '/v1/promotions', staff, { code: 'SPRING-10', kind: 'free_shipping' })).json().code,
    ).toBe('PROMOTION_EXISTS');
    const changed = await call('PATCH', `/v1/promotions/${created.json().id}`, staff, { value: 15 });
    expect(changed.json().value).toBe(15);
    expect((await call('DELETE', `/v1/promotions/${created.json().id}`, staff)).statusCode).toBe(204);
    const list = (await call('GET', '/v1/promotions', staff)).json();
    expect(list.items.find((p: { code: string }) => p.code === 'SPRING-10').active).toBe(false);
  });

  it('refuses invalid promotions with 400 and customers with 403', async () => {
    expect(
      (await call('POST', '/v1/promotions', staff, { code: 'BAD', kind: 'percentage', value: 150 }))
        .statusCode,
    ).toBe(400);
    expect(
      (await call('POST', '/v1/promotions', staff, { code: 'NOCUR', kind: 'fixed', value: 500 })).statusCode,
    ).toBe(400);
    expect(
      (
        await call('POST', '/v1/promotions', staff, {
          code: 'WINDOW',
          kind: 'free_shipping',
          startsAt: '2026-02-01T00:00:00Z',
          endsAt: '2026-01-01T00:00:00Z',
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (await call('POST', '/v1/promotions', customer, { code: 'MINE', kind: 'free_shipping' })).statusCode,
    ).toBe(403);
    expect((await call('GET', '/v1/promotions')).statusCode).toBe(401);
  });

  it('keeps tax rates per country and shipping methods per destination', async () => {
    expect((await call('PUT', '/v1/tax-rates/DE', staff, { rate: 1900, name: 'USt' })).json()).toEqual({
      country: 'DE',
      taxClass: 'standard',
      rate: 1900,
      name: 'USt',
    });
    expect(
      (await call('PUT', '/v1/tax-rates/DE', staff, { rate: 700, name: 'USt reduced' })).json().rate,
    ).toBe(700);
    expect((await call('PUT', '/v1/tax-rates/de', staff, { rate: 700, name: 'x' })).statusCode).toBe(400);
    expect((await call('GET', '/v1/tax-rates')).json().items).toContainEqual({
      country: 'DE',
      taxClass: 'standard',
      rate: 700,
      name: 'USt reduced',
    });

    const method = await call('POST', '/v1/shipping-methods', staff, {
      name: 'Standard',
      country: 'DE',
      price: { amount: 495, currency: 'EUR' },
      minDays: 2,
      maxDays: 4,
    });
    expect(method.statusCode).toBe(201);
    const forDe = (await call('GET', '/v1/shipping-methods?country=DE')).json().items;
    expect(forDe).toContainEqual(method.json());
    expect((await call('GET', '/v1/shipping-methods?country=FR')).json().items).toEqual([]);
    expect(
      (await call('PATCH', `/v1/shipping-methods/${method.json().id}`, staff, { minDays: 9 })).statusCode,
    ).toBe(400);
    // Nothing to change, or a field that does not exist: a plain 400, never a 500 or a silent 200.
    for (const body of [{}, { colour: 'red' }, { name: 'Renamed', colour: 'red' }]) {
      const refused = await call('PATCH', `/v1/shipping-methods/${method.json().id}`, staff, body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json().code).toBe('VALIDATION_FAILED');
    }
    expect((await call('DELETE', `/v1/shipping-methods/${method.json().id}`, staff)).statusCode).toBe(204);
    expect((await call('GET', '/v1/shipping-methods?country=DE')).json().items).toEqual([]);
  });
});

describe.each(dbKinds)('a plugged-in tax provider on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.dispose());

  it('prices each line at the rate the provider answers for its class, and shipping at its standard rate', async () => {
    const asked: Array<{ country: string; classes: readonly string[] }> = [];
    // Stands for an external tax service: Swedish rates, which the built-in table does not hold.
    const provider: TaxProvider = {
      async rates(destination, taxClasses) {
        asked.push({ country: destination.country, classes: taxClasses });
        return new Map([
          ['standard', 2500],
          ['reduced', 600],
        ]);
      },
    };
    const pricing = createPricingService(database.db, { taxProvider: provider });
    await pricing.createShippingMethod({
      name: 'PostNord',
      country: 'SE',
      price: { amount: 400, currency: 'EUR' },
      minDays: 1,
      maxDays: 3,
    });
    const quote = await pricing.quote({
      currency: 'EUR',
      userId: '01936b2a-0000-7000-8000-000000000001',
      country: 'SE',
      lines: [
        { id: 'book', unitAmount: 1000, quantity: 1, taxClass: 'reduced' },
        { id: 'lamp', unitAmount: 2000, quantity: 1 },
        { id: 'other', unitAmount: 1000, quantity: 1, taxClass: 'luxury' },
      ],
    });
    expect(asked).toEqual([{ country: 'SE', classes: ['reduced', 'standard', 'luxury'] }]);
    expect(quote.lines.map((line) => line.tax)).toEqual([60, 500, 250]);
    expect(quote.shippingTax).toBe(100);
    expect(quote.total).toBe(4000 + 400 + 60 + 500 + 250 + 100);
  });
});
