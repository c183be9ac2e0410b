import { hash, verify } from '@node-rs/argon2';
import { badRequest, conflict, DomainError, notFound } from '../../platform/errors.ts';
import { type Principal, ROLES, type Role } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { IdentityStore, UserRow } from './store.ts';
import { hashRefreshToken, newRefreshToken, type TokenService } from './tokens.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

export interface TokenPair {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

/** Where a security-relevant request came from, for the audit log. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

export interface IdentitySettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  argon2MemoryKib: number;
  argon2TimeCost: number;
}

export const MIN_PASSWORD_LENGTH = 8;

const invalidCredentials = () =>
  new DomainError(401, 'INVALID_CREDENTIALS', 'Invalid credentials', 'The email or password is wrong', {
    headers: { 'www-authenticate': 'Bearer' },
  });
const invalidRefreshToken = () =>
  new DomainError(
    401,
    'INVALID_REFRESH_TOKEN',
    'Invalid refresh token',
    'The refresh token is invalid, expired or spent',
    {
      headers: { 'www-authenticate': 'Bearer' },
    },
  );

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
  };
}

export function createIdentityService(deps: {
  store: IdentityStore;
  tokens: TokenService;
  settings: IdentitySettings;
  logger: Logger;
}) {
  const { store, tokens, settings } = deps;
  const hashOptions = {
    algorithm: 2 as const, // Algorithm.Argon2id; the package's const enum cannot be imported under type stripping
    memoryCost: settings.argon2MemoryKib,
    timeCost: settings.argon2TimeCost,
    parallelism: 1,
  };
  // Verifying against this when the email is unknown makes both failures cost the same time.
  const dummyHash = hash('emporium-dummy-password', hashOptions);

  const audit = (
    event: string,
    client: ClientInfo,
    fields: { userId?: string; email?: string; detail?: Record<string, unknown> },
  ) => store.audit({ id: uuidv7(), event, ip: client.ip, userAgent: client.userAgent, ...fields });

  async function issueTokens(user: UserRow, familyId: string = uuidv7()): Promise<TokenPair> {
    const refresh = newRefreshToken();
    await store.insertRefreshToken({
      id: uuidv7(),
      userId: user.id,
      familyId,
      hash: refresh.hash,
      expiresAt: new Date(Date.now() + settings.refreshTokenTtlSeconds * 1000),
    });
    return {
      user: toUser(user),
      accessToken: await tokens.sign({ id: user.id, role: user.role }),
      refreshToken: refresh.token,
      expiresIn: settings.accessTokenTtlSeconds,
      tokenType: 'Bearer',
    };
  }

  function validEmail(raw: string): string {
    const email = normaliseEmail(raw);
    if (!EMAIL.test(email)) {
      throw badRequest('INVALID_EMAIL', 'This is not an email address', {
        errors: [{ path: '/email', message: 'must be an email address' }],
      });
    }
    return email;
  }

  function validatePassword(password: string): void {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw badRequest('PASSWORD_TOO_SHORT', `Passwords need at least ${MIN_PASSWORD_LENGTH} characters`, {
        errors: [{ path: '/password', message: `must have at least ${MIN_PASSWORD_LENGTH} characters` }],
      });
    }
  }

  async function createUser(input: {
    email: string;
    password: string;
    name: string;
    role: string;
  }): Promise<User> {
    if (!ROLES.includes(input.role as Role))
      throw badRequest('INVALID_ROLE', `role must be one of ${ROLES.join(', ')}`);
    validatePassword(input.password);
    const row = await store.insertUser({
      id: uuidv7(),
      email: validEmail(input.email),
      passwordHash: await hash(input.password, hashOptions),
      name: input.name,
      role: input.role as Role,
    });
    if (!row) throw conflict('EMAIL_TAKEN', 'An account with this email exists');
    return toUser(row);
  }

  return {
    createUser,

    async register(
      input: { email: string; password: string; name: string },
      client: ClientInfo,
    ): Promise<TokenPair> {
      validatePassword(input.password);
      const row = await store.insertUser({
        id: uuidv7(),
        email: validEmail(input.email),
        passwordHash: await hash(input.password, hashOptions),
        name: input.name.trim() || input.name,
        role: 'customer',
      });
      if (!row) throw conflict('EMAIL_TAKEN', 'An account with this email exists');
      await audit('user.registered', client, { userId: row.id, email: row.email });
      return issueTokens(row);
    },

    async login(input: { email: string; password: string }, client: ClientInfo): Promise<TokenPair> {
      const email = normaliseEmail(input.email);
      const row = await store.findUserByEmail(email);
      const passwordHash = row?.passwordHash ?? (await dummyHash);
      const matches = await verify(passwordHash, input.password).catch(() => false);
      if (!row?.passwordHash || !matches) {
        await audit('login.failed', client, { userId: row?.id, email });
        throw invalidCredentials();
      }
      await audit('login.succeeded', client, { userId: row.id, email });
      return issueTokens(row);
    },

    /**
     * Rotates a refresh token. A spent or revoked token presented again means it was copied:
     * the whole family is revoked, so whoever holds the newer token must sign in again too.
     */
    async refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair> {
      const tokenHash = hashRefreshToken(refreshToken);
      const spent = await store.spendRefreshToken(tokenHash);
      if (!spent) {
        const known = await store.findRefreshToken(tokenHash);
        if (known && (known.usedAt || known.revokedAt)) {
          await store.revokeFamily(known.familyId);
          await audit('refresh.reused', client, {
            userId: known.userId,
            detail: { familyId: known.familyId },
          });
        }
        throw invalidRefreshToken();
      }
      const user = await store.findUserById(spent.userId);
      if (!user) throw invalidRefreshToken();
      return issueTokens(user, spent.familyId);
    },

    async logout(principal: Principal, refreshToken: string, client: ClientInfo): Promise<void> {
      const known = await store.findRefreshToken(hashRefreshToken(refreshToken));
      // Another user's token or an unknown one: nothing to revoke, and nothing to reveal.
      if (!known || known.userId !== principal.id) return;
      await store.revokeFamily(known.familyId);
      await audit('logout', client, { userId: principal.id, detail: { familyId: known.familyId } });
    },

    async me(principal: Principal): Promise<User> {
      const row = await store.findUserById(principal.id);
      if (!row) throw notFound('User');
      return toUser(row);
    },

    async setRole(userId: string, role: Role, by: Principal, client: ClientInfo): Promise<void> {
      if (!(await store.setRole(userId, role))) throw notFound('User');
      await audit('role.changed', client, { userId, detail: { role, by: by.id } });
    },

    /** Creates the configured admin, or promotes the existing account; safe on every start. */
    async bootstrapAdmin(email: string, password: string): Promise<void> {
      const row = await store.upsertAdmin({
        id: uuidv7(),
        email: normaliseEmail(email),
        passwordHash: await hash(password, hashOptions),
        name: 'Administrator',
      });
      await audit(
        'admin.bootstrap',
        {},
        { userId: row.id, email: row.email, detail: { created: row.inserted } },
      );
      deps.logger.info({ email: row.email, created: row.inserted }, 'admin account ensured');
    },

    auditTrail: store.auditTrail,
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
