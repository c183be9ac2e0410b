import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { forbidden, unauthorized } from '../errors.ts';

export type Role = 'customer' | 'staff' | 'admin';
export const ROLES: readonly Role[] = ['customer', 'staff', 'admin'];

/** Who is making the request, as proven by a verified access token. */
export interface Principal {
  id: string;
  role: Role;
  /** When the token that proved it expires (ms since the epoch); sockets close then. */
  expiresAtMs?: number;
}

/** Implemented by the identity module; the platform only knows this interface. */
export interface AccessTokenVerifier {
  /**
   * Resolves to the token's principal; rejects with a 401 DomainError for any invalid token, and
   * for one issued before its user's credentials or rights last changed (logout, password, role).
   */
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
 * documented rule and the enforced rule cannot drift apart, because they are the same value.
 */
export type SecurityRequirement = ReadonlyArray<{ bearer: readonly Role[] }>;
/** Any signed-in user. */
export const SIGNED_IN: SecurityRequirement = [{ bearer: [] }];
/** Staff and admins. */
export const STAFF: SecurityRequirement = [{ bearer: ['staff', 'admin'] }];
/** Admins only. */
export const ADMIN: SecurityRequirement = [{ bearer: ['admin'] }];

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

/**
 * The onRequest hook enforcing a route's requirement. It runs before the body is parsed or
 * validated, so a caller without the right gets 401/403 and learns nothing of the route's schema.
 */
export function authenticationHook(
  verifier: AccessTokenVerifier,
  roles: readonly Role[],
): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(request);
    if (!token) throw unauthorized();
    request.principal = await verifier.verify(token);
    if (roles.length > 0 && !roles.includes(request.principal.role))
      throw forbidden(`This needs the role ${roles.join(' or ')}`);
  };
}

/** A verifier for a system without the identity module: nobody can sign in. */
export const noSignIn: AccessTokenVerifier = {
  verify: async () => {
    throw unauthorized('Sign-in is not available', 'INVALID_TOKEN');
  },
};
