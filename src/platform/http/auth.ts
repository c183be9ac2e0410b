import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { forbidden, unauthorized } from '../errors.ts';

export type Role = 'customer' | 'staff' | 'admin';
export const ROLES: readonly Role[] = ['customer', 'staff', 'admin'];

/** Who is making the request, as proven by a verified access token. */
export interface Principal {
  id: string;
  role: Role;
}

/** Implemented by the identity module; the platform only knows this interface. */
export interface AccessTokenVerifier {
  /** Resolves to the token's principal; rejects with a 401 DomainError for any invalid token. */
  verify(token: string): Promise<Principal>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireUser`/`requireRole`; null on routes that do not authenticate. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** preHandler: any signed-in user (401 otherwise). */
    requireUser: preHandlerAsyncHookHandler;
    /** preHandler: a signed-in user with one of these roles (401 anonymous, 403 otherwise). */
    requireRole(...roles: Role[]): preHandlerAsyncHookHandler;
  }
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

/** Builds the two authorization preHandlers over a verifier; tokens are verified only where needed. */
export function authHandlers(verifier: AccessTokenVerifier) {
  const requireUser = async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(request);
    if (!token) throw unauthorized();
    request.principal = await verifier.verify(token);
  };
  const requireRole =
    (...roles: Role[]) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      await requireUser(request, reply);
      if (!roles.includes(request.principal!.role))
        throw forbidden(`This needs the role ${roles.join(' or ')}`);
    };
  return { requireUser, requireRole };
}

/** A verifier for a system without the identity module: nobody can sign in. */
export const noSignIn: AccessTokenVerifier = {
  verify: async () => {
    throw unauthorized('Sign-in is not available', 'INVALID_TOKEN');
  },
};
