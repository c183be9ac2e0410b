import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { needs, PERMISSIONS, type Permission, SIGNED_IN } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { clientAddress } from '../../platform/http/rate-limit.ts';
import { IdParams, Page, PageQuery } from '../../platform/http/schemas.ts';
import { BROWSER_BINDING_COOKIE, LOGIN_REQUEST_TTL_SECONDS, type OidcSignIn } from './oidc.ts';
import type { ClientInfo, IdentityService } from './service.ts';

export const RoleSchema = Type.String({
  pattern: '^[a-z][a-z0-9-]{1,31}$',
  description: 'a role: customer, staff, admin, or one an admin made (GET /v1/roles)',
});
export const PermissionSchema = Type.Unsafe<Permission>({ type: 'string', enum: [...PERMISSIONS] });

export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  emailVerified: Type.Boolean({
    description: 'whether the address is proven (its verification link was opened)',
  }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const MeSchema = Type.Object({
  ...UserSchema.properties,
  permissions: Type.Array(PermissionSchema, { description: "what the user's role lets them do" }),
});

export const TokenPairSchema = Type.Object({
  user: MeSchema,
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  tokenType: Type.Literal('Bearer'),
});

// Checked after trimming and lower-casing, in the service.
const Email = Type.String({ minLength: 3, maxLength: 320 });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const SecurityEventSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  event: Type.String(),
  at: Type.String({ format: 'date-time' }),
  email: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Object({}, { additionalProperties: true }),
});
const SecurityEventPage = Page(SecurityEventSchema);

export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : undefined };
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export function identityRoutes(
  service: IdentityService,
  oidc: OidcSignIn,
  options: { loginLimitPerMinute: number; registerLimitPerMinute: number },
) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['accounts'];

    // Every route that checks a password is limited per client address (the account is protected
    // by the service's back-off per account and address, which cannot lock its owner out).
    const passwordGuesses = app.perMinuteLimit('login-ip', options.loginLimitPerMinute, clientAddress);

    app.post(
      '/auth/register',
      {
        onRequest: app.perMinuteLimit('register-ip', options.registerLimitPerMinute, clientAddress),
        schema: {
          operationId: 'register',
          tags,
          summary: 'Create an account and sign in',
          body: Type.Object(
            { email: Email, password: Password, name: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 201: TokenPairSchema, ...problems(400, 409, 429) },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .header('location', '/v1/users/me')
          .send(await service.register(request.body, clientInfo(request))),
    );

    app.post(
      '/auth/login',
      {
        onRequest: passwordGuesses,
        schema: {
          operationId: 'signIn',
          tags,
          summary: 'Sign in with email and password',
          description:
            'After a few failed attempts for one account from one address, each further failure from ' +
            'that address doubles the wait (429 with Retry-After); the account stays open from elsewhere.',
          body: Type.Object(
            { email: Type.String({ maxLength: 320 }), password: Password },
            { additionalProperties: false },
          ),
          response: { 200: TokenPairSchema, ...problems(400, 401, 429) },
        },
      },
      async (request) => service.login(request.body, clientInfo(request)),
    );

    app.post(
      '/auth/refresh',
      {
        schema: {
          operationId: 'refreshTokens',
          tags,
          summary: 'Exchange a refresh token for a new pair (rotation)',
          body: RefreshBody,
          response: { 200: TokenPairSchema, ...problems(400, 401) },
        },
      },
      async (request) => service.refresh(request.body.refreshToken, clientInfo(request)),
    );

    app.post(
      '/auth/logout',
      {
        schema: {
          operationId: 'signOut',
          tags,
          summary: 'Revoke a refresh token and its family',
          security: SIGNED_IN,
          body: RefreshBody,
          response: { 204: Type.Null(), ...problems(400, 401) },
        },
      },
      async (request, reply) => {
        await service.logout(request.principal!, request.body.refreshToken, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/users/me/password',
      {
        onRequest: passwordGuesses,
        schema: {
          operationId: 'changePassword',
          tags,
          summary: 'Change the password (every session ends; this device gets a new pair)',
          security: SIGNED_IN,
          body: Type.Object(
            { currentPassword: Password, newPassword: Password },
            { additionalProperties: false },
          ),
          response: { 200: TokenPairSchema, ...problems(400, 401, 429) },
        },
      },
      async (request) => service.changePassword(request.principal!, request.body, clientInfo(request)),
    );

    app.post(
      '/auth/verify-email',
      {
        schema: {
          operationId: 'verifyEmail',
          tags,
          summary: 'Confirm an email address with the token its verification link carries',
          body: Type.Object(
            { token: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 200: UserSchema, ...problems(400, 429) },
        },
      },
      async (request) => service.verifyEmail(request.body.token, clientInfo(request)),
    );

    app.post(
      '/auth/password-reset',
      {
        onRequest: app.perMinuteLimit('password-reset-ip', 5, clientAddress),
        schema: {
          operationId: 'requestPasswordReset',
          tags,
          summary: 'Email a password reset link',
          description:
            'Answers 202 whether or not an account has the address, so nothing tells which addresses exist. ' +
            'An account with it is mailed a link that works once, within an hour.',
          body: Type.Object({ email: Email }, { additionalProperties: false }),
          response: {
            202: Type.Object({
              email: Type.String({ description: 'the address asked about, as the shop reads it' }),
            }),
            ...problems(400, 429),
          },
        },
      },
      async (request, reply) =>
        reply.code(202).send(await service.requestPasswordReset(request.body.email, clientInfo(request))),
    );

    app.post(
      '/auth/password-reset/confirm',
      {
        onRequest: passwordGuesses,
        schema: {
          operationId: 'confirmPasswordReset',
          tags,
          summary:
            'Set a new password with the token a reset link carries; every session of the account ends',
          body: Type.Object(
            { token: Type.String({ minLength: 1, maxLength: 200 }), password: Password },
            { additionalProperties: false },
          ),
          response: { 204: Type.Null(), ...problems(400, 429) },
        },
      },
      async (request, reply) => {
        await service.resetPassword(request.body, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/users/me/verification',
      {
        onRequest: app.perMinuteLimit('verification-ip', 5, clientAddress),
        schema: {
          operationId: 'requestEmailVerification',
          tags,
          summary: 'Send another verification link to the signed-in user',
          security: SIGNED_IN,
          response: {
            202: Type.Object({ email: Type.String({ description: 'where the link is on its way to' }) }),
            ...problems(401, 409, 429),
          },
        },
      },
      async (request, reply) => reply.code(202).send(await service.requestVerification(request.principal!)),
    );

    app.get(
      '/users/me',
      {
        schema: {
          operationId: 'getCurrentUser',
          tags,
          summary: 'The signed-in user, with the permissions of their role',
          security: SIGNED_IN,
          response: { 200: MeSchema, ...problems(401) },
        },
      },
      async (request) => service.me(request.principal!),
    );

    const ProviderParams = Type.Object({ provider: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }) });

    app.get(
      '/auth/oidc/:provider/start',
      {
        schema: {
          operationId: 'startOidcSignIn',
          tags,
          summary: 'Start signing in with an OpenID Connect provider (redirects to it)',
          params: ProviderParams,
          response: {
            302: Type.Null({ description: "Location: the provider's authorization URL" }),
            ...problems(400, 404, 429, 503),
          },
        },
      },
      async (request, reply) => {
        const { url, browserBinding, secureCookie } = await oidc.start(request.params.provider);
        // Lax: the provider's redirect back is a top-level navigation, which carries it.
        const secure = secureCookie ? '; Secure' : '';
        reply.header(
          'set-cookie',
          `${BROWSER_BINDING_COOKIE}=${browserBinding}; Path=/v1/auth/oidc; Max-Age=${LOGIN_REQUEST_TTL_SECONDS}; HttpOnly; SameSite=Lax${secure}`,
        );
        return reply.header('cache-control', 'no-store').redirect(url.href, 302);
      },
    );

    app.get(
      '/auth/oidc/:provider/callback',
      {
        schema: {
          operationId: 'finishOidcSignIn',
          tags,
          summary: 'Finish signing in with an OpenID Connect provider (its redirect target)',
          description:
            'Takes the query the provider redirected with (code, state, iss, or error) and answers ' +
            'the same token pair as login. A state works once; the ID token must carry its nonce.',
          params: ProviderParams,
          querystring: Type.Object(
            {
              code: Type.Optional(Type.String()),
              state: Type.Optional(Type.String()),
              iss: Type.Optional(Type.String()),
              error: Type.Optional(Type.String()),
              error_description: Type.Optional(Type.String()),
            },
            { additionalProperties: true },
          ),
          response: { 200: TokenPairSchema, ...problems(400, 401, 403, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
        const identity = await oidc
          .finish(request.params.provider, query, cookie(request, BROWSER_BINDING_COOKIE))
          .catch(async (error: Error) => {
            // Tampered, replayed or cross-browser callbacks are attacks worth seeing in the audit log.
            if ((error as { code?: string }).code === 'OIDC_SIGN_IN_FAILED') {
              await service.recordOidcFailure(request.params.provider, error.message, clientInfo(request));
            }
            throw error;
          });
        reply.header('cache-control', 'no-store');
        reply.header(
          'set-cookie',
          `${BROWSER_BINDING_COOKIE}=; Path=/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax`,
        );
        return service.signInWithOidc(identity, clientInfo(request));
      },
    );

    app.post(
      '/auth/oidc/link',
      {
        onRequest: passwordGuesses,
        schema: {
          operationId: 'linkOidcSignIn',
          tags,
          summary: "Link a provider sign-in to an existing account by that account's password",
          description:
            'After a provider sign-in answered 409 ACCOUNT_LINK_REQUIRED: its linkToken (valid 10 ' +
            "minutes, once) and the existing account's password sign in and link the provider.",
          body: Type.Object(
            { linkToken: Type.String({ minLength: 1, maxLength: 200 }), password: Password },
            { additionalProperties: false },
          ),
          response: { 200: TokenPairSchema, ...problems(400, 401, 429) },
        },
      },
      async (request) => service.linkOidc(request.body, clientInfo(request)),
    );

    app.get(
      '/users/:id',
      {
        schema: {
          operationId: 'getUser',
          tags,
          summary: 'A user by id (staff): who placed an order or wrote a review',
          security: needs('customers:read'),
          params: IdParams,
          response: { 200: UserSchema, ...problems(401, 403, 404) },
        },
      },
      async (request) => service.user(request.params.id),
    );

    app.post(
      '/users/me/email',
      {
        onRequest: passwordGuesses,
        schema: {
          operationId: 'requestEmailChange',
          tags,
          summary: 'Change your address: a link goes to the new one, and the account moves to it when opened',
          security: SIGNED_IN,
          body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
          response: {
            202: Type.Object({ email: Type.String({ description: 'the new address, as read' }) }),
            ...problems(400, 401, 409, 429),
          },
        },
      },
      async (request, reply) =>
        reply
          .code(202)
          .send(await service.requestEmailChange(request.principal!, request.body, clientInfo(request))),
    );

    app.delete(
      '/users/me',
      {
        schema: {
          operationId: 'eraseAccount',
          tags,
          summary: 'Erase your account (password confirmed): personal data removed, orders kept anonymised',
          description:
            'Signing in then fails; every session ends. Orders stay for accounting with the name, ' +
            'address and email removed (the country stays, for tax); reviews stay, anonymous. ' +
            'Subscribers to user.erased are told to do the same.',
          security: SIGNED_IN,
          body: Type.Object({ password: Password }, { additionalProperties: false }),
          response: { 204: Type.Null(), ...problems(400, 401, 409, 429) },
        },
        onRequest: passwordGuesses,
      },
      async (request, reply) => {
        await service.eraseAccount(request.principal!, request.body.password, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/users/me/security-events',
      {
        schema: {
          operationId: 'listOwnSecurityEvents',
          tags,
          summary:
            'Your own security log, newest first: sign-ins, failed attempts, password and email changes',
          security: SIGNED_IN,
          querystring: Type.Object(PageQuery),
          response: { 200: SecurityEventPage, ...problems(400, 401) },
        },
      },
      async (request) =>
        service.securityEvents(request.principal!.id, {
          page: request.query.page ?? 1,
          size: request.query.size ?? 20,
        }),
    );

    app.get(
      '/users/:id/security-events',
      {
        schema: {
          operationId: 'listSecurityEvents',
          tags,
          summary: "A user's security audit log, newest first (staff managers)",
          description:
            'Events: user.registered, login.succeeded, login.failed, refresh.reused, logout, ' +
            'role.changed, admin.bootstrap, oidc.linked, oidc.link_required, email.verified, ' +
            'password.changed, password.change_failed.',
          security: needs('staff:read'),
          params: IdParams,
          querystring: Type.Object(PageQuery),
          response: {
            200: SecurityEventPage,
            ...problems(400, 401, 403, 404),
          },
        },
      },
      async (request) =>
        service.securityEvents(request.params.id, {
          page: request.query.page ?? 1,
          size: request.query.size ?? 20,
        }),
    );

    app.patch(
      '/users/:id/role',
      {
        schema: {
          operationId: 'setUserRole',
          tags,
          summary: "Change someone else's role, to one no more than your own (staff managers)",
          security: needs('staff:write'),
          params: IdParams,
          body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
          response: { 200: UserSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) =>
        service.setRole(request.params.id, request.body.role, request.principal!, clientInfo(request)),
    );
  };
}
