import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { createTestDatabase, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { createTestSystem } from '../../../test/support/system.ts';
import { createRedisCache } from '../../platform/cache/redis.ts';
import { createEventBus } from '../../platform/events/index.ts';
import { noSignIn } from '../../platform/http/auth.ts';
import { createLogger } from '../../platform/observability/logger.ts';
import { createMetrics } from '../../platform/observability/metrics.ts';
import { directoryStorage } from '../../platform/storage/index.ts';
import { createInventory } from '../inventory/index.ts';
import { createPricing } from '../pricing/index.ts';
import { type CatalogModule, createCatalog } from './index.ts';

const redisUrl = process.env.REDIS_URL;

// Two API instances over one database and one Redis: a write through one is seen by the other.
describe.runIf(redisUrl).each(dbKinds)('catalog over a shared Redis cache on %s', (kind) => {
  let database: TestDatabase;
  const clients: Redis[] = [];
  let first: CatalogModule;
  let second: CatalogModule;
  const namespace = `emporium-test:${randomUUID()}:`;

  const instance = (metrics = createMetrics()) => {
    const client = new Redis(redisUrl as string, { maxRetriesPerRequest: 1 });
    clients.push(client);
    const catalog = createCatalog({
      config: { storeCurrency: 'EUR', requestTimeoutMs: 5000, storeLocales: ['en'] },
      db: database.db,
      logger: createLogger('silent'),
      metrics,
      inventory: createInventory({
        db: database.db,
        verifier: noSignIn,
        logger: createLogger('silent'),
        bus: createEventBus({ db: database.db, logger: createLogger('silent'), metrics }),
        lowStockThreshold: 5,
        products: async () => [],
        reportPublishError: (error) => {
          throw error;
        },
      }).service,
      cache: createRedisCache(client, namespace),
      taxClasses: { assertKnown: createPricing({ db: database.db }).service.assertTaxClasses },
      storage: directoryStorage(path.join(tmpdir(), 'emporium-redis-cache-objects')),
      regionCurrency: async () => undefined,
    });
    return catalog;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    first = await instance();
    second = await instance();
  });
  afterAll(async () => {
    for (const client of clients) if (client.status === 'ready') await client.quit();
    await database.dispose();
  });

  it('serves cached renderings to every instance and invalidates them for all on a write', async () => {
    const id = await first.service.create({
      name: 'Shared Lamp',
      variants: [
        { sku: `RC-${randomUUID().slice(0, 8)}`, price: { amount: 1500, currency: 'EUR' }, stock: 3 },
      ],
    });
    const fromFirst = await first.service.get(id);
    const fromSecond = await second.service.get(id);
    expect(fromSecond).toEqual(fromFirst);
    const listed = await second.service.list({ page: 1, size: 10 });
    expect(JSON.parse(listed.body).total).toBe(1);

    await first.service.patch(id, { name: 'Renamed Lamp' }, fromFirst.etag);
    expect(JSON.parse((await second.service.get(id)).body).name).toBe('Renamed Lamp');
    expect(JSON.parse((await second.service.list({ page: 1, size: 10 })).body).items[0].name).toBe(
      'Renamed Lamp',
    );
  });
  it('keeps answering from the database, and accepting writes, when Redis fails', async () => {
    const metrics = createMetrics();
    const catalog = await instance(metrics);
    const client = clients[clients.length - 1];
    const id = await catalog.service.create({
      name: 'Resilient Lamp',
      variants: [
        { sku: `RC-${randomUUID().slice(0, 8)}`, price: { amount: 900, currency: 'EUR' }, stock: 1 },
      ],
    });
    client.disconnect();
    const read = await catalog.service.get(id);
    expect(JSON.parse(read.body).name).toBe('Resilient Lamp');
    await catalog.service.patch(id, { name: 'Still Resilient' }, read.etag);
    expect(JSON.parse((await catalog.service.get(id)).body).name).toBe('Still Resilient');
    expect(await metrics.registry.getSingleMetricAsString('catalog_cache_errors_total')).toMatch(
      /operation="get"\} [1-9]/,
    );
  });

  it('is what the whole system uses when REDIS_URL is set', async () => {
    const system = await createTestSystem(kind, { REDIS_URL: redisUrl as string });
    try {
      const staff = await signIn(system, 'staff');
      const created = await system.app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: staff.headers,
        payload: {
          name: 'System Lamp',
          variants: [{ sku: `RS-${randomUUID().slice(0, 8)}`, price: { amount: 900, currency: 'EUR' } }],
        },
      });
      const url = `/v1/products/${created.json().id}`;
      await system.app.inject({ method: 'GET', url });
      expect((await system.app.inject({ method: 'GET', url })).json().name).toBe('System Lamp');
      const metrics = (await system.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/catalog_cache_lookups_total\{cache="product",result="hit"\} [1-9]/);
      expect(metrics).not.toMatch(/catalog_cache_errors_total\{/);
    } finally {
      await system.dispose();
    }
  });
});

describe.each(dbKinds)('catalog with REDIS_URL set but Redis unreachable, on %s', (kind) => {
  it('starts, serves reads and writes from the database, and reports the cache not ready', async () => {
    const system = await createTestSystem(kind, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const staff = await signIn(system, 'staff');
      const created = await system.app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: staff.headers,
        payload: {
          name: 'Offline Lamp',
          variants: [{ sku: `RD-${randomUUID().slice(0, 8)}`, price: { amount: 500, currency: 'EUR' } }],
        },
      });
      expect(created.statusCode).toBe(201);
      const read = await system.app.inject({ method: 'GET', url: `/v1/products/${created.json().id}` });
      expect(read.json().name).toBe('Offline Lamp');
      const ready = await system.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks).toMatchObject({ database: 'ok', cache: 'failing' });
      // The connection errors are not swallowed: they are counted (and logged, at most every 30 s).
      const metrics = await system.app.inject({ method: 'GET', url: '/metrics' });
      const counted = metrics.body.match(/^background_errors_total\{component="cache"\} (\d+)/m);
      expect(Number(counted?.[1])).toBeGreaterThan(0);
    } finally {
      await system.dispose();
    }
  });
});
