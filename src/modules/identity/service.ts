import { hash, verify } from '@node-rs/argon2';
import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, DomainError, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import { type Principal, ROLES, type Role } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { userRegistered } from './events.ts';
import type { OidcIdentity } from './oidc.ts';
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

// No whitespace or control characters (PostgreSQL text cannot even hold NUL).
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
const CONTROL_CHARACTER = /\p{Cc}/u;

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
  db: Db;
  store: IdentityStore;
  tokens: TokenService;
  settings: IdentitySettings;
  logger: Logger;
  events: Pick<EventBus, 'append' | 'nudge'>;
}) {
  const { store, tokens, settings, events } = deps;
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

  /** A sign-up: the user and its user.registered event commit together or not at all. */
  async function insertRegisteredUser(
    user: Parameters<IdentityStore['insertUser']>[0],
    via: Parameters<typeof userRegistered>[1],
  ): Promise<UserRow | null> {
    const row = await transact(deps.db, async (tx) => {
      const inserted = await store.insertUser(user, tx);
      if (inserted) await events.append(tx, [userRegistered(inserted, via)]);
      return inserted;
    });
    if (row) events.nudge();
    return row;
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

  function validName(name: string): string {
    const trimmed = name.trim();
    if (!trimmed || CONTROL_CHARACTER.test(trimmed)) {
      throw badRequest('INVALID_NAME', 'Names need visible characters and no control characters', {
        errors: [{ path: '/name', message: 'must have visible characters and no control characters' }],
      });
    }
    return trimmed;
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
      name: validName(input.name),
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
      const row = await insertRegisteredUser(
        {
          id: uuidv7(),
          email: validEmail(input.email),
          passwordHash: await hash(input.password, hashOptions),
          name: validName(input.name),
          role: 'customer',
        },
        { method: 'password' },
      );
      if (!row) throw conflict('EMAIL_TAKEN', 'An account with this email exists');
      await audit('user.registered', client, { userId: row.id, email: row.email });
      return issueTokens(row);
    },

    async login(input: { email: string; password: string }, client: ClientInfo): Promise<TokenPair> {
      const email = normaliseEmail(input.email);
      // A string that is no email address cannot name an account (and may not even be storable).
      const wellFormed = EMAIL.test(email);
      const row = wellFormed ? await store.findUserByEmail(email) : undefined;
      const passwordHash = row?.passwordHash ?? (await dummyHash);
      const matches = await verify(passwordHash, input.password).catch(() => false);
      if (!row?.passwordHash || !matches) {
        await audit('login.failed', client, {
          userId: row?.id,
          email: wellFormed ? email : undefined,
          detail: wellFormed ? undefined : { reason: 'malformed email' },
        });
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

    /**
     * Signs in the person a provider vouched for. A known provider account signs in as its user;
     * otherwise the account is linked by email, but only an email the provider says it verified:
     * an unverified one would let anyone claim an existing account by typing its address.
     */
    async signInWithOidc(identity: OidcIdentity, client: ClientInfo): Promise<TokenPair> {
      const linked = await store.findUserByOidcIdentity(identity.provider, identity.subject);
      if (linked) {
        await audit('login.succeeded', client, {
          userId: linked.id,
          email: linked.email,
          detail: { provider: identity.provider },
        });
        return issueTokens(linked);
      }
      const email = identity.email ? normaliseEmail(identity.email) : undefined;
      if (!email || !identity.emailVerified || !EMAIL.test(email) || email.length > 320) {
        await audit('login.failed', client, {
          email,
          detail: { provider: identity.provider, reason: 'email not verified' },
        });
        throw new DomainError(
          403,
          'EMAIL_NOT_VERIFIED',
          'Email not verified',
          'The provider did not confirm a verified email address for this account',
        );
      }
      let user = await store.findUserByEmail(email);
      if (!user) {
        const created = await insertRegisteredUser(
          {
            id: uuidv7(),
            email,
            passwordHash: null,
            name: identity.name?.trim().slice(0, 200) || email.slice(0, 200),
            role: 'customer',
          },
          { method: 'oidc', provider: identity.provider },
        );
        if (created) {
          await audit('user.registered', client, {
            userId: created.id,
            email,
            detail: { provider: identity.provider },
          });
        }
        // Null means a concurrent sign-in created the account a moment ago.
        user = created ?? (await store.findUserByEmail(email));
        if (!user) throw new Error(`user ${email} vanished while signing in`);
      }
      await store.linkOidcIdentity({
        provider: identity.provider,
        subject: identity.subject,
        userId: user.id,
        email,
      });
      await audit('oidc.linked', client, {
        userId: user.id,
        email,
        detail: { provider: identity.provider, subject: identity.subject },
      });
      await audit('login.succeeded', client, {
        userId: user.id,
        email,
        detail: { provider: identity.provider },
      });
      return issueTokens(user);
    },

    async recordOidcFailure(provider: string, reason: string, client: ClientInfo): Promise<void> {
      await audit('login.failed', client, { detail: { provider, reason } });
    },

    async me(principal: Principal): Promise<User> {
      const row = await store.findUserById(principal.id);
      if (!row) throw notFound('User');
      return toUser(row);
    },

    /** An admin changes someone else's role; their own stays, so the last admin cannot demote itself. */
    async setRole(userId: string, role: Role, by: Principal, client: ClientInfo): Promise<User> {
      if (userId === by.id) throw conflict('OWN_ROLE', 'Admins cannot change their own role');
      const before = await store.findUserById(userId);
      if (!before || !(await store.setRole(userId, role))) throw notFound('User');
      await audit('role.changed', client, { userId, detail: { from: before.role, to: role, by: by.id } });
      return toUser({ ...before, role });
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

    async securityEvents(userId: string, query: { page: number; size: number }) {
      if (!(await store.findUserById(userId))) throw notFound('User');
      const { items, total } = await store.auditPage(userId, {
        offset: (query.page - 1) * query.size,
        limit: query.size,
      });
      return {
        items: items.map((row) => ({
          id: row.id,
          event: row.event,
          at: row.at.toISOString(),
          email: row.email,
          ip: row.ip,
          userAgent: row.userAgent,
          detail: row.detail as Record<string, unknown>,
        })),
        page: query.page,
        size: query.size,
        total,
      };
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
