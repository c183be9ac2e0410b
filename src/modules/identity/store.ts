import type { ExpressionBuilder, Generated, Kysely, RawBuilder } from 'kysely';
import { sql } from 'kysely';
import { type Db, jsonValue, pageOf } from '../../platform/db/index.ts';
import type { Role } from '../../platform/http/auth.ts';

interface UsersTable {
  id: string;
  email: string;
  password_hash: string | null;
  name: string;
  role: Generated<Role>;
  email_verified_at: Date | null;
  erased_at: Date | null;
  token_version: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

interface UserTokensTable {
  token_hash: string;
  purpose: UserTokenPurpose;
  user_id: string;
  email: string;
  detail: unknown;
  expires_at: Date;
  used_at: Date | null;
  created_at: Generated<Date>;
}

interface LoginFailuresTable {
  email: string;
  ip: string;
  failures: number;
  last_failed_at: Date;
  blocked_until: Date;
}

interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  created_at: Generated<Date>;
}

interface SigningKeysTable {
  kid: string;
  private_jwk: unknown;
  public_jwk: unknown;
  created_at: Generated<Date>;
  retired_at: Date | null;
}

interface SecurityAuditTable {
  id: string;
  at: Generated<Date>;
  event: string;
  user_id: string | null;
  email: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: unknown;
}

interface OidcLoginRequestsTable {
  state_hash: string;
  browser_binding_hash: string;
  provider: string;
  code_verifier: string;
  nonce: string;
  expires_at: Date;
  created_at: Generated<Date>;
}

interface OidcIdentitiesTable {
  provider: string;
  subject: string;
  user_id: string;
  email: string | null;
  created_at: Generated<Date>;
}

export type UserTokenPurpose = 'verify_email' | 'link_oidc' | 'reset_password' | 'change_email';

interface UserAddressesTable {
  id: string;
  user_id: string;
  name: string;
  line1: string;
  line2: string | null;
  city: string;
  postal_code: string;
  country: string;
  is_default: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

interface ApiKeysTable {
  id: string;
  name: string;
  scopes: string[];
  secret_hash: string;
  created_by: string;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

interface RolesTable {
  name: string;
  description: Generated<string>;
  permissions: Generated<string[]>;
  built_in: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

interface StaffInvitesTable {
  id: string;
  email: string;
  role: string;
  invited_by: string;
  token_hash: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

export type IdentityTables = {
  roles: RolesTable;
  staff_invites: StaffInvitesTable;
  api_keys: ApiKeysTable;
  user_addresses: UserAddressesTable;
  user_tokens: UserTokensTable;
  login_failures: LoginFailuresTable;
  oidc_login_requests: OidcLoginRequestsTable;
  oidc_identities: OidcIdentitiesTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  security_audit: SecurityAuditTable;
};

export interface UserRow {
  id: string;
  email: string;
  passwordHash: string | null;
  name: string;
  role: Role;
  emailVerifiedAt: Date | null;
  /** Access tokens issued at another version are refused. */
  tokenVersion: number;
  createdAt: Date;
}

export interface AuditEntry {
  id: string;
  event: string;
  userId?: string | null;
  email?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown>;
}

const parseJson = (value: unknown) => jsonValue(value as Record<string, unknown> | string);

const tables = (executor: Db): Kysely<IdentityTables> => executor.withTables<IdentityTables>();

/** A text[] column's value: PGlite may answer its literal ("{a,b}"), node-postgres parses it. */
export const textArray = (value: unknown): string[] =>
  Array.isArray(value)
    ? value
    : String(value)
        .replace(/^\{|\}$/g, '')
        .split(',')
        .filter(Boolean);

const userColumns = [
  'id',
  'email',
  'password_hash as passwordHash',
  'name',
  'role',
  'email_verified_at as emailVerifiedAt',
  'token_version as tokenVersion',
  'created_at as createdAt',
] as const;

/** Revokes the refresh tokens still live of one user or one rotation family. */
async function revokeRefreshTokens(executor: Db, by: 'user_id' | 'family_id', id: string): Promise<void> {
  await tables(executor)
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql`now()` })
    .where(by, '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}

export const identityStore = {
  /** Inserts a user; resolves to null when the email is taken. */
  async insertUser(
    executor: Db,
    user: {
      id: string;
      email: string;
      passwordHash: string | null;
      name: string;
      role: Role;
      /** Set when whoever creates the account vouches for the address (an OpenID provider, the operator). */
      emailVerified?: boolean;
    },
  ): Promise<UserRow | null> {
    // ON CONFLICT rather than catching the unique violation: that would abort the caller's transaction.
    const row = await tables(executor)
      .insertInto('users')
      .values({
        id: user.id,
        email: user.email,
        password_hash: user.passwordHash,
        name: user.name,
        role: user.role,
        email_verified_at: user.emailVerified ? sql<Date>`now()` : null,
      })
      .onConflict((conflict) => conflict.column('email').doNothing())
      .returning(userColumns)
      .executeTakeFirst();
    return row ?? null;
  },

  /**
   * Makes an existing account the configured admin: admin role, the address vouched for by the
   * operator, and — when given — the configured password.
   */
  async promoteToAdmin(executor: Db, id: string, passwordHash: string | undefined): Promise<void> {
    await tables(executor)
      .updateTable('users')
      .set({
        role: 'admin',
        email_verified_at: sql<Date>`coalesce(email_verified_at, now())`,
        ...(passwordHash ? { password_hash: passwordHash } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute();
  },

  /**
   * Raises the user's token version, so every access token issued before stops working; returns
   * the new version (undefined for an unknown user).
   */
  async bumpTokenVersion(executor: Db, userId: string): Promise<number | undefined> {
    const row = await tables(executor)
      .updateTable('users')
      .set((eb) => ({ token_version: eb('token_version', '+', 1), updated_at: sql`now()` }))
      .where('id', '=', userId)
      .returning('token_version')
      .executeTakeFirst();
    return row?.token_version;
  },

  async tokenVersion(executor: Db, userId: string): Promise<number | undefined> {
    const row = await tables(executor)
      .selectFrom('users')
      .select('token_version')
      .where('id', '=', userId)
      .executeTakeFirst();
    return row?.token_version;
  },

  async setPassword(executor: Db, userId: string, passwordHash: string): Promise<void> {
    await tables(executor)
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: sql`now()` })
      .where('id', '=', userId)
      .execute();
  },

  /** Proves the address: only while the account still has the address the proof was for. */
  async markEmailVerified(executor: Db, userId: string, email: string): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('users')
      .set({ email_verified_at: sql<Date>`coalesce(email_verified_at, now())`, updated_at: sql`now()` })
      .where('id', '=', userId)
      .where('email', '=', email)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Every session of the user ends: no refresh token of theirs works again. */
  revokeUserRefreshTokens: (executor: Db, userId: string) => revokeRefreshTokens(executor, 'user_id', userId),

  async insertUserToken(
    executor: Db,
    token: {
      hash: string;
      purpose: UserTokenPurpose;
      userId: string;
      email: string;
      detail?: Record<string, unknown>;
      expiresAt: Date;
    },
  ): Promise<void> {
    // Expired tokens are swept here, so the table stays as small as the tokens still usable.
    await tables(executor).deleteFrom('user_tokens').where('expires_at', '<=', sql<Date>`now()`).execute();
    await tables(executor)
      .insertInto('user_tokens')
      .values({
        token_hash: token.hash,
        purpose: token.purpose,
        user_id: token.userId,
        email: token.email,
        detail: JSON.stringify(token.detail ?? {}),
        expires_at: token.expiresAt,
      })
      .execute();
  },

  /** A live token of this purpose, without spending it. */
  async findUserToken(executor: Db, hash: string, purpose: UserTokenPurpose) {
    const row = await tables(executor)
      .selectFrom('user_tokens')
      .select(['user_id as userId', 'email', 'detail'])
      .where('token_hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row && { ...row, detail: parseJson(row.detail) };
  },

  /** Spends a live token in one conditional update: of two concurrent uses exactly one gets it. */
  async spendUserToken(executor: Db, hash: string, purpose: UserTokenPurpose) {
    const row = await tables(executor)
      .updateTable('user_tokens')
      .set({ used_at: sql`now()` })
      .where('token_hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['user_id as userId', 'email', 'detail'])
      .executeTakeFirst();
    return row && { ...row, detail: parseJson(row.detail) };
  },

  /** Sets the account's address (unproven until proveEmail); false when another account has it. */
  async changeEmail(executor: Db, userId: string, email: string): Promise<boolean> {
    const taken = await tables(executor)
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .where('id', '<>', userId)
      .executeTakeFirst();
    if (taken) return false;
    await tables(executor)
      .updateTable('users')
      .set({ email, email_verified_at: null, updated_at: sql`now()` })
      .where('id', '=', userId)
      .execute();
    return true;
  },

  /** Spends every live token of this purpose the user holds (a reset done makes the other links worthless). */
  async spendUserTokens(executor: Db, userId: string, purpose: UserTokenPurpose): Promise<void> {
    await tables(executor)
      .updateTable('user_tokens')
      .set({ used_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
  },

  /** Until when this account and address must wait before trying a password again. */
  async loginBlockedUntil(executor: Db, email: string, ip: string): Promise<Date | undefined> {
    const row = await tables(executor)
      .selectFrom('login_failures')
      .select('blocked_until')
      .where('email', '=', email)
      .where('ip', '=', ip)
      .where('blocked_until', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row?.blocked_until;
  },

  /**
   * Counts a failed sign-in of the pair in one statement (concurrent failures all count). After
   * `free` failures each one doubles the wait, up to `maxWaitSeconds`; a pair that has not failed
   * for `forgetAfterSeconds` starts afresh.
   */
  async recordLoginFailure(
    executor: Db,
    email: string,
    ip: string,
    policy: { free: number; maxWaitSeconds: number; forgetAfterSeconds: number },
  ): Promise<void> {
    const { free, maxWaitSeconds, forgetAfterSeconds } = policy;
    // The failures this one makes: 1 again once the pair was quiet long enough.
    const failures = sql<number>`case when login_failures.last_failed_at < now() - make_interval(secs => ${forgetAfterSeconds})
      then 1 else login_failures.failures + 1 end`;
    const waitFor = (count: RawBuilder<number>) =>
      sql<Date>`now() + make_interval(secs => case when ${count} <= ${free} then 0
        else least(${maxWaitSeconds}::float8, power(2, least(${count} - ${free} - 1, 30))) end)`;
    await tables(executor)
      .insertInto('login_failures')
      .values({
        email,
        ip,
        failures: 1,
        last_failed_at: sql<Date>`now()`,
        blocked_until: waitFor(sql<number>`1`),
      })
      .onConflict((conflict) =>
        conflict.columns(['email', 'ip']).doUpdateSet({
          failures,
          last_failed_at: sql<Date>`now()`,
          blocked_until: waitFor(failures),
        }),
      )
      .execute();
  },

  async clearLoginFailures(executor: Db, email: string, ip: string): Promise<void> {
    await tables(executor)
      .deleteFrom('login_failures')
      .where('email', '=', email)
      .where('ip', '=', ip)
      .execute();
  },

  findUserByEmail(executor: Db, email: string): Promise<UserRow | undefined> {
    return tables(executor)
      .selectFrom('users')
      .select(userColumns)
      .where('email', '=', email)
      .executeTakeFirst();
  },

  findUserById(executor: Db, id: string): Promise<UserRow | undefined> {
    return tables(executor).selectFrom('users').select(userColumns).where('id', '=', id).executeTakeFirst();
  },

  /** Staff and admin accounts, oldest first, at most `limit`. */
  /** Customer accounts, a page of them, whose email or name contains `q` (any case). */
  listCustomers(
    executor: Db,
    filter: { q?: string },
    page: { offset: number; limit: number },
    direction: 'asc' | 'desc',
  ): Promise<{ rows: UserRow[]; total: number }> {
    let query = tables(executor)
      .selectFrom('users')
      .where('role', '=', 'customer')
      .where('erased_at', 'is', null);
    if (filter.q) {
      // The shopper's text is matched literally: %, _ and \ in it are not patterns.
      const pattern = `%${filter.q.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
      query = query.where((eb) => eb.or([eb('email', 'ilike', pattern), eb('name', 'ilike', pattern)]));
    }
    return pageOf(query, (filtered) => filtered.select(userColumns), page, { by: 'created_at', direction });
  },

  staff(executor: Db, limit: number): Promise<Array<{ id: string; email: string }>> {
    return tables(executor)
      .selectFrom('users')
      .select(['id', 'email'])
      .where('role', '<>', 'customer')
      .orderBy('created_at')
      .limit(limit)
      .execute();
  },

  async hasAdmin(executor: Db): Promise<boolean> {
    return !!(await tables(executor)
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .limit(1)
      .executeTakeFirst());
  },

  async setRole(executor: Db, id: string, role: Role): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('users')
      .set({ role, updated_at: sql`now()` })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async insertRefreshToken(
    executor: Db,
    token: {
      id: string;
      userId: string;
      familyId: string;
      hash: string;
      expiresAt: Date;
    },
  ) {
    await tables(executor)
      .insertInto('refresh_tokens')
      .values({
        id: token.id,
        user_id: token.userId,
        family_id: token.familyId,
        token_hash: token.hash,
        expires_at: token.expiresAt,
      })
      .execute();
  },

  /**
   * Marks a live refresh token used in one conditional update, so two concurrent refreshes with
   * the same token cannot both succeed: exactly one gets the row back.
   */
  spendRefreshToken(executor: Db, hash: string) {
    return tables(executor)
      .updateTable('refresh_tokens')
      .set({ used_at: sql`now()` })
      .where('token_hash', '=', hash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['user_id as userId', 'family_id as familyId'])
      .executeTakeFirst();
  },

  findRefreshToken(executor: Db, hash: string) {
    return tables(executor)
      .selectFrom('refresh_tokens')
      .select(['user_id as userId', 'family_id as familyId', 'used_at as usedAt', 'revoked_at as revokedAt'])
      .where('token_hash', '=', hash)
      .executeTakeFirst();
  },

  revokeFamily: (executor: Db, familyId: string) => revokeRefreshTokens(executor, 'family_id', familyId),

  activeSigningKeys(executor: Db) {
    return tables(executor)
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk as privateJwk', 'public_jwk as publicJwk', 'created_at as createdAt'])
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
  },

  async insertSigningKey(
    executor: Db,
    key: { kid: string; privateJwk: unknown; publicJwk: unknown },
  ): Promise<void> {
    await tables(executor)
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        private_jwk: JSON.stringify(key.privateJwk),
        public_jwk: JSON.stringify(key.publicJwk),
      })
      .onConflict((conflict) => conflict.column('kid').doNothing())
      .execute();
  },

  async insertOidcLoginRequest(
    executor: Db,
    request: {
      stateHash: string;
      browserBindingHash: string;
      provider: string;
      codeVerifier: string;
      nonce: string;
      expiresAt: Date;
    },
  ): Promise<void> {
    // Abandoned sign-ins are swept here, so the table stays as small as the sign-ins in flight.
    await tables(executor)
      .deleteFrom('oidc_login_requests')
      .where('expires_at', '<=', sql<Date>`now()`)
      .execute();
    await tables(executor)
      .insertInto('oidc_login_requests')
      .values({
        state_hash: request.stateHash,
        browser_binding_hash: request.browserBindingHash,
        provider: request.provider,
        code_verifier: request.codeVerifier,
        nonce: request.nonce,
        expires_at: request.expiresAt,
      })
      .execute();
  },

  /** Removes and returns a live sign-in request: a state works once, for its provider only. */
  takeOidcLoginRequest(executor: Db, stateHash: string, provider: string) {
    return tables(executor)
      .deleteFrom('oidc_login_requests')
      .where('state_hash', '=', stateHash)
      .where('provider', '=', provider)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['code_verifier as codeVerifier', 'nonce', 'browser_binding_hash as browserBindingHash'])
      .executeTakeFirst();
  },

  async findUserByOidcIdentity(
    executor: Db,
    provider: string,
    subject: string,
  ): Promise<UserRow | undefined> {
    return tables(executor)
      .selectFrom('oidc_identities')
      .innerJoin('users', 'users.id', 'oidc_identities.user_id')
      .select([
        'users.id',
        'users.email',
        'users.password_hash as passwordHash',
        'users.name',
        'users.role',
        'users.email_verified_at as emailVerifiedAt',
        'users.token_version as tokenVersion',
        'users.created_at as createdAt',
      ])
      .where('oidc_identities.provider', '=', provider)
      .where('oidc_identities.subject', '=', subject)
      .executeTakeFirst();
  },

  async linkOidcIdentity(
    executor: Db,
    link: { provider: string; subject: string; userId: string; email: string },
  ) {
    await tables(executor)
      .insertInto('oidc_identities')
      .values({ provider: link.provider, subject: link.subject, user_id: link.userId, email: link.email })
      .onConflict((conflict) => conflict.columns(['provider', 'subject']).doNothing())
      .execute();
  },

  async audit(executor: Db, entry: AuditEntry): Promise<void> {
    await tables(executor)
      .insertInto('security_audit')
      .values({
        id: entry.id,
        event: entry.event,
        user_id: entry.userId ?? null,
        email: entry.email ?? null,
        ip: entry.ip ?? null,
        user_agent: entry.userAgent ?? null,
        detail: JSON.stringify(entry.detail ?? {}),
      })
      .execute();
  },

  /**
   * Erases an account's personal data in the caller's transaction: the row keeps its id and
   * role but no address, name or password; its addresses, pending links, provider links and
   * sign-in failures go; its security log keeps what happened and when, not from where.
   * False when it was erased already.
   */
  async eraseUser(executor: Db, user: { id: string; email: string }): Promise<boolean> {
    const erased = await tables(executor)
      .updateTable('users')
      .set({
        email: `erased-${user.id}@erased.invalid`,
        name: 'Erased customer',
        password_hash: null,
        email_verified_at: null,
        erased_at: sql<Date>`now()`,
        updated_at: sql`now()`,
      })
      .where('id', '=', user.id)
      .where('erased_at', 'is', null)
      .executeTakeFirst();
    if (erased.numUpdatedRows === 0n) return false;
    const db = tables(executor);
    await db.deleteFrom('user_addresses').where('user_id', '=', user.id).execute();
    await db.deleteFrom('user_tokens').where('user_id', '=', user.id).execute();
    await db.deleteFrom('oidc_identities').where('user_id', '=', user.id).execute();
    await db.deleteFrom('login_failures').where('email', '=', user.email).execute();
    await db
      .updateTable('security_audit')
      .set({ email: null, ip: null, user_agent: null, detail: '{}' })
      .where('user_id', '=', user.id)
      .execute();
    return true;
  },

  /** One user's security events, newest first, a page at a time. */
  async auditPage(executor: Db, userId: string, page: { offset: number; limit: number }) {
    const { rows, total } = await pageOf(
      tables(executor).selectFrom('security_audit').where('user_id', '=', userId),
      (filtered) =>
        filtered.select(['id', 'event', 'email', 'ip', 'user_agent as userAgent', 'detail', 'at']),
      page,
      { by: 'at', direction: 'desc' },
    );
    return { items: rows, total };
  },

  auditTrail(executor: Db, filter: { userId?: string; email?: string }) {
    let query = tables(executor)
      .selectFrom('security_audit')
      .select(['event', 'user_id as userId', 'email', 'ip', 'user_agent as userAgent', 'detail', 'at'])
      .orderBy('at')
      .orderBy('id');
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.email) query = query.where('email', '=', filter.email);
    return query.execute();
  },
};

/** A saved address, as the address book keeps it. */
export interface AddressRow {
  id: string;
  name: string;
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string;
  country: string;
  isDefault: boolean;
  createdAt: Date;
}

export type AddressFields = Omit<AddressRow, 'id' | 'isDefault' | 'createdAt'>;

const addressColumns = [
  'id',
  'name',
  'line1',
  'line2',
  'city',
  'postal_code as postalCode',
  'country',
  'is_default as isDefault',
  'created_at as createdAt',
] as const;

const addressValues = (fields: Partial<AddressFields>) => ({
  ...(fields.name !== undefined ? { name: fields.name } : {}),
  ...(fields.line1 !== undefined ? { line1: fields.line1 } : {}),
  ...(fields.line2 !== undefined ? { line2: fields.line2 } : {}),
  ...(fields.city !== undefined ? { city: fields.city } : {}),
  ...(fields.postalCode !== undefined ? { postal_code: fields.postalCode } : {}),
  ...(fields.country !== undefined ? { country: fields.country } : {}),
});

export const addressStore = {
  /** The user's addresses, the default first, then oldest first. */
  list(executor: Db, userId: string): Promise<AddressRow[]> {
    return tables(executor)
      .selectFrom('user_addresses')
      .select(addressColumns)
      .where('user_id', '=', userId)
      .orderBy('is_default', 'desc')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },

  /**
   * Adds an address unless the user already has `limit` (counted in the same statement, under the
   * user's row lock so two adds cannot both slip under it); undefined when full.
   */
  async insert(
    executor: Db,
    userId: string,
    address: AddressFields & { id: string; isDefault: boolean },
    limit: number,
  ): Promise<AddressRow | undefined> {
    await tables(executor).selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
    const { count } = await tables(executor)
      .selectFrom('user_addresses')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    if (Number(count) >= limit) return undefined;
    // The first address is the default whatever was asked.
    const isDefault = address.isDefault || Number(count) === 0;
    if (isDefault) await addressStore.clearDefault(executor, userId);
    return tables(executor)
      .insertInto('user_addresses')
      .values({
        id: address.id,
        user_id: userId,
        name: address.name,
        line1: address.line1,
        line2: address.line2,
        city: address.city,
        postal_code: address.postalCode,
        country: address.country,
        is_default: isDefault,
      })
      .returning(addressColumns)
      .executeTakeFirstOrThrow();
  },

  async update(
    executor: Db,
    userId: string,
    id: string,
    fields: Partial<AddressFields> & { isDefault?: boolean },
  ): Promise<AddressRow | undefined> {
    if (fields.isDefault) await addressStore.clearDefault(executor, userId);
    return tables(executor)
      .updateTable('user_addresses')
      .set({
        ...addressValues(fields),
        ...(fields.isDefault !== undefined ? { is_default: fields.isDefault } : {}),
        updated_at: sql`now()`,
      })
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .returning(addressColumns)
      .executeTakeFirst();
  },

  async remove(executor: Db, userId: string, id: string): Promise<boolean> {
    const result = await tables(executor)
      .deleteFrom('user_addresses')
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  },

  async clearDefault(executor: Db, userId: string): Promise<void> {
    await tables(executor)
      .updateTable('user_addresses')
      .set({ is_default: false })
      .where('user_id', '=', userId)
      .where('is_default', '=', true)
      .execute();
  },
};

export interface ApiKeyRow {
  id: string;
  name: string;
  scopes: string[];
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const apiKeyColumns = [
  'id',
  'name',
  'scopes',
  'created_by as createdBy',
  'created_at as createdAt',
  'last_used_at as lastUsedAt',
  'revoked_at as revokedAt',
] as const;

export const apiKeyStore = {
  insert(
    executor: Db,
    key: { id: string; name: string; scopes: string[]; secretHash: string; createdBy: string },
  ): Promise<ApiKeyRow> {
    return tables(executor)
      .insertInto('api_keys')
      .values({
        id: key.id,
        name: key.name,
        scopes: sql<string[]>`${sql.val(key.scopes)}::text[]`,
        secret_hash: key.secretHash,
        created_by: key.createdBy,
      })
      .returning(apiKeyColumns)
      .executeTakeFirstOrThrow();
  },

  /** Every key, newest first, revoked ones too (they show when they stopped). */
  list(executor: Db): Promise<ApiKeyRow[]> {
    return tables(executor)
      .selectFrom('api_keys')
      .select(apiKeyColumns)
      .orderBy('created_at', 'desc')
      .execute();
  },

  /**
   * The key whose secret hashes so, with its last use noted in the same statement (at most once a
   * minute: a busy integration does not rewrite the row on every request).
   */
  async use(executor: Db, secretHash: string): Promise<ApiKeyRow | undefined> {
    const touched = await tables(executor)
      .updateTable('api_keys')
      .set({ last_used_at: sql<Date>`now()` })
      .where('secret_hash', '=', secretHash)
      .where('revoked_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb('last_used_at', 'is', null),
          eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`),
        ]),
      )
      .returning(apiKeyColumns)
      .executeTakeFirst();
    return (
      touched ??
      tables(executor)
        .selectFrom('api_keys')
        .select(apiKeyColumns)
        .where('secret_hash', '=', secretHash)
        .executeTakeFirst()
    );
  },

  async revoke(executor: Db, id: string): Promise<ApiKeyRow | undefined> {
    return tables(executor)
      .updateTable('api_keys')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where('id', '=', id)
      .returning(apiKeyColumns)
      .executeTakeFirst();
  },
};

export interface RoleRow {
  name: string;
  description: string;
  permissions: unknown;
  builtIn: boolean;
  members: number;
}

const roleColumns = [
  'roles.name',
  'roles.description',
  'roles.permissions',
  'roles.built_in as builtIn',
] as const;

export const roleStore = {
  /** Every role with how many accounts hold it, oldest first. */
  list(executor: Db): Promise<RoleRow[]> {
    return tables(executor)
      .selectFrom('roles')
      .select([
        ...roleColumns,
        (eb) =>
          eb
            .selectFrom('users')
            .select(sql<number>`count(*)::int`.as('count'))
            .whereRef('users.role', '=', 'roles.name')
            .where('users.erased_at', 'is', null)
            .as('members'),
      ])
      .orderBy('roles.created_at')
      .orderBy('roles.name')
      .execute() as Promise<RoleRow[]>;
  },

  find(executor: Db, name: string) {
    return tables(executor)
      .selectFrom('roles')
      .select(roleColumns)
      .where('name', '=', name)
      .executeTakeFirst();
  },

  /** Inserts a role; resolves to false when the name is taken. */
  async insert(
    executor: Db,
    role: { name: string; description: string; permissions: readonly string[] },
  ): Promise<boolean> {
    const row = await tables(executor)
      .insertInto('roles')
      .values({
        name: role.name,
        description: role.description,
        permissions: sql<string[]>`${sql.val([...role.permissions])}::text[]`,
      })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .returning('name')
      .executeTakeFirst();
    return !!row;
  },

  /** Changes a role an admin made (built-in ones never change); false when there is none. */
  async update(
    executor: Db,
    name: string,
    change: { description?: string; permissions?: readonly string[] },
  ): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('roles')
      .set({
        ...(change.description !== undefined ? { description: change.description } : {}),
        ...(change.permissions
          ? { permissions: sql<string[]>`${sql.val([...change.permissions])}::text[]` }
          : {}),
        updated_at: sql`now()`,
      })
      .where('name', '=', name)
      .where('built_in', '=', false)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Deletes a role no account and no open invitation holds; 'in_use' when one does. */
  async delete(executor: Db, name: string): Promise<'deleted' | 'in_use' | 'missing'> {
    const used = await tables(executor)
      .selectFrom('users')
      .select('id')
      .where('role', '=', name)
      .union(
        tables(executor)
          .selectFrom('staff_invites')
          .select('id')
          .where('role', '=', name)
          .where('accepted_at', 'is', null)
          .where('revoked_at', 'is', null),
      )
      .limit(1)
      .executeTakeFirst();
    if (used) return 'in_use';
    // Spent invitations name the role too; they go with it.
    await tables(executor).deleteFrom('staff_invites').where('role', '=', name).execute();
    try {
      const result = await tables(executor)
        .deleteFrom('roles')
        .where('name', '=', name)
        .where('built_in', '=', false)
        .executeTakeFirst();
      return result.numDeletedRows > 0n ? 'deleted' : 'missing';
    } catch (error) {
      // Given to someone since the check above: the foreign key keeps the role.
      if ((error as { code?: string }).code === '23503') return 'in_use';
      throw error;
    }
  },

  /** Accounts that are not customers, oldest first: the shop's people. */
  staff(executor: Db, limit: number): Promise<UserRow[]> {
    return tables(executor)
      .selectFrom('users')
      .select(userColumns)
      .where('role', '<>', 'customer')
      .where('erased_at', 'is', null)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  },
};

export interface InviteRow {
  id: string;
  email: string;
  role: string;
  invitedBy: string;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

const inviteColumns = [
  'id',
  'email',
  'role',
  'invited_by as invitedBy',
  'created_at as createdAt',
  'expires_at as expiresAt',
  'accepted_at as acceptedAt',
  'revoked_at as revokedAt',
] as const;

/** Not yet accepted, revoked or expired. */
const isOpen = (eb: ExpressionBuilder<IdentityTables, 'staff_invites'>) =>
  eb.and([
    eb('accepted_at', 'is', null),
    eb('revoked_at', 'is', null),
    eb('expires_at', '>', sql<Date>`now()`),
  ]);

export const inviteStore = {
  insert(
    executor: Db,
    invite: { id: string; email: string; role: string; invitedBy: string; expiresAt: Date },
  ): Promise<InviteRow> {
    return tables(executor)
      .insertInto('staff_invites')
      .values({
        id: invite.id,
        email: invite.email,
        role: invite.role,
        invited_by: invite.invitedBy,
        expires_at: invite.expiresAt,
      })
      .returning(inviteColumns)
      .executeTakeFirstOrThrow();
  },

  /** Invitations not yet accepted, revoked or expired, newest first. */
  pending(executor: Db): Promise<InviteRow[]> {
    return tables(executor)
      .selectFrom('staff_invites')
      .select(inviteColumns)
      .where(isOpen)
      .orderBy('created_at', 'desc')
      .execute();
  },

  /** Gives an open invitation the hash of a newly mailed token (older links stop working). */
  async setToken(executor: Db, id: string, tokenHash: string): Promise<InviteRow | undefined> {
    return tables(executor)
      .updateTable('staff_invites')
      .set({ token_hash: tokenHash })
      .where('id', '=', id)
      .where(isOpen)
      .returning(inviteColumns)
      .executeTakeFirst();
  },

  findOpen(executor: Db, tokenHash: string): Promise<InviteRow | undefined> {
    return tables(executor)
      .selectFrom('staff_invites')
      .select(inviteColumns)
      .where('token_hash', '=', tokenHash)
      .where(isOpen)
      .executeTakeFirst();
  },

  /** Spends the open invitation whose link carries this token, in one conditional update. */
  spend(executor: Db, tokenHash: string): Promise<InviteRow | undefined> {
    return tables(executor)
      .updateTable('staff_invites')
      .set({ accepted_at: sql<Date>`now()`, token_hash: null })
      .where('token_hash', '=', tokenHash)
      .where(isOpen)
      .returning(inviteColumns)
      .executeTakeFirst();
  },

  async revoke(executor: Db, id: string): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('staff_invites')
      .set({ revoked_at: sql<Date>`now()`, token_hash: null })
      .where('id', '=', id)
      .where(isOpen)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },
};
