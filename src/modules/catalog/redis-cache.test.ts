import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { createRedisCache } from '../../platform/cache/redis.ts';
import { createLogger } from '../../platform/observability/logger.ts';
import { createMetrics } from '../../platform/observability/metrics.ts';
import { createInventory } from '../inventory/index.ts';
import { type CatalogModule, createCatalog } from './index.ts';

const redisUrl = process.env.REDIS_URL;

// Two API instances over one database and one Redis: a write through one is seen by the other.
describe.runIf(redisUrl).each(dbKinds)('catalog over a shared Redis cache on %s', (kind) => {
  let database: TestDatabase;
  const clients: Redis[] = [];
  let first: CatalogModule;
  let second: CatalogModule;
  const namespace = `emporium-test:${randomUUID()}:`;

  const instance = () => {
    const client = new Redis(redisUrl as string, { maxRetriesPerRequest: 1 });
    clients.push(client);
    return createCatalog({
      config: { seedProducts: 0, storeCurrency: 'EUR' },
      db: database.db,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      inventory: createInventory({ db: database.db }),
      cache: createRedisCache(client, namespace),
    });
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    first = await instance();
    second = await instance();
  });
  afterAll(async () => {
    for (const client of clients) await client.quit();
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
});
