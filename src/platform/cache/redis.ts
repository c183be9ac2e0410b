import type { Redis } from 'ioredis';
import type { Cache } from './index.ts';

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
