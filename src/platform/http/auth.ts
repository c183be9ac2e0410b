import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { forbidden, unauthorized } from '../errors.ts';

export type Role = 'customer' | 'staff' | 'admin';
export const ROLES: readonly Role[] = ['customer', 'staff', 'admin'];

/** Who is making the request, as proven by a verified access token or a guest's cart token. */
export interface Principal {
  /** The user's id; for a guest, the shopper id their cart token stands for (no account). */
  id: string;
  role: Role | 'guest';
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

/** The part of the shop each operation tag belongs to; a tag not here is for people, never keys. */
const RESOURCE_OF_TAG: Record<string, string> = {
  catalog: 'catalog',
  reviews: 'catalog',
  orders: 'orders',
  fulfillment: 'orders',
  payments: 'orders',
  inventory: 'inventory',
  customers: 'customers',
  pricing: 'pricing',
  webhooks: 'webhooks',
};

/**
 * The scope a route needs from an API key, read off what the route already declares: its tag
 * names the part of the shop, its method whether it reads or writes. Undefined: no key may call it.
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
 * "scopes" are the roles allowed (OpenAPI 3.1 lets non-OAuth schemes list role names there). The
 * documented rule and the enforced rule cannot drift apart, because they are the same value. The
 * requirements are alternatives: a route listing `cartToken` or `orderToken` also takes a guest.
 */
export type SecurityRequirement = ReadonlyArray<
  { bearer: readonly Role[] } | { cartToken: readonly [] } | { orderToken: readonly [] }
>;
/** Any signed-in user. */
export const SIGNED_IN: SecurityRequirement = [{ bearer: [] }];
/** Staff and admins. */
export const STAFF: SecurityRequirement = [{ bearer: ['staff', 'admin'] }];
/** Admins only. */
export const ADMIN: SecurityRequirement = [{ bearer: ['admin'] }];
/** A shopper: a signed-in user, or a guest holding the `Cart-Token` of their cart. */
export const SHOPPER: SecurityRequirement = [{ bearer: [] }, { cartToken: [] }];
/**
 * A signed-in user, or anyone holding the `Order-Token` of the order the path names: the route
 * itself checks that token against the order, so the principal stays null for it.
 */
export const ORDER_HOLDER: SecurityRequirement = [{ bearer: [] }, { orderToken: [] }];

export const CART_TOKEN_HEADER = 'cart-token';
export const ORDER_TOKEN_HEADER = 'order-token';

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

/** The roles a declared requirement allows: [] for any signed-in user, undefined when it asks for none. */
export function requiredRoles(security: unknown): readonly Role[] | undefined {
  if (!Array.isArray(security)) return undefined;
  const bearer = security.find((requirement) => requirement && 'bearer' in requirement)?.bearer;
  return Array.isArray(bearer) ? (bearer as Role[]) : undefined;
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
 * The onRequest hook enforcing a route's requirement. It runs before the body is parsed or
 * validated, so a caller without the right gets 401/403 and learns nothing of the route's schema.
 * A bearer token wins over the guest tokens when a request carries both.
 */
export function authenticationHook(
  verifiers: { accessTokens: AccessTokenVerifier; cartTokens: CartTokenVerifier },
  security: unknown,
  /** What an API key needs to call the route (scopeFor); undefined refuses every key. */
  scope?: ApiScope,
): onRequestAsyncHookHandler {
  const roles = requiredRoles(security) ?? [];
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
    if (roles.length > 0 && !roles.includes(user.role))
      throw forbidden(`This needs the role ${roles.join(' or ')}`);
    if (user.scopes && !(scope && user.scopes.includes(scope))) {
      throw forbidden(
        scope
          ? `This API key does not have the scope ${scope}`
          : 'API keys cannot call this route: it acts for a signed-in person',
        'SCOPE_MISSING',
      );
    }
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
