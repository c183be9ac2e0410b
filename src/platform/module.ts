import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GrpcService } from './grpc/types.ts';

/**
 * A business capability as the platform sees it. `routes` are mounted under /v1; `start` runs
 * background work for the worker role; `ready` joins the /readyz check.
 */
export interface AppModule {
  name: string;
  routes?: (app: FastifyInstance) => Promise<void> | void;
  /** Routes mounted at the root instead of /v1 (e.g. /.well-known/jwks.json). */
  rootRoutes?: (app: FastifyInstance) => Promise<void> | void;
  start?: () => Promise<void> | void;
  stop?: () => Promise<void> | void;
  /** Releases what the module holds from creation on (servers, clients); runs on every close, workers or not. */
  close?: () => Promise<void> | void;
  ready?: () => Promise<void>;
  /** Loads the module's gRPC service (only when GRPC_PORT is set: gRPC's libraries load then). */
  grpc?: () => Promise<GrpcService>;
  /**
   * OpenAPI documentation of routes a library registers for the module (their route schemas are
   * not the module's to write), by "METHOD /path": merged into the document, not the routes.
   */
  documentation?: Record<string, Record<string, unknown>>;
  /** A page for a browser that asked for a path no route serves (an API client gets problem+json). */
  notFoundPage?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;
}
