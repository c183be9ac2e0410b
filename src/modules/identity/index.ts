import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../../config.ts';
import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AccessTokenVerifier } from '../../platform/http/auth.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { addressRoutes } from './address-routes.ts';
import { type AddressBook, createAddressBook } from './addresses.ts';
import { apiKeyRoutes } from './api-key-routes.ts';
import { API_KEY_PREFIX, type ApiKeys, createApiKeys } from './api-keys.ts';
import { createOidcSignIn } from './oidc.ts';
import { createRoles, type Roles } from './roles.ts';
import { identityRoutes } from './routes.ts';
import { createIdentityService, type IdentityService } from './service.ts';
import { createTokenVersions } from './sessions.ts';
import { staffRoutes } from './staff-routes.ts';
import { identityStore } from './store.ts';
import { createTokenService } from './tokens.ts';

export { SavedAddressSchema } from './address-routes.ts';
export type { SavedAddress } from './addresses.ts';
export { ApiKeySchema } from './api-key-routes.ts';
export { ERASURE_KEEPS, IDENTITY_EVENT_TYPES, onAccountErased } from './events.ts';
export { MeSchema, SecurityEventSchema, TokenPairSchema, UserSchema } from './routes.ts';
export type { Me, TokenPair, User } from './service.ts';
export { RoleViewSchema, StaffInviteSchema } from './staff-routes.ts';

export interface IdentityModule extends AppModule {
  name: 'identity';
  service: IdentityService;
  /** Customers' saved addresses (staff read them on a customer's page). */
  addresses: AddressBook;
  /** Access tokens only (streams, GraphQL): people, never keys. */
  verifier: AccessTokenVerifier;
  /** What the HTTP API accepts as a bearer: an access token, or an API key (limited to its scopes). */
  httpVerifier: AccessTokenVerifier;
  apiKeys: ApiKeys;
  /** Roles as sets of permissions. */
  roles: Roles;
  createUser: IdentityService['createUser'];
  /** Creates the admin account from the configured address and password unless it exists. */
  bootstrapAdmin: IdentityService['bootstrapAdmin'];
  firstAdmin: IdentityService['firstAdmin'];
  /** Adds a new signing key (older keys keep verifying). */
  rotateSigningKey(): Promise<void>;
  /** The user's email address (for notifications); undefined for an unknown user. */
  emailOf(userId: string): Promise<string | undefined>;
  /** The staff and admin accounts' addresses (for operational mail), oldest first. */
  staffContacts(): Promise<Array<{ userId: string; email: string }>>;
  /** A fresh single-use token for the mail asking the user to confirm `email` (undefined: nothing to confirm). */
  issueEmailVerification: IdentityService['issueEmailVerification'];
  /** A fresh single-use token for the password reset mail (undefined: the account no longer has that address). */
  issuePasswordReset: IdentityService['issuePasswordReset'];
  /** A fresh single-use token for the link confirming a new address (undefined: the account has it already). */
  issueEmailChange: IdentityService['issueEmailChange'];
  /** A fresh token for the mail of a staff invitation (undefined: it was accepted, withdrawn or expired). */
  issueStaffInvite: IdentityService['issueStaffInvite'];
}

/** Operational mail goes to at most this many accounts; a larger team sets STOCK_ALERT_EMAILS. */
const MAX_STAFF_CONTACTS = 50;

export async function createIdentity(deps: {
  config: Config;
  db: Db;
  logger: Logger;
  bus: Pick<EventBus, 'append' | 'nudge'>;
  /**
   * A cache every instance sees alike (Redis, or the one process of an embedded PGlite), where
   * token versions are kept; without one every authenticated request asks the database.
   */
  sessionCache?: Cache;
}): Promise<IdentityModule> {
  const { config } = deps;
  const versions = createTokenVersions(deps.db, deps.sessionCache);
  const roles = createRoles(deps.db, deps.sessionCache);
  const tokens = await createTokenService(deps.db, versions, roles, {
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
  });
  const service = createIdentityService({
    db: deps.db,
    roles,
    tokens,
    versions,
    settings: config,
    logger: deps.logger,
    events: deps.bus,
  });
  const oidc = createOidcSignIn({
    db: deps.db,
    providers: config.oidcProviders,
    allowInsecureRequests: config.oidcAllowInsecureRequests,
  });
  const addresses = createAddressBook(deps.db);
  const accountRoutes = identityRoutes(service, oidc, {
    loginLimitPerMinute: config.loginLimitPerMinute,
    registerLimitPerMinute: config.registerLimitPerMinute,
  });
  const bookRoutes = addressRoutes(addresses);
  const peopleRoutes = staffRoutes(service, roles, { loginLimitPerMinute: config.loginLimitPerMinute });
  const apiKeys = createApiKeys(deps.db);
  const keyRoutes = apiKeyRoutes(apiKeys);
  const httpVerifier: AccessTokenVerifier = {
    verify: (token) =>
      token.startsWith(API_KEY_PREFIX) ? apiKeys.verifier.verify(token) : tokens.verifier.verify(token),
  };
  return {
    name: 'identity',
    service,
    addresses,
    verifier: tokens.verifier,
    httpVerifier,
    apiKeys,
    roles,
    createUser: service.createUser,
    bootstrapAdmin: service.bootstrapAdmin,
    firstAdmin: service.firstAdmin,
    rotateSigningKey: tokens.rotate,
    emailOf: async (userId) => (await identityStore.findUserById(deps.db, userId))?.email,
    issueEmailVerification: service.issueEmailVerification,
    issuePasswordReset: service.issuePasswordReset,
    issueEmailChange: service.issueEmailChange,
    issueStaffInvite: service.issueStaffInvite,
    staffContacts: async () =>
      (await identityStore.staff(deps.db, MAX_STAFF_CONTACTS)).map((user) => ({
        userId: user.id,
        email: user.email,
      })),
    routes: (app: FastifyInstance) => {
      accountRoutes(app);
      bookRoutes(app);
      keyRoutes(app);
      peopleRoutes(app);
    },
    rootRoutes: (app: FastifyInstance) => {
      app.get(
        '/.well-known/jwks.json',
        {
          schema: {
            operationId: 'getJwks',
            tags: ['accounts'],
            summary: 'Public keys that verify access tokens',
            response: {
              200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }),
            },
          },
        },
        async (_request, reply) => {
          reply.header('cache-control', 'public, max-age=300');
          return tokens.publicKeySet();
        },
      );
    },
  };
}
