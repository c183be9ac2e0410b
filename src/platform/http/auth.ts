import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { forbidden, unauthorized } from '../errors.ts';

/** A role is a named set of permissions; these three always exist and cannot be changed. */
export type BuiltInRole = 'customer' | 'staff' | 'admin';
export const BUILT_IN_ROLES: readonly BuiltInRole[] = ['customer', 'staff', 'admin'];
/** A role's name: a built-in one, or one an admin made (identity's roles, e.g. "warehouse"). */
export type Role = string;

/** Who is making the request, as proven by a verified access token or a guest's cart token. */
export interface Principal {
  /** The user's id; for a guest, the shopper id their cart token stands for (no account). */
  id: string;
  role: Role | 'guest';
  /** What the principal may do beyond shopping for itself: its role's permissions, or a key's scopes. */
  permissions: readonly Permission[];
  /** When the token that proved it expires (ms since the epoch); sockets close then. */
  expiresAtMs?: number;
  /** Set for an API key (its id is the principal's): the scopes of the routes it may call. */
  scopes?: readonly ApiScope[];
}

/** What an API key may be given: read or write, per part of the shop. */
export const API_SCOPES = [
  'catalog:read',
  'catalog:write',
  'orders:read',
  'orders:write',
  'inventory:read',
  'inventory:write',
  'customers:read',
  'customers:write',
  'pricing:read',
  'pricing:write',
  'webhooks:read',
  'webhooks:write',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/**
 * What a role may be given: every scope a key may have, and the management of staff (roles,
 * invitations, API keys), which no key may have: a key cannot make keys or people.
 */
export const PERMISSIONS = [...API_SCOPES, 'staff:read', 'staff:write'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The built-in roles' permissions: staff run the shop, admins also its people, keys and webhooks. */
export const BUILT_IN_PERMISSIONS: Record<BuiltInRole, readonly Permission[]> = {
  customer: [],
  staff: API_SCOPES.filter((scope) => !scope.startsWith('webhooks:')),
  admin: PERMISSIONS,
};

export const isBuiltInRole = (role: string): role is BuiltInRole =>
  (BUILT_IN_ROLES as readonly string[]).includes(role);

/** Whether the principal holds the permission (staff checks in services: "may see any order"). */
export const can = (principal: Pick<Principal, 'permissions'> | null | undefined, permission: Permission) =>
  principal?.permissions.includes(permission) ?? false;

/** The part of the shop each operation tag belongs to; a tag not here is for people, never keys. */
const RESOURCE_OF_TAG: Record<string, string> = {
  catalog: 'catalog',
  reviews: 'catalog',
  orders: 'orders',
  fulfillment: 'orders',
  payments: 'orders',
  'gift-cards': 'orders',
  inventory: 'inventory',
  customers: 'customers',
  pricing: 'pricing',
  webhooks: 'webhooks',
};

/**
 * The permission a staff route needs, read off what the route already declares: its tag names
 * the part of the shop, its method whether it reads or writes. Undefined: the tag is for people.
 */
export function scopeFor(tags: unknown, method: string | string[]): ApiScope | undefined {
  const resource = Array.isArray(tags) ? tags.map((tag) => RESOURCE_OF_TAG[tag]).find(Boolean) : undefined;
  if (!resource) return undefined;
  const reads = [method].flat().every((verb) => verb === 'GET' || verb === 'HEAD');
  const scope = `${resource}:${reads ? 'read' : 'write'}`;
  return (API_SCOPES as readonly string[]).includes(scope) ? (scope as ApiScope) : undefined;
}

/** A signed-in user (an access token proved it). */
export interface UserPrincipal extends Principal {
  role: Role;
}

/** Implemented by the identity module; the platform only knows this interface. */
export interface AccessTokenVerifier {
  /**
   * Resolves to the token's principal; rejects with a 401 DomainError for any invalid token, and
   * for one issued before its user's credentials or rights last changed (logout, password, role).
   */
  verify(token: string): Promise<UserPrincipal>;
}

/** Implemented by the cart module: a guest's `Cart-Token` proves who they are, for cart and checkout. */
export interface CartTokenVerifier {
  /** Resolves to the guest principal; rejects with a 401 DomainError for an unknown or expired token. */
  verify(token: string): Promise<Principal>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on routes that declare a bearer security requirement; null on the others. */
    principal: Principal | null;
  }
}

/**
 * A route's OpenAPI security requirement, which is also what the server enforces: the bearer
 * "scopes" name the permission needed (OpenAPI 3.1 lets non-OAuth schemes list them there), none
 * for any signed-in user. The documented rule and the enforced rule cannot drift apart, because
 * they are the same value. The requirements are alternatives: a route listing `cartToken` or
 * `orderToken` also takes a guest.
 */
export type SecurityRequirement = ReadonlyArray<
  { bearer: readonly string[] } | { cartToken: readonly [] } | { orderToken: readonly [] }
>;
/** Stands for "the permission the route's tag and method name" until the route is added. */
const PERMISSION_OF_TAG = 'permission-of-tag';
/** Any signed-in user. */
export const SIGNED_IN: SecurityRequirement = [{ bearer: [] }];
/** Whoever holds the permission the route's tag and method name (catalog + POST: catalog:write). */
export const STAFF: SecurityRequirement = [{ bearer: [PERMISSION_OF_TAG] }];
/** Whoever holds this permission, whatever the route's tag. */
export const needs = (permission: Permission): SecurityRequirement => [{ bearer: [permission] }];
/** A shopper: a signed-in user, or a guest holding the `Cart-Token` of their cart. */
export const SHOPPER: SecurityRequirement = [{ bearer: [] }, { cartToken: [] }];
/**
 * A signed-in user, or anyone holding the `Order-Token` of the order the path names: the route
 * itself checks that token against the order, so the principal stays null for it.
 */
export const ORDER_HOLDER: SecurityRequirement = [{ bearer: [] }, { orderToken: [] }];

/**
 * The requirement as enforced and documented: STAFF's stand-in replaced by the permission the
 * tag and method name. A STAFF route whose tag names no part of the shop is a mistake, refused
 * when the route is added rather than left open or closed by accident.
 */
export function resolveSecurity(security: unknown, tags: unknown, method: string | string[]): unknown {
  if (!Array.isArray(security)) return security;
  return security.map((requirement) => {
    if (!requirement || !('bearer' in requirement) || requirement.bearer[0] !== PERMISSION_OF_TAG)
      return requirement;
    const permission = scopeFor(tags, method);
    if (!permission) throw new Error(`a STAFF route tagged ${JSON.stringify(tags)} names no permission`);
    return { bearer: [permission] };
  });
}

export const CART_TOKEN_HEADER = 'cart-token';
export const ORDER_TOKEN_HEADER = 'order-token';

/** Who reads an ORDER_HOLDER route: the signed-in principal, or the guest's Order-Token still to be checked. */
export type OrderViewer = Principal | { orderToken: string };

/** The viewer of an ORDER_HOLDER route (the hook let it through with a principal or an Order-Token). */
export function orderViewerOf(request: FastifyRequest): OrderViewer {
  return request.principal ?? { orderToken: opaqueToken(request, ORDER_TOKEN_HEADER)! };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  return parseBearer(request.headers.authorization);
}

/** The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC metadata). */
export function parseBearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
  if (!match) throw unauthorized('The Authorization header must be "Bearer <token>"', 'INVALID_TOKEN');
  return match[1];
}

/** Whether a declared requirement takes a bearer token at all (undefined: it asks for none). */
export function takesBearer(security: unknown): boolean {
  return Array.isArray(security) && security.some((requirement) => requirement && 'bearer' in requirement);
}

/** The permission a resolved requirement asks of a bearer; undefined for any signed-in user. */
export function requiredPermission(security: unknown): Permission | undefined {
  if (!Array.isArray(security)) return undefined;
  const bearer = security.find((requirement) => requirement && 'bearer' in requirement)?.bearer;
  return Array.isArray(bearer) ? (bearer[0] as Permission | undefined) : undefined;
}

/** The 403 for a principal lacking the permission a route needs, in words its reader follows. */
export function refusal(principal: Principal, permission: Permission | undefined) {
  if (principal.scopes) {
    return forbidden(
      permission && (API_SCOPES as readonly string[]).includes(permission)
        ? `This API key does not have the scope ${permission}`
        : 'API keys cannot call this route: it acts for a signed-in person',
      'SCOPE_MISSING',
    );
  }
  return forbidden(
    `Your role (${principal.role}) does not allow this: it needs the permission ${permission}`,
  );
}

/** Whether a declared requirement lets a request in with the named token scheme instead of a bearer. */
export function accepts(security: unknown, scheme: 'cartToken' | 'orderToken'): boolean {
  return Array.isArray(security) && security.some((requirement) => requirement && scheme in requirement);
}

/** A token header's value, when it has the shape our opaque tokens have. */
export function opaqueToken(request: FastifyRequest, header: string): string | undefined {
  const value = request.headers[header];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(value))
    throw unauthorized(`The ${header} header does not hold a token we issued`, 'INVALID_TOKEN');
  return value;
}

/**
 * The onRequest hook enforcing a route's (resolved) requirement. It runs before the body is
 * parsed or validated, so a caller without the right gets 401/403 and learns nothing of the
 * route's schema. A bearer token wins over the guest tokens when a request carries both.
 */
export function authenticationHook(
  verifiers: { accessTokens: AccessTokenVerifier; cartTokens: CartTokenVerifier },
  security: unknown,
  /** What a route for any signed-in person asks of an API key (scopeFor); undefined refuses keys. */
  keyScope?: ApiScope,
): onRequestAsyncHookHandler {
  const permission = requiredPermission(security);
  const keyNeeds = permission ?? keyScope;
  const takesCartToken = accepts(security, 'cartToken');
  const takesOrderToken = accepts(security, 'orderToken');
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(request);
    if (!token) {
      const cartToken = takesCartToken ? opaqueToken(request, CART_TOKEN_HEADER) : undefined;
      if (cartToken) {
        request.principal = await verifiers.cartTokens.verify(cartToken);
        return;
      }
      if (takesOrderToken && opaqueToken(request, ORDER_TOKEN_HEADER)) return;
      throw unauthorized();
    }
    const user = await verifiers.accessTokens.verify(token);
    request.principal = user;
    // A key also needs a scope on routes for any signed-in person: its tag's (orders: orders:read),
    // and none at all where the tag is for people only (a cart, an account).
    const needed = user.scopes ? keyNeeds : permission;
    if (needed ? !user.permissions.includes(needed) : user.scopes) throw refusal(user, needed);
  };
}

/** A verifier for a system without the identity module: nobody can sign in. */
export const noSignIn: AccessTokenVerifier = {
  verify: async () => {
    throw unauthorized('Sign-in is not available', 'INVALID_TOKEN');
  },
};

/** A verifier for a system without the cart module: no guest can shop. */
export const noGuests: CartTokenVerifier = {
  verify: async () => {
    throw unauthorized('Guest carts are not available', 'INVALID_TOKEN');
  },
};
