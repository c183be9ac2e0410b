import type { Db } from '../../platform/db/index.ts';
import { notFound, unauthorized } from '../../platform/errors.ts';
import type { AccessTokenVerifier, ApiScope, Principal, UserPrincipal } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../platform/opaque-token.ts';
import { assertHeld } from './roles.ts';
import { type ApiKeyRow, apiKeyStore as store, textArray } from './store.ts';

/** Every key's secret starts so: a bearer token that is a key, not a JWT, is told apart at a glance. */
export const API_KEY_PREFIX = 'emp_';

/** An API key as admins see it; the secret only in the answer that created it. */
export interface ApiKey {
  id: string;
  name: string;
  scopes: ApiScope[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const scopesOf = (value: unknown) => textArray(value) as ApiScope[];

const toKey = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  name: row.name,
  scopes: scopesOf(row.scopes),
  createdBy: row.createdBy,
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  revokedAt: row.revokedAt?.toISOString() ?? null,
});

/**
 * Keys for integrations (an ERP, a feed exporter): each acts as staff within its scopes and no
 * further, is checked against the database on every request (so a revoked key stops at once),
 * and never reaches routes made for people (carts, accounts).
 */
export function createApiKeys(db: Db) {
  return {
    async create(
      by: Principal,
      input: { name: string; scopes: ApiScope[] },
    ): Promise<ApiKey & { secret: string }> {
      assertHeld(by, input.scopes, 'give a key');
      const secret = `${API_KEY_PREFIX}${newOpaqueToken().token}`;
      const row = await store.insert(db, {
        id: uuidv7(),
        name: input.name.trim(),
        scopes: [...new Set(input.scopes)].sort(),
        secretHash: hashOpaqueToken(secret),
        createdBy: by.id,
      });
      return { ...toKey(row), secret };
    },

    list: async (): Promise<ApiKey[]> => (await store.list(db)).map(toKey),

    async revoke(id: string): Promise<void> {
      if (!(await store.revoke(db, id))) throw notFound('API key');
    },

    /** The key's principal: staff, limited to its scopes. */
    verifier: {
      async verify(secret: string): Promise<UserPrincipal> {
        const row = await store.use(db, hashOpaqueToken(secret));
        if (!row) throw unauthorized('This API key is not known here', 'INVALID_TOKEN');
        if (row.revokedAt) throw unauthorized('This API key was revoked', 'API_KEY_REVOKED');
        const scopes = scopesOf(row.scopes);
        return { id: row.id, role: 'api-key', permissions: scopes, scopes };
      },
    } satisfies AccessTokenVerifier,
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
