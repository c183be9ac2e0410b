import { LRUCache } from 'lru-cache';

/**
 * A cache of strings by key, shared by whoever holds it. Values are strings so an implementation
 * over the network (Redis) fits the same interface as the in-process one; callers serialise.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  getMany(keys: readonly string[]): Promise<Array<string | undefined>>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets the key only when it holds nothing (an atomic set-if-absent). */
  add(key: string, value: string, ttlMs: number): Promise<void>;
  delete(...keys: string[]): Promise<void>;
  /** Drops every key that starts with `prefix` (e.g. all list pages of a resource). */
  deleteByPrefix(prefix: string): Promise<void>;
}

/** In-process LRU with per-entry TTL, bounded by total size in characters. */
export function createMemoryCache(options: { maxChars?: number } = {}): Cache {
  const lru = new LRUCache<string, string>({
    maxSize: options.maxChars ?? 64 * 1024 * 1024,
    sizeCalculation: (value, key) => value.length + key.length,
    ttlAutopurge: false,
  });
  return {
    get: async (key) => lru.get(key),
    getMany: async (keys) => keys.map((key) => lru.get(key)),
    set: async (key, value, ttlMs) => {
      lru.set(key, value, { ttl: ttlMs });
    },
    add: async (key, value, ttlMs) => {
      if (!lru.has(key)) lru.set(key, value, { ttl: ttlMs });
    },
    delete: async (...keys) => {
      for (const key of keys) lru.delete(key);
    },
    deleteByPrefix: async (prefix) => {
      for (const key of [...lru.keys()]) if (key.startsWith(prefix)) lru.delete(key);
    },
  };
}
