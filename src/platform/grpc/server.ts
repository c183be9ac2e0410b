import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { runWithContext } from '../context.ts';
import { DomainError, unauthorized } from '../errors.ts';
import {
  type AccessTokenVerifier,
  type Permission,
  type Principal,
  parseBearer,
  refusal,
} from '../http/auth.ts';
import type { Logger } from '../observability/logger.ts';

import type { GrpcService } from './types.ts';

export type { GrpcService };

export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** Loads a service definition from proto/ (e.g. 'emporium/inventory/v1/inventory.proto'). */
export function loadService(protoFile: string, serviceName: string): grpc.ServiceDefinition {
  const packageDefinition = protoLoader.loadSync(protoFile, {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    longs: Number,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition);
  const service = serviceName
    .split('.')
    .reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], loaded);
  return (service as { service: grpc.ServiceDefinition }).service;
}

const STATUS_BY_HTTP: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  409: grpc.status.FAILED_PRECONDITION,
  422: grpc.status.INVALID_ARGUMENT,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

/** A gRPC error from a domain error: the status by its HTTP status, the problem code in metadata. */
export function toServiceError(error: unknown, logger: Logger): Partial<grpc.ServiceError> {
  if (error instanceof DomainError) {
    const metadata = new grpc.Metadata();
    metadata.set('code', error.code);
    return { code: STATUS_BY_HTTP[error.status] ?? grpc.status.UNKNOWN, details: error.message, metadata };
  }
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return { code: grpc.status.DEADLINE_EXCEEDED, details: error.message };
  }
  logger.error({ err: error }, 'gRPC call failed');
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

export interface CallContext {
  /** Aborts when the call's deadline passes or the client cancels. */
  signal: AbortSignal;
  /** Verifies the `authorization: Bearer <token>` metadata and checks the permission. */
  authorize(permission: Permission): Promise<Principal>;
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/**
 * Per-call plumbing shared by every handler: a signal that follows the call's deadline and
 * cancellation (the DB driver refuses queries after it aborts), and authorization over the
 * platform's access-token verifier.
 */
export function callContext(call: AnyCall, verifier: AccessTokenVerifier): CallContext {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (Number.isFinite(at)) {
    const timer = setTimeout(
      () => controller.abort(new DOMException('call deadline exceeded', 'TimeoutError')),
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    call.once('finish', () => clearTimeout(timer));
  }
  call.once('cancelled', () => controller.abort(new DOMException('call cancelled', 'AbortError')));
  return {
    signal: controller.signal,
    async authorize(permission) {
      const [header] = call.metadata.get('authorization');
      const token = parseBearer(typeof header === 'string' ? header : undefined);
      if (!token) throw unauthorized('Send the metadata authorization: Bearer <access token>');
      const principal = await verifier.verify(token);
      if (!principal.permissions.includes(permission)) throw refusal(principal, permission);
      return principal;
    },
  };
}

/** Wraps a unary handler: runs it in the call's work context and maps thrown errors to statuses. */
export function unary<Request, Response>(
  verifier: AccessTokenVerifier,
  logger: Logger,
  handler: (request: Request, context: CallContext) => Promise<Response>,
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const context = callContext(call as AnyCall, verifier);
    runWithContext({ signal: context.signal }, () => handler(call.request, context)).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, logger)),
    );
  };
}

export interface GrpcServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the services on host:port (0 picks a free port); close waits briefly, then cuts calls. */
export async function startGrpcServer(
  services: GrpcService[],
  options: { host: string; port: number; shutdownTimeoutMs: number },
): Promise<GrpcServer> {
  const server = new grpc.Server();
  for (const service of services) server.addService(service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), options.shutdownTimeoutMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
