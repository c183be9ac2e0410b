import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { identityStore as store } from './store.ts';

/** How long a user's token version may be served from the cache without asking the database. */
const VERSION_TTL_MS = 30_000;

/**
 * The current token version of each user: what an access token must carry to be accepted. Raised
 * by logout, a password change and a role change (the store's bumpTokenVersion), so those take
 * effect on the next request rather than when the token expires.
 *
 * `cache` must be one every instance sees alike (Redis, or this process when it is the only one,
 * as with PGlite); without one every check asks the database. A raise is written to the cache
 * after its commit, while a check fills only an empty entry (set-if-absent): a check that read the
 * old version just before a raise cannot put it back over the new one.
 */
export function createTokenVersions(db: Db, cache: Cache | undefined) {
  const key = (userId: string) => `token-version:${userId}`;
  return {
    /** The version an access token of this user must carry; undefined when the user is gone. */
    async current(userId: string): Promise<number | undefined> {
      if (cache) {
        const cached = await cache.get(key(userId)).catch(() => undefined);
        if (cached !== undefined) return cached === 'gone' ? undefined : Number(cached);
      }
      const version = await store.tokenVersion(db, userId);
      await cache
        ?.add(key(userId), version === undefined ? 'gone' : String(version), VERSION_TTL_MS)
        .catch(() => {});
      return version;
    },

    /**
     * Publishes a version just committed. Rejects when the cache cannot be told (Redis away): the
     * caller must not report the revocation done while an instance could still accept old tokens.
     */
    async raised(userId: string, version: number): Promise<void> {
      await cache?.set(key(userId), String(version), VERSION_TTL_MS);
    },
  };
}

export type TokenVersions = ReturnType<typeof createTokenVersions>;
