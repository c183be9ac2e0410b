import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Cache, createMemoryCache } from './index.ts';
import { createRedisCache } from './redis.ts';

const redisUrl = process.env.REDIS_URL;
const clients: Redis[] = [];

/** The same contract for every implementation: in-process always, Redis when REDIS_URL is set. */
const implementations: Array<[string, () => Cache]> = [
  ['memory', () => createMemoryCache()],
  ...(redisUrl
    ? [
        [
          'redis',
          () => {
            const client = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
            clients.push(client);
            return createRedisCache(client, `emporium-test:${randomUUID()}:`);
          },
        ] as [string, () => Cache],
      ]
    : []),
];

afterAll(async () => {
  for (const client of clients) await client.quit();
});

describe.each(implementations)('%s cache', (_name, make) => {
  it('gets what was set, many at once, and nothing for unknown keys', async () => {
    const cache = make();
    await cache.set('a', 'one', 10_000);
    await cache.set('b', 'two', 10_000);
    expect(await cache.get('a')).toBe('one');
    expect(await cache.get('missing')).toBeUndefined();
    expect(await cache.getMany(['a', 'missing', 'b'])).toEqual(['one', undefined, 'two']);
    expect(await cache.getMany([])).toEqual([]);
  });

  it('expires entries after their TTL', async () => {
    const cache = make();
    await cache.set('short', 'soon gone', 30);
    await cache.set('long', 'stays', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.get('long')).toBe('stays');
  });

  it('deletes keys and every key under a prefix, and only those', async () => {
    const cache = make();
    for (const key of ['list:1', 'list:2', 'list*:x', 'listing', 'product:1'])
      await cache.set(key, key, 10_000);
    await cache.delete('product:1', 'never-set');
    expect(await cache.get('product:1')).toBeUndefined();
    await cache.deleteByPrefix('list:');
    expect(await cache.getMany(['list:1', 'list:2', 'list*:x', 'listing'])).toEqual([
      undefined,
      undefined,
      'list*:x',
      'listing',
    ]);
    await cache.deleteByPrefix('list*');
    expect(await cache.get('list*:x')).toBeUndefined();
    expect(await cache.get('listing')).toBe('listing');
  });
});
