import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { type Db, transact } from '../../platform/db/index.ts';
import { emailAddressOf, isEmailAddress, normaliseEmail } from '../../platform/email-address.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { Permission, Principal, Role } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../platform/opaque-token.ts';
import {
  accountLinkRequired,
  emailNotVerified,
  emailTaken,
  invalidCredentials,
  invalidRefreshToken,
  tokenInvalid,
  tooManyGuesses,
  unknownRole,
} from './errors.ts';
import {
  accountErased,
  emailChanged,
  emailChangeRequested,
  emailVerified,
  passwordResetRequested,
  sessionsRevoked,
  staffInvited,
  userRegistered,
  verificationRequested,
} from './events.ts';
import type { OidcIdentity } from './oidc.ts';
import { assertHeld, type Roles } from './roles.ts';
import type { TokenVersions } from './sessions.ts';
import { type InviteRow, inviteStore, roleStore, identityStore as store, type UserRow } from './store.ts';
import type { TokenService } from './tokens.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  /** Whether the address is proven (a link from our email opened, or vouched for by a provider). */
  emailVerified: boolean;
  createdAt: string;
}

/** The signed-in user's own account, with what their role lets them do (the console's menus). */
export interface Me extends User {
  permissions: Permission[];
}

/** An invitation to join the staff, as the staff managing it see it. */
export interface StaffInvite {
  id: string;
  email: string;
  role: Role;
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
}

export interface TokenPair {
  user: Me;
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
/** A generated first admin password: 96 bits, 16 characters. */
const FIRST_ADMIN_PASSWORD_BYTES = 12;

/** How long an emailed password reset link works. */
const PASSWORD_RESET_TTL_MS = 60 * 60 * 1000;
/** How long an emailed verification link works. */
export const EMAIL_VERIFICATION_TTL_MS = 24 * 3600_000;
/** The staff list shows at most this many accounts. */
const MAX_STAFF_LISTED = 500;
/** How long an invitation to join the staff works. */
const STAFF_INVITE_TTL_MS = 7 * 24 * 3600_000;
/** How long a sign-in with a provider may wait for the account's password to link them. */
const OIDC_LINK_TTL_MS = 10 * 60_000;

/**
 * Back-off of password guesses per account and client address: a few free failures, then each
 * doubles the wait (1 s, 2 s, 4 s … at most 15 min); quiet for an hour, the pair starts afresh.
 * The account's owner signing in from another address is never held up by someone else's guesses.
 */
export const LOGIN_BACKOFF = { free: 5, maxWaitSeconds: 900, forgetAfterSeconds: 3600 };

// No whitespace or control characters (PostgreSQL text cannot even hold NUL).
const CONTROL_CHARACTER = /\p{Cc}/u;

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    emailVerified: row.emailVerifiedAt !== null,
    createdAt: row.createdAt.toISOString(),
  };
}

const toInvite = (row: InviteRow): StaffInvite => ({
  id: row.id,
  email: row.email,
  role: row.role,
  invitedBy: row.invitedBy,
  createdAt: row.createdAt.toISOString(),
  expiresAt: row.expiresAt.toISOString(),
});

export function createIdentityService(deps: {
  db: Db;
  roles: Roles;
  tokens: TokenService;
  versions: TokenVersions;
  settings: IdentitySettings;
  logger: Logger;
  events: Pick<EventBus, 'append' | 'nudge'>;
}) {
  const { db, tokens, versions, settings, events, roles } = deps;
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
  ) => store.audit(db, { id: uuidv7(), event, ip: client.ip, userAgent: client.userAgent, ...fields });

  const withPermissions = async (row: UserRow): Promise<Me> => ({
    ...toUser(row),
    permissions: [...(await roles.permissionsOf(row.role))],
  });

  async function issueTokens(user: UserRow, familyId: string = uuidv7()): Promise<TokenPair> {
    const refresh = newOpaqueToken();
    await store.insertRefreshToken(db, {
      id: uuidv7(),
      userId: user.id,
      familyId,
      hash: refresh.hash,
      expiresAt: new Date(Date.now() + settings.refreshTokenTtlSeconds * 1000),
    });
    return {
      user: await withPermissions(user),
      accessToken: await tokens.sign({ id: user.id, role: user.role }, user.tokenVersion),
      refreshToken: refresh.token,
      expiresIn: settings.accessTokenTtlSeconds,
      tokenType: 'Bearer',
    };
  }

  /**
   * Ends every access token the user holds now, on the next request of each, and closes their
   * streams: raises the token version with `change` (the credential or right that changed) in one
   * transaction, with the event the stream module acts on. Returns the user's new version.
   */
  async function revokeAccessTokens(
    userId: string,
    reason:
      | 'logout'
      | 'password_changed'
      | 'password_reset'
      | 'role_changed'
      | 'admin_bootstrap'
      | 'account_erased',
    change: (tx: Db) => Promise<void> = async () => {},
  ): Promise<number> {
    const version = await transact(db, async (tx) => {
      await change(tx);
      const raised = await store.bumpTokenVersion(tx, userId);
      if (raised === undefined) throw notFound('User');
      await events.append(tx, [sessionsRevoked(userId, reason)]);
      return raised;
    });
    events.nudge();
    await versions.raised(userId, version);
    return version;
  }

  /** A verified admin account with this password; null when the address is taken. */
  const insertAdmin = async (email: string, password: string) =>
    store.insertUser(db, {
      id: uuidv7(),
      email,
      passwordHash: await hash(password, hashOptions),
      name: 'Administrator',
      role: 'admin',
      emailVerified: true,
    });

  async function checkPassword(row: UserRow | undefined, password: string): Promise<boolean> {
    const passwordHash = row?.passwordHash ?? (await dummyHash);
    // A failing verify (a corrupt hash, memory) is an error to see, not a wrong password.
    const matches = await verify(passwordHash, password);
    return Boolean(row?.passwordHash) && matches;
  }

  /**
   * A password check under the back-off of its account and client address (sign-in, password
   * change, provider link): refused outright while the pair must wait; a failure lengthens the
   * wait, a success clears it.
   */
  async function passwordMatches(
    row: UserRow | undefined,
    email: string,
    password: string,
    client: ClientInfo,
  ): Promise<boolean> {
    const ip = client.ip ?? 'unknown';
    const blockedUntil = await store.loginBlockedUntil(db, email, ip);
    if (blockedUntil) throw tooManyGuesses(blockedUntil);
    const matches = await checkPassword(row, password);
    if (matches) await store.clearLoginFailures(db, email, ip);
    else await store.recordLoginFailure(db, email, ip, LOGIN_BACKOFF);
    return matches;
  }

  /** The address is proven: marked so, with its user.email_verified event (inside the caller's transaction). */
  async function proveEmail(tx: Db, userId: string, email: string): Promise<boolean> {
    if (!(await store.markEmailVerified(tx, userId, email))) return false;
    await events.append(tx, [emailVerified(userId, email)]);
    return true;
  }

  /** proveEmail in a transaction of its own. */
  async function proveEmailNow(userId: string, email: string): Promise<boolean> {
    const proven = await transact(db, (tx) => proveEmail(tx, userId, email));
    if (proven) events.nudge();
    return proven;
  }

  /** A sign-up: the user and its user.registered event commit together or not at all. */
  async function insertRegisteredUser(
    user: Parameters<typeof store.insertUser>[1],
    via: Parameters<typeof userRegistered>[1],
  ): Promise<UserRow | null> {
    const row = await transact(db, async (tx) => {
      const inserted = await store.insertUser(tx, user);
      if (inserted) {
        await events.append(tx, [
          userRegistered(inserted, via),
          ...(user.emailVerified ? [emailVerified(inserted.id, inserted.email)] : []),
        ]);
      }
      return inserted;
    });
    if (row) events.nudge();
    return row;
  }

  function validEmail(raw: string): string {
    return emailAddressOf(raw, 'This is not an email address');
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

  function validatePassword(password: string, path = '/password'): void {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw badRequest('PASSWORD_TOO_SHORT', `Passwords need at least ${MIN_PASSWORD_LENGTH} characters`, {
        errors: [{ path, message: `must have at least ${MIN_PASSWORD_LENGTH} characters` }],
      });
    }
  }

  async function createUser(input: {
    email: string;
    password: string;
    name: string;
    role: string;
  }): Promise<User> {
    if (!(await roles.exists(input.role))) throw unknownRole(input.role);
    validatePassword(input.password);
    const row = await store.insertUser(db, {
      id: uuidv7(),
      email: validEmail(input.email),
      passwordHash: await hash(input.password, hashOptions),
      name: validName(input.name),
      role: input.role,
    });
    if (!row) throw emailTaken();
    return toUser(row);
  }

  async function linkAndSignIn(
    user: UserRow,
    provider: string,
    subject: string,
    client: ClientInfo,
  ): Promise<TokenPair> {
    await store.linkOidcIdentity(db, { provider, subject, userId: user.id, email: user.email });
    await audit('oidc.linked', client, { userId: user.id, email: user.email, detail: { provider, subject } });
    await audit('login.succeeded', client, { userId: user.id, email: user.email, detail: { provider } });
    return issueTokens(user);
  }

  /**
   * A single-use token for a mailed link to `email`; undefined when the link is no longer wanted
   * (by default: when the account no longer has that address).
   */
  async function issueMailedToken(
    userId: string,
    email: string,
    purpose: 'verify_email' | 'reset_password' | 'change_email',
    ttlMs: number,
    wanted: (user: UserRow) => boolean = (user) => user.email === email,
  ): Promise<string | undefined> {
    const user = await store.findUserById(db, userId);
    if (!user || !wanted(user)) return undefined;
    const token = newOpaqueToken();
    await store.insertUserToken(db, {
      hash: token.hash,
      purpose,
      userId,
      email,
      expiresAt: new Date(Date.now() + ttlMs),
    });
    return token.token;
  }

  async function userById(id: string): Promise<User> {
    const row = await store.findUserById(db, id);
    if (!row) throw notFound('User');
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
      if (!row) throw emailTaken();
      await audit('user.registered', client, { userId: row.id, email: row.email });
      return issueTokens(row);
    },

    async login(input: { email: string; password: string }, client: ClientInfo): Promise<TokenPair> {
      const email = normaliseEmail(input.email);
      // A string that is no email address cannot name an account (and may not even be storable).
      const wellFormed = isEmailAddress(email);
      const row = wellFormed ? await store.findUserByEmail(db, email) : undefined;
      const matches = wellFormed
        ? await passwordMatches(row, email, input.password, client)
        : await checkPassword(undefined, input.password);
      if (!row || !matches) {
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
      const tokenHash = hashOpaqueToken(refreshToken);
      const spent = await store.spendRefreshToken(db, tokenHash);
      if (!spent) {
        const known = await store.findRefreshToken(db, tokenHash);
        if (known && (known.usedAt || known.revokedAt)) {
          await store.revokeFamily(db, known.familyId);
          await audit('refresh.reused', client, {
            userId: known.userId,
            detail: { familyId: known.familyId },
          });
        }
        throw invalidRefreshToken();
      }
      const user = await store.findUserById(db, spent.userId);
      if (!user) throw invalidRefreshToken();
      return issueTokens(user, spent.familyId);
    },

    /**
     * Ends the session: its refresh token family is revoked, and every access token of the user
     * stops working at once (other devices renew theirs with their own refresh tokens).
     */
    async logout(principal: Principal, refreshToken: string, client: ClientInfo): Promise<void> {
      const known = await store.findRefreshToken(db, hashOpaqueToken(refreshToken));
      // Another user's token or an unknown one: nothing to revoke, and nothing to reveal.
      if (!known || known.userId !== principal.id) return;
      await revokeAccessTokens(principal.id, 'logout', (tx) => store.revokeFamily(tx, known.familyId));
      await audit('logout', client, { userId: principal.id, detail: { familyId: known.familyId } });
    },

    /**
     * Changes the password after proving the current one: every session of the user ends (refresh
     * tokens revoked, access tokens refused), and this device gets a new pair.
     */
    async changePassword(
      principal: Principal,
      input: { currentPassword: string; newPassword: string },
      client: ClientInfo,
    ): Promise<TokenPair> {
      const row = await store.findUserById(db, principal.id);
      if (!row) throw notFound('User');
      if (!(await passwordMatches(row, row.email, input.currentPassword, client))) {
        await audit('password.change_failed', client, { userId: row.id, email: row.email });
        throw invalidCredentials('The current password is wrong');
      }
      validatePassword(input.newPassword, '/newPassword');
      const passwordHash = await hash(input.newPassword, hashOptions);
      const version = await revokeAccessTokens(row.id, 'password_changed', async (tx) => {
        await store.setPassword(tx, row.id, passwordHash);
        await store.revokeUserRefreshTokens(tx, row.id);
      });
      await audit('password.changed', client, { userId: row.id, email: row.email });
      return issueTokens({ ...row, passwordHash, tokenVersion: version });
    },

    /**
     * The owner erases their account, password confirmed: its personal data goes at once (see
     * eraseUser), every session ends, and user.erased asks the other modules to erase theirs.
     * Staff accounts are not erased this way: an admin takes their rights first.
     */
    async eraseAccount(principal: Principal, password: string, client: ClientInfo): Promise<void> {
      const row = await store.findUserById(db, principal.id);
      if (!row) throw notFound('User');
      if (row.role !== 'customer')
        throw conflict(
          'STAFF_ACCOUNT',
          'A staff account is erased only after an admin makes it a customer account',
        );
      if (!row.passwordHash)
        throw conflict(
          'PASSWORD_NOT_SET',
          'Your account signs in with a provider and has no password: set one with “Forgot your password?” first',
        );
      if (!(await passwordMatches(row, row.email, password, client))) {
        await audit('account.erase_failed', client, { userId: row.id, email: row.email });
        throw invalidCredentials('The password is wrong');
      }
      await revokeAccessTokens(row.id, 'account_erased', async (tx) => {
        await store.revokeUserRefreshTokens(tx, row.id);
        if (await store.eraseUser(tx, row)) await events.append(tx, [accountErased(row.id)]);
      });
      // What happened and when is kept; not who or from where.
      await store.audit(db, { id: uuidv7(), event: 'account.erased', userId: row.id });
    },

    /**
     * Signs in the person a provider vouched for. A known provider account signs in as its user.
     * Otherwise a new account is made for the address the provider verified — or, when an account
     * with that address exists, the provider is linked to it only if the account's address is
     * proven too. An unproven one may have been registered by anyone who typed the address, so its
     * password must be shown first (409 ACCOUNT_LINK_REQUIRED carries a short-lived token for that,
     * see linkOidc); otherwise registering someone's address would capture their later sign-ins.
     */
    async signInWithOidc(identity: OidcIdentity, client: ClientInfo): Promise<TokenPair> {
      const linked = await store.findUserByOidcIdentity(db, identity.provider, identity.subject);
      if (linked) {
        await audit('login.succeeded', client, {
          userId: linked.id,
          email: linked.email,
          detail: { provider: identity.provider },
        });
        return issueTokens(linked);
      }
      const email = identity.email ? normaliseEmail(identity.email) : undefined;
      if (!email || !identity.emailVerified || !isEmailAddress(email) || email.length > 320) {
        await audit('login.failed', client, {
          email,
          detail: { provider: identity.provider, reason: 'email not verified' },
        });
        throw emailNotVerified();
      }
      let user = await store.findUserByEmail(db, email);
      if (!user) {
        const created = await insertRegisteredUser(
          {
            id: uuidv7(),
            email,
            passwordHash: null,
            name: identity.name?.trim().slice(0, 200) || email.slice(0, 200),
            role: 'customer',
            emailVerified: true,
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
        // Null means a concurrent sign-up took the address a moment ago.
        user = created ?? (await store.findUserByEmail(db, email));
        if (!user) throw new Error(`user ${email} vanished while signing in`);
      }
      if (!user.emailVerifiedAt) {
        const link = newOpaqueToken();
        await store.insertUserToken(db, {
          hash: link.hash,
          purpose: 'link_oidc',
          userId: user.id,
          email,
          detail: { provider: identity.provider, subject: identity.subject },
          expiresAt: new Date(Date.now() + OIDC_LINK_TTL_MS),
        });
        await audit('oidc.link_required', client, {
          userId: user.id,
          email,
          detail: { provider: identity.provider, subject: identity.subject },
        });
        throw accountLinkRequired(email, identity.provider, link.token);
      }
      return linkAndSignIn(user, identity.provider, identity.subject, client);
    },

    /**
     * Finishes a sign-in with a provider that found an unproven account with its address: the
     * account's password proves its owner, so the provider is linked and the address counts as
     * proven (the provider verified it). The token works once, for its account only.
     */
    async linkOidc(input: { linkToken: string; password: string }, client: ClientInfo): Promise<TokenPair> {
      const tokenHash = hashOpaqueToken(input.linkToken);
      const pending = await store.findUserToken(db, tokenHash, 'link_oidc');
      const user = pending && (await store.findUserById(db, pending.userId));
      if (!pending || !user || user.email !== pending.email) throw tokenInvalid();
      if (!(await passwordMatches(user, user.email, input.password, client))) {
        await audit('login.failed', client, {
          userId: user.id,
          email: user.email,
          detail: { reason: 'oidc link' },
        });
        throw invalidCredentials();
      }
      if (!(await store.spendUserToken(db, tokenHash, 'link_oidc'))) throw tokenInvalid();
      await proveEmailNow(user.id, user.email);
      const { provider, subject } = pending.detail as { provider: string; subject: string };
      return linkAndSignIn({ ...user, emailVerifiedAt: new Date() }, provider, subject, client);
    },

    /** Proves the address a verification link was sent to; single use, and only for that address. */
    async verifyEmail(token: string, client: ClientInfo): Promise<User> {
      const hash = hashOpaqueToken(token);
      const change = await store.spendUserToken(db, hash, 'change_email');
      if (change) {
        // The link of an address change: the account takes the address it was sent to, proven.
        const changed = await transact(db, async (tx) => {
          const before = await store.findUserById(tx, change.userId);
          if (!before || !(await store.changeEmail(tx, change.userId, change.email))) return false;
          await proveEmail(tx, change.userId, change.email);
          await events.append(tx, [emailChanged(change.userId, before.email, change.email)]);
          return true;
        });
        if (!changed) throw conflict('EMAIL_TAKEN', 'Another account took this address meanwhile');
        events.nudge();
        await audit('email.changed', client, { userId: change.userId, email: change.email });
        return userById(change.userId);
      }
      const spent = await store.spendUserToken(db, hash, 'verify_email');
      if (!spent || !(await proveEmailNow(spent.userId, spent.email))) throw tokenInvalid();
      await audit('email.verified', client, { userId: spent.userId, email: spent.email });
      const user = await store.findUserById(db, spent.userId);
      if (!user) throw tokenInvalid();
      return toUser(user);
    },

    /** Sends the signed-in user another verification link (by the notifications module). */
    async requestVerification(principal: Principal): Promise<{ email: string }> {
      const user = await store.findUserById(db, principal.id);
      if (!user) throw notFound('User');
      if (user.emailVerifiedAt)
        throw conflict('EMAIL_ALREADY_VERIFIED', 'Your email address is already confirmed');
      await transact(db, (tx) => events.append(tx, [verificationRequested(user)]));
      events.nudge();
      return { email: user.email };
    },

    /**
     * A fresh verification token for the address, for the mail that carries it; undefined when the
     * account no longer has that address or has proven it already. Only its hash is kept.
     */
    issueEmailVerification: (userId: string, email: string) =>
      issueMailedToken(
        userId,
        email,
        'verify_email',
        EMAIL_VERIFICATION_TTL_MS,
        (user) => user.email === email && !user.emailVerifiedAt,
      ),

    /** A fresh token for the link that confirms a new address; undefined once the account has it. */
    issueEmailChange: (userId: string, email: string) =>
      issueMailedToken(
        userId,
        email,
        'change_email',
        EMAIL_VERIFICATION_TTL_MS,
        (user) => user.email !== email,
      ),

    /**
     * The user asks to sign in with another address (password confirmed): a link goes to it, and
     * the account's address changes when it is opened. A newer request makes older links worthless.
     */
    async requestEmailChange(
      principal: Principal,
      input: { email: string; password: string },
      client: ClientInfo,
    ): Promise<{ email: string }> {
      const row = await store.findUserById(db, principal.id);
      if (!row) throw notFound('User');
      const email = validEmail(input.email);
      if (email === row.email) throw conflict('EMAIL_UNCHANGED', 'This is already your address');
      if (!(await passwordMatches(row, row.email, input.password, client))) {
        await audit('email.change_failed', client, { userId: row.id, email: row.email });
        throw invalidCredentials('The password is wrong');
      }
      if (await store.findUserByEmail(db, email))
        throw conflict('EMAIL_TAKEN', 'Another account uses this address');
      await transact(db, async (tx) => {
        await store.spendUserTokens(tx, row.id, 'change_email');
        await events.append(tx, [emailChangeRequested(row.id, email)]);
      });
      events.nudge();
      await audit('email.change_requested', client, { userId: row.id, email, detail: { from: row.email } });
      return { email };
    },

    /**
     * Someone asks for a reset link for an address. The answer is the same whether or not an
     * account has it (nothing tells which addresses exist); only an existing account is mailed.
     */
    async requestPasswordReset(rawEmail: string, client: ClientInfo): Promise<{ email: string }> {
      const email = normaliseEmail(rawEmail);
      if (!isEmailAddress(email))
        throw badRequest('INVALID_EMAIL', 'Enter the email address you shop with, such as ada@example.com');
      const user = await store.findUserByEmail(db, email);
      await audit('password.reset_requested', client, { userId: user?.id, email });
      if (!user) return { email };
      await transact(db, (tx) => events.append(tx, [passwordResetRequested(user)]));
      events.nudge();
      return { email };
    },

    /** A fresh reset token for the mail that carries it; undefined when the account no longer has that address. */
    issuePasswordReset: (userId: string, email: string) =>
      issueMailedToken(userId, email, 'reset_password', PASSWORD_RESET_TTL_MS),

    /**
     * Sets a new password with a reset link's token: single use, within the hour, for the address
     * it was sent to. Every session of the user ends (refresh tokens revoked, access tokens
     * refused) and every other reset link stops working. Opening the mail proved the address.
     * The password is checked first, so a weak one does not spend the link.
     */
    async resetPassword(input: { token: string; password: string }, client: ClientInfo): Promise<void> {
      validatePassword(input.password, '/password');
      const spent = await store.spendUserToken(db, hashOpaqueToken(input.token), 'reset_password');
      const user = spent && (await store.findUserById(db, spent.userId));
      if (!spent || !user || user.email !== spent.email) throw tokenInvalid();
      const passwordHash = await hash(input.password, hashOptions);
      await revokeAccessTokens(user.id, 'password_reset', async (tx) => {
        await store.setPassword(tx, user.id, passwordHash);
        await store.revokeUserRefreshTokens(tx, user.id);
        await store.spendUserTokens(tx, user.id, 'reset_password');
        await proveEmail(tx, user.id, user.email);
      });
      await audit('password.reset', client, { userId: user.id, email: user.email });
    },

    async recordOidcFailure(provider: string, reason: string, client: ClientInfo): Promise<void> {
      await audit('login.failed', client, { detail: { provider, reason } });
    },

    async me(principal: Principal): Promise<Me> {
      const row = await store.findUserById(db, principal.id);
      if (!row) throw notFound('User');
      return withPermissions(row);
    },

    /** Anyone's account (staff: who placed an order, who wrote a review). */
    user: userById,

    /** Staff: customer accounts, newest (or oldest) first, whose email or name contains `q`. */
    async customers(query: { q?: string; page: number; size: number; oldestFirst?: boolean }) {
      const { rows, total } = await store.listCustomers(
        db,
        { q: query.q?.trim() || undefined },
        { offset: (query.page - 1) * query.size, limit: query.size },
        query.oldestFirst ? 'asc' : 'desc',
      );
      return { users: rows.map(toUser), total };
    },

    /**
     * Invites `email` to join the staff with `role`: the link is mailed (its token made when the
     * mail is sent, as for verification) and works once, for a week.
     */
    async inviteStaff(by: Principal, input: { email: string; role: Role }): Promise<StaffInvite> {
      const email = validEmail(input.email);
      if (input.role === 'customer' || !(await roles.exists(input.role))) throw unknownRole(input.role);
      assertHeld(by, await roles.permissionsOf(input.role), 'invite someone with');
      const invite = await transact(db, async (tx) => {
        const row = await inviteStore.insert(tx, {
          id: uuidv7(),
          email,
          role: input.role,
          invitedBy: by.id,
          expiresAt: new Date(Date.now() + STAFF_INVITE_TTL_MS),
        });
        await events.append(tx, [staffInvited(row)]);
        return row;
      });
      events.nudge();
      return toInvite(invite);
    },

    pendingInvites: async (): Promise<StaffInvite[]> => (await inviteStore.pending(db)).map(toInvite),

    /** The shop's people: every account that is not a customer, oldest first. */
    staff: async (): Promise<User[]> => (await roleStore.staff(db, MAX_STAFF_LISTED)).map(toUser),

    async revokeInvite(id: string): Promise<void> {
      if (!(await inviteStore.revoke(db, id))) throw notFound('Invitation');
    },

    /** A fresh token for an invitation's mail (older links stop working); undefined once it is spent. */
    async issueStaffInvite(inviteId: string): Promise<string | undefined> {
      const token = newOpaqueToken();
      return (await inviteStore.setToken(db, inviteId, token.hash)) ? token.token : undefined;
    },

    /**
     * Accepts an invitation from its link: the link proves the address. Someone new chooses a
     * name and password and gets a verified account with the role; an existing account signs in
     * with its password and takes the role (its old sessions end, as for any role change). Either
     * way the answer signs them in. The link is spent in the same transaction as the change.
     */
    async acceptStaffInvite(
      input: { token: string; name?: string; password: string },
      client: ClientInfo,
    ): Promise<TokenPair> {
      const tokenHash = hashOpaqueToken(input.token);
      const existing = await inviteStore.findOpen(db, tokenHash);
      if (!existing) throw tokenInvalid();
      const account = await store.findUserByEmail(db, existing.email);
      if (account) {
        if (!(await passwordMatches(account, account.email, input.password, client)))
          throw invalidCredentials();
        const version = await revokeAccessTokens(account.id, 'role_changed', async (tx) => {
          const spent = await inviteStore.spend(tx, tokenHash);
          if (!spent) throw tokenInvalid();
          await store.setRole(tx, account.id, spent.role);
          await proveEmail(tx, account.id, account.email);
        });
        await audit('role.changed', client, {
          userId: account.id,
          detail: { from: account.role, to: existing.role, by: existing.invitedBy, invite: existing.id },
        });
        return issueTokens({ ...account, role: existing.role, tokenVersion: version });
      }
      validatePassword(input.password);
      const name = validName(input.name ?? '');
      const passwordHash = await hash(input.password, hashOptions);
      const created = await transact(db, async (tx) => {
        const spent = await inviteStore.spend(tx, tokenHash);
        if (!spent) throw tokenInvalid();
        const row = await store.insertUser(tx, {
          id: uuidv7(),
          email: spent.email,
          passwordHash,
          name,
          role: spent.role,
          emailVerified: true,
        });
        if (!row) throw emailTaken();
        return row;
      });
      await audit('user.registered', client, {
        userId: created.id,
        email: created.email,
        detail: { invite: existing.id, role: created.role },
      });
      return issueTokens(created);
    },

    /**
     * Someone who manages staff changes someone else's role; their own stays, so the last admin
     * cannot demote itself. Neither the role given nor the one taken may be worth more than the
     * giver's own: a warehouse lead who manages staff cannot make an admin, nor unmake one.
     */
    async setRole(userId: string, role: Role, by: Principal, client: ClientInfo): Promise<User> {
      if (userId === by.id) throw conflict('OWN_ROLE', 'You cannot change your own role');
      if (!(await roles.exists(role))) throw unknownRole(role);
      const before = await store.findUserById(db, userId);
      if (!before) throw notFound('User');
      assertHeld(
        by,
        [...(await roles.permissionsOf(before.role)), ...(await roles.permissionsOf(role))],
        'change a role to or from one with',
      );
      // Tokens carry the role: the old ones must stop working now, not when they expire.
      const version = await revokeAccessTokens(userId, 'role_changed', async (tx) => {
        if (!(await store.setRole(tx, userId, role))) throw notFound('User');
      });
      await audit('role.changed', client, { userId, detail: { from: before.role, to: role, by: by.id } });
      return toUser({ ...before, role, tokenVersion: version });
    },

    /**
     * Creates the configured admin, or makes the existing account with that address the admin; safe
     * on every start. An account the operator did not set the password of is never promoted as it
     * is — anyone might have registered the address first: it gets the configured password, and
     * every session it had ends, so only the operator holds the admin's keys.
     */
    /**
     * For a shop started with no admin named (development): when no admin exists yet, makes one
     * with a generated password and returns it, to be shown to the person starting the server
     * once. Undefined when there is an admin already, or the address is someone else's account.
     */
    async firstAdmin(email: string): Promise<{ email: string; password: string } | undefined> {
      if (await store.hasAdmin(db)) return undefined;
      const address = normaliseEmail(email);
      const password = randomBytes(FIRST_ADMIN_PASSWORD_BYTES).toString('base64url');
      const created = await insertAdmin(address, password);
      // Null: another instance starting on the same database made it a moment ago (or a customer has the address).
      if (!created) return undefined;
      await audit('admin.bootstrap', {}, { userId: created.id, email: address, detail: { generated: true } });
      return { email: address, password };
    },

    async bootstrapAdmin(email: string, password: string): Promise<void> {
      const address = normaliseEmail(email);
      const created = await insertAdmin(address, password);
      if (created) {
        await audit('admin.bootstrap', {}, { userId: created.id, email: address, detail: { created: true } });
        deps.logger.info({ email: address, created: true }, 'admin account ensured');
        return;
      }
      const existing = await store.findUserByEmail(db, address);
      if (!existing) throw new Error(`admin ${address} vanished while it was ensured`);
      const knowsPassword = await checkPassword(existing, password);
      if (knowsPassword && existing.role === 'admin' && existing.emailVerifiedAt) {
        await audit(
          'admin.bootstrap',
          {},
          { userId: existing.id, email: address, detail: { created: false } },
        );
        deps.logger.info({ email: address, created: false }, 'admin account ensured');
        return;
      }
      if (knowsPassword) {
        // The operator's password already: promoting it changes its rights, so its tokens renew.
        await revokeAccessTokens(existing.id, 'role_changed', (tx) =>
          store.promoteToAdmin(tx, existing.id, undefined),
        );
      } else {
        await revokeAccessTokens(existing.id, 'admin_bootstrap', async (tx) => {
          await store.promoteToAdmin(tx, existing.id, await hash(password, hashOptions));
          await store.revokeUserRefreshTokens(tx, existing.id);
        });
        deps.logger.warn(
          { email: address, previousRole: existing.role },
          'the configured admin address belonged to an account with another password: it now has the configured password, and its sessions were ended',
        );
      }
      await audit(
        'admin.bootstrap',
        {},
        {
          userId: existing.id,
          email: address,
          detail: { created: false, promotedFrom: existing.role, passwordReplaced: !knowsPassword },
        },
      );
    },

    auditTrail: (filter: { userId?: string; email?: string }) => store.auditTrail(db, filter),

    async securityEvents(userId: string, query: { page: number; size: number }) {
      if (!(await store.findUserById(db, userId))) throw notFound('User');
      const { items, total } = await store.auditPage(db, userId, {
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
