import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

describe.each(dbKinds)('translated products on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let productId: string;
  const read = (url: string, language?: string) =>
    system.app.inject({ url, headers: language ? { 'accept-language': language } : {} });
  const translate = (locale: string, payload: Record<string, unknown>) =>
    system.app.inject({
      method: 'PUT',
      url: `/v1/products/${productId}/translations/${locale}`,
      headers: staff.headers,
      payload,
    });

  beforeAll(async () => {
    system = await createTestSystem(kind, { STORE_LOCALES: 'en,de,fr' });
    staff = await signIn(system, 'staff');
    const created = await system.app.inject({
      method: 'POST',
      url: '/v1/products',
      headers: staff.headers,
      payload: {
        name: 'Rain jacket',
        description: 'Keeps you dry.',
        variants: [{ sku: `TR-${process.pid}`, price: { amount: 5900, currency: 'EUR' } }],
      },
    });
    productId = created.json().id;
  });
  afterAll(() => system.dispose());

  it('answers in the language asked for where a translation exists, else in the shop’s own, and says which', async () => {
    // Read (and cached) before the translation exists: the translation must still show after it.
    expect((await read(`/v1/products/${productId}`, 'de')).json().name).toBe('Rain jacket');
    const saved = await translate('de', { name: 'Regenjacke', description: 'Hält dich trocken.' });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toEqual({ locale: 'de', name: 'Regenjacke', description: 'Hält dich trocken.' });

    const german = await read(`/v1/products/${productId}`, 'de-AT,de;q=0.9,en;q=0.5');
    expect(german.json()).toMatchObject({ name: 'Regenjacke', description: 'Hält dich trocken.' });
    expect(german.headers['content-language']).toBe('de');
    expect(german.headers.vary).toContain('Accept-Language');
    const english = await read(`/v1/products/${productId}`);
    expect(english.json().name).toBe('Rain jacket');
    expect(english.headers['content-language']).toBe('en');
    expect(english.headers.etag).not.toBe(german.headers.etag);
    // French is a language of the shop, but this product has no French text yet: the shop's own.
    const french = await read(`/v1/products/${productId}`, 'fr');
    expect([french.json().name, french.headers['content-language']]).toEqual(['Rain jacket', 'fr']);
    // Lists too, each language in its own cached page.
    const list = await read(`/v1/products?q=${encodeURIComponent('rain jacket')}`, 'de');
    expect(list.json().items[0].name).toBe('Regenjacke');
    expect((await read(`/v1/products?q=${encodeURIComponent('rain jacket')}`)).json().items[0].name).toBe(
      'Rain jacket',
    );

    // A changed translation shows at once; a removed one gives the shop's own text back.
    await translate('de', { name: 'Regenmantel' });
    expect((await read(`/v1/products/${productId}`, 'de')).json()).toMatchObject({
      name: 'Regenmantel',
      description: '',
    });
    const listed = await system.app.inject({
      url: `/v1/products/${productId}/translations`,
      headers: staff.headers,
    });
    expect(listed.json()).toEqual({
      items: [{ locale: 'de', name: 'Regenmantel', description: '' }],
      locales: ['en', 'de', 'fr'],
    });
    const removed = await system.app.inject({
      method: 'DELETE',
      url: `/v1/products/${productId}/translations/de`,
      headers: staff.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect((await read(`/v1/products/${productId}`, 'de')).json().name).toBe('Rain jacket');
  });

  it('names categories and collections in the language asked for, with the same fallback', async () => {
    const put = (url: string, payload: Record<string, unknown>) =>
      system.app.inject({ method: 'PUT', url, headers: staff.headers, payload });
    await system.app.inject({
      method: 'POST',
      url: '/v1/categories',
      headers: staff.headers,
      payload: { slug: 'rainwear', name: 'Rainwear' },
    });
    await system.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: staff.headers,
      payload: { slug: 'wet-days', name: 'Wet days', description: 'For the rain.', productIds: [productId] },
    });
    expect(
      (await put('/v1/categories/rainwear/translations/de', { name: 'Regenbekleidung' })).json(),
    ).toEqual({
      locale: 'de',
      name: 'Regenbekleidung',
    });
    const collection = await put('/v1/collections/wet-days/translations/de', {
      name: 'Regentage',
      description: 'Für den Regen.',
    });
    expect(collection.statusCode, collection.body).toBe(200);

    const categories = await read('/v1/categories', 'de');
    expect(categories.headers['content-language']).toBe('de');
    expect(categories.json().items.find((each: { slug: string }) => each.slug === 'rainwear').name).toBe(
      'Regenbekleidung',
    );
    expect((await read('/v1/categories/rainwear', 'fr')).json().name).toBe('Rainwear');
    expect((await read('/v1/collections/wet-days', 'de')).json()).toMatchObject({
      name: 'Regentage',
      description: 'Für den Regen.',
    });
    expect((await read('/v1/collections', 'en')).json().items[0]).toMatchObject({ name: 'Wet days' });
    expect((await put('/v1/categories/no-such/translations/de', { name: 'x' })).statusCode).toBe(404);
    expect((await put('/v1/collections/wet-days/translations/nl', { name: 'x' })).json().code).toBe(
      'LOCALE_UNSUPPORTED',
    );
  });

  it('refuses a language the shop does not write in, and its own language as a translation', async () => {
    const unsupported = await translate('nl', { name: 'Regenjas' });
    expect(unsupported.statusCode).toBe(400);
    expect(unsupported.json()).toMatchObject({
      code: 'LOCALE_UNSUPPORTED',
      detail: expect.stringContaining('de, fr'),
    });
    expect((await translate('en', { name: 'Rain coat' })).json().code).toBe('LOCALE_IS_DEFAULT');
    expect((await translate('deutsch', { name: 'x' })).statusCode).toBe(400);
    const byShopper = await system.app.inject({
      method: 'PUT',
      url: `/v1/products/${productId}/translations/de`,
      headers: (await signIn(system)).headers,
      payload: { name: 'x' },
    });
    expect(byShopper.statusCode).toBe(403);
    const missing = await system.app.inject({
      method: 'PUT',
      url: '/v1/products/0190a0b0-0000-7000-8000-000000000000/translations/de',
      headers: staff.headers,
      payload: { name: 'x' },
    });
    expect(missing.statusCode).toBe(404);
  });
});
