import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../platform/db/index.ts';
import { unauthorized } from '../../platform/errors.ts';
import {
  type AccessTokenVerifier,
  BUILT_IN_PERMISSIONS,
  isBuiltInRole,
  type UserPrincipal as Principal,
} from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { Roles } from './roles.ts';
import type { TokenVersions } from './sessions.ts';
import { identityStore as store } from './store.ts';

/** The only algorithm accepted: no `none`, no HMAC with a public key, no downgrade. */
export const ACCESS_TOKEN_ALGORITHM = 'EdDSA';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * Signs access tokens with the newest Ed25519 key and verifies against every active key, so a
 * rotation keeps tokens signed by the previous key valid until they expire. Keys live in the
 * database: generated on first start, shared by every instance.
 */
export async function createTokenService(
  db: Db,
  versions: TokenVersions,
  roles: Pick<Roles, 'permissionsOf'>,
  settings: TokenSettings,
) {
  let keys: SigningKey[] = [];
  let jwks = createLocalJWKSet({ keys: [] });
  // Tokens whose signature and claims were checked, until they expire: the same bytes verify the
  // same way, and the signature check was the costliest step of an authenticated request.
  // Emptied whenever the key set is reloaded, so a retired key's tokens are judged again. The
  // token version is checked on every request regardless: a revocation must not wait for this.
  const verified = new LRUCache<string, { principal: Principal; version: number }>({ max: 10_000 });

  async function load(): Promise<void> {
    let rows = await store.activeSigningKeys(db);
    if (rows.length === 0) {
      await rotate();
      rows = await store.activeSigningKeys(db);
    }
    keys = await Promise.all(
      rows.map(async (row) => ({
        kid: row.kid,
        privateKey: (await importJWK(row.privateJwk as JWK, ACCESS_TOKEN_ALGORITHM)) as CryptoKey,
        publicJwk: row.publicJwk as JWK,
      })),
    );
    jwks = createLocalJWKSet(publicKeySet());
    verified.clear();
  }

  /** Adds a new signing key; older keys keep verifying until retired. */
  async function rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, {
      crv: 'Ed25519',
      extractable: true,
    });
    const kid = uuidv7();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
    await store.insertSigningKey(db, { kid, privateJwk: await exportJWK(privateKey), publicJwk });
    return kid;
  }

  function publicKeySet(): JSONWebKeySet {
    return { keys: keys.map((key) => key.publicJwk) };
  }

  /** An access token for the principal at the user's current token version. */
  async function sign(principal: Pick<Principal, 'id' | 'role'>, version: number): Promise<string> {
    const key = keys[0];
    return new SignJWT({ role: principal.role, ver: version })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(principal.id)
      .setJti(uuidv7())
      .setIssuedAt()
      .setExpirationTime(`${settings.accessTokenTtlSeconds}s`)
      .sign(key.privateKey);
  }

  /** Signature, algorithm and claims; the same bytes always judge the same until they expire. */
  async function checkSignature(token: string): Promise<{ principal: Principal; version: number }> {
    const known = verified.get(token);
    if (known && Date.now() < known.principal.expiresAtMs!) return known;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: settings.issuer,
        audience: settings.audience,
        typ: 'at+jwt',
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'ver'],
      });
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.role !== 'string' ||
        !Number.isSafeInteger(payload.ver)
      ) {
        throw new Error('token claims are incomplete');
      }
      const role = payload.role;
      // A built-in role's permissions are constants; a made role's are looked up per request.
      const principal: Principal = Object.freeze({
        id: payload.sub,
        role,
        permissions: isBuiltInRole(role) ? BUILT_IN_PERMISSIONS[role] : [],
        expiresAtMs: payload.exp! * 1000,
      });
      const checked = { principal, version: payload.ver as number };
      verified.set(token, checked);
      return checked;
    } catch (error) {
      // A key rotated in by another instance: reload once, then judge again.
      if ((error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY' && (await reloadForUnknownKid())) {
        return checkSignature(token);
      }
      throw Object.assign(unauthorized('The access token is invalid or expired', 'INVALID_TOKEN'), {
        cause: error,
      });
    }
  }

  const verifier: AccessTokenVerifier = {
    async verify(token: string): Promise<Principal> {
      const { principal, version } = await checkSignature(token);
      if ((await versions.current(principal.id)) !== version) {
        throw unauthorized(
          'This access token was revoked (signed out, or the password or role changed)',
          'TOKEN_REVOKED',
        );
      }
      if (isBuiltInRole(principal.role)) return principal;
      return { ...principal, permissions: await roles.permissionsOf(principal.role) };
    },
  };

  let lastReload = 0;
  async function reloadForUnknownKid(): Promise<boolean> {
    // Bounded so a flood of forged kids cannot turn into a flood of key queries.
    if (Date.now() - lastReload < 10_000) return false;
    lastReload = Date.now();
    const before = keys.length;
    await load();
    return keys.length !== before;
  }

  await load();
  return {
    sign,
    verifier,
    publicKeySet,
    async rotate(): Promise<void> {
      await rotate();
      await load();
    },
  };
}

export type TokenService = Awaited<ReturnType<typeof createTokenService>>;
