import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Db } from '../db/index.ts';
import type { Cache } from './index.ts';

type SettingsTables = { app_settings: { key: string; value: unknown } };

/** Escapes the glob characters of a SCAN MATCH pattern, so a prefix matches only itself. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The Cache over Redis, shared by every instance. `namespace` keeps this application's keys apart
 * from anything else in the same Redis. Prefix deletion walks the keyspace with SCAN (never KEYS,
 * which blocks the server) and unlinks in batches; entries carry TTLs, so what it walks stays small.
 */
export function createRedisCache(redis: Redis, namespace = 'emporium:cache:'): Cache {
  const name = (key: string) => namespace + key;
  return {
    get: async (key) => (await redis.get(name(key))) ?? undefined,
    getMany: async (keys) => {
      if (keys.length === 0) return [];
      const values = await redis.mget(keys.map(name));
      return values.map((value) => value ?? undefined);
    },
    set: async (key, value, ttlMs) => {
      await redis.set(name(key), value, 'PX', Math.max(1, Math.round(ttlMs)));
    },
    add: async (key, value, ttlMs) => {
      await redis.set(name(key), value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
    },
    delete: async (...keys) => {
      if (keys.length > 0) await redis.unlink(...keys.map(name));
    },
    deleteByPrefix: async (prefix) => {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(
          cursor,
          'MATCH',
          `${escapeGlob(name(prefix))}*`,
          'COUNT',
          1000,
        );
        if (found.length > 0) await redis.unlink(...found);
        cursor = next;
      } while (cursor !== '0');
    },
  };
}

/**
 * Opens the shared cache: Redis at `url`, under a namespace kept in the database (`app_settings`),
 * so every instance on one database shares entries and two databases on one Redis never do.
 */
export async function openRedisCache(
  db: Db,
  url: string,
  /** Connection errors while Redis is away: counted and logged, never thrown at a request. */
  reportError: (error: unknown) => void,
): Promise<{
  cache: Cache;
  /** This system's key prefix in Redis, for other uses (pub/sub channels) to share. */
  namespace: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}> {
  const settings = db.withTables<SettingsTables>();
  await settings
    .insertInto('app_settings')
    .values({ key: 'cache.namespace', value: JSON.stringify(randomUUID()) })
    .onConflict((conflict) => conflict.column('key').doNothing())
    .execute();
  const row = await settings
    .selectFrom('app_settings')
    .select('value')
    .where('key', '=', 'cache.namespace')
    .executeTakeFirstOrThrow();
  const namespace = typeof row.value === 'string' ? row.value : JSON.stringify(row.value);
  // Commands fail fast while Redis is away (no offline queue) and callers fall back to the
  // database; ioredis keeps reconnecting in the background, and /readyz reports the outage.
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', reportError);
  await redis.connect().catch(reportError);
  return {
    cache: createRedisCache(redis, `emporium:${namespace}:`),
    namespace: `emporium:${namespace}:`,
    ping: async () => {
      await redis.ping();
    },
    close: async () => {
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}
