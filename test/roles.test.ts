import { afterEach, describe, expect, it } from 'vitest';
import { dbKinds } from './support/db.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

describe.each(dbKinds)('roles build only what they run, on %s', (kind) => {
  let system: TestSystem | undefined;
  afterEach(async () => {
    await system?.dispose();
    system = undefined;
  });

  const names = (built: TestSystem) => built.modules.map((module) => module.name);

  it('a worker builds the loops and what they need, and serves no public API', async () => {
    system = await createTestSystem(kind, { EMPORIUM_ROLE: 'worker' });
    expect(names(system)).toEqual([
      'events',
      'identity',
      'inventory',
      'catalog',
      'pricing',
      'payments',
      'giftcards',
      'cart',
      'ordering',
      'fulfillment',
      'customers',
      'webhooks',
      'notifications',
      'settings',
    ]);
    await system.startWorkers();
    for (const url of ['/v1/products', '/v1/orders', '/v1/store', '/', '/openapi.json', '/graphql']) {
      expect((await system.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
    expect((await system.app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
    expect((await system.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await system.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('an API instance builds every module that serves, and no mail sender', async () => {
    system = await createTestSystem(kind, { EMPORIUM_ROLE: 'api' });
    expect(names(system)).not.toContain('notifications');
    expect(names(system)).toEqual(
      expect.arrayContaining(['catalog', 'reviews', 'fulfillment', 'graphql', 'stream', 'web', 'webhooks']),
    );
    expect((await system.app.inject({ method: 'GET', url: '/v1/products' })).statusCode).toBe(200);
  });

  it('production without a payment provider refuses to start, naming the variable', async () => {
    await expect(createTestSystem(kind, { NODE_ENV: 'production' })).rejects.toThrow(
      /PAYMENTS_PROVIDER is not set/,
    );
  });

  it('all is both: every module', async () => {
    system = await createTestSystem(kind);
    expect(names(system)).toEqual(expect.arrayContaining(['notifications', 'web', 'graphql', 'ordering']));
  });

  it('a first start loads the demo shop once the modules are built, not while they are', async () => {
    system = await createTestSystem(kind, { SEED_PRODUCTS: '3' });
    const page = (await system.app.inject({ method: 'GET', url: '/v1/products' })).json();
    expect(page.total).toBe(3);
    const shipping = (await system.app.inject({ method: 'GET', url: '/v1/shipping-methods' })).statusCode;
    expect(shipping).toBeLessThan(500);
  });
});
