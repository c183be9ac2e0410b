import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { apiCaller } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

/** The shop's own details: anyone reads them, admins set them, and bad input is refused in a sentence. */
describe.each(dbKinds)('store settings on %s', (kind) => {
  let system: TestSystem;
  let admin: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    admin = await signIn(system, 'admin');
  });
  afterAll(() => system.dispose());
  const call = apiCaller(() => system);
  const address = { line1: '1 Harbour Row', city: 'Hamburg', postalCode: '20457', country: 'DE' };

  it('starts as Emporium in the configured currency and languages, and takes a name, contact and address', async () => {
    expect((await call('GET', '/v1/store')).json()).toMatchObject({
      name: 'Emporium',
      currency: 'EUR',
      locales: ['en', 'de', 'fr'],
    });
    const set = await call('PUT', '/v1/store', admin, {
      name: '  Harbour Goods ',
      supportEmail: 'Help@Harbour.Example',
      address,
    });
    expect(set.statusCode).toBe(200);
    const read = (await call('GET', '/v1/store')).json();
    expect(read).toMatchObject({ name: 'Harbour Goods', supportEmail: 'help@harbour.example', address });
    // Taking the address and contact away again.
    expect((await call('PUT', '/v1/store', admin, { name: 'Harbour Goods' })).json()).not.toHaveProperty(
      'address',
    );
  });

  it('refuses staff without staff:write, a blank name, a bad email or country, with a sentence', async () => {
    const staff = await signIn(system, 'staff');
    expect((await call('PUT', '/v1/store', staff, { name: 'Mine' })).statusCode).toBe(403);
    expect((await call('PUT', '/v1/store', undefined, { name: 'Mine' })).statusCode).toBe(401);
    expect((await call('PUT', '/v1/store', admin, { name: '   ' })).statusCode).toBe(400);
    const email = await call('PUT', '/v1/store', admin, { name: 'Shop', supportEmail: 'not an address' });
    expect(email.json()).toMatchObject({
      status: 400,
      code: 'INVALID_EMAIL',
      errors: [{ path: '/supportEmail' }],
    });
    expect(email.json().detail).toMatch(/help@example.com/);
    expect(
      (await call('PUT', '/v1/store', admin, { name: 'Shop', address: { ...address, country: 'Germany' } }))
        .statusCode,
    ).toBe(400);
    expect((await call('GET', '/v1/store')).json().name).not.toBe('Shop');
  });

  it('previews every mail the shop sends, by its own templates with sample data, for staff only', async () => {
    const staff = await signIn(system, 'staff');
    const answer = await call('GET', '/v1/email-templates', staff);
    expect(answer.statusCode).toBe(200);
    const items = answer.json().items as Array<{
      template: string;
      name: string;
      subject: string;
      text: string;
      html: string;
    }>;
    expect(items.map((item) => item.template)).toEqual(
      expect.arrayContaining([
        'order_confirmed',
        'order_shipped',
        'order_returned',
        'order_cancelled',
        'payment_link',
        'welcome',
        'password_reset',
        'staff_invite',
        'stock_low',
      ]),
    );
    const confirmation = items.find((item) => item.template === 'order_confirmed')!;
    expect(confirmation.text).toContain('€49.90');
    expect(confirmation.text).toContain(`${system.config.publicUrl}/orders/`);
    expect(confirmation.html).toMatch(/^<!doctype html>/);
    expect(items.find((item) => item.template === 'order_shipped')!.text).toContain('JD014600');
    // Signed with the shop's name as set (the first test named it Harbour Goods).
    expect(confirmation.text.trimEnd().split('\n').at(-1)).toBe((await call('GET', '/v1/store')).json().name);
    expect(items.find((item) => item.template === 'welcome')!.subject).toBe('Welcome to Harbour Goods');
    const customer = await signIn(system);
    expect((await call('GET', '/v1/email-templates', customer)).statusCode).toBe(403);
  });
});
