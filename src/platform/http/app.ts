import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import FindMyWay from 'find-my-way';
import helmet from 'helmet';
import { Type } from 'typebox';
import type { Config } from '../../config.ts';
import { enterContext, runWithContext, type WorkContext } from '../context.ts';
import type { AppModule } from '../module.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import {
  enterTraceContext,
  runInTraceContext,
  SpanStatusCode,
  startServerSpan,
  type TraceContext,
  type TraceSpan,
  type Tracing,
} from '../observability/tracing.ts';
import {
  type AccessTokenVerifier,
  authenticationHook,
  type CartTokenVerifier,
  noGuests,
  resolveSecurity,
  scopeFor,
  takesBearer,
} from './auth.ts';
import { bodyGate, documentOperation, problemResponse } from './openapi.ts';
import { handleError, problemType, sendProblem } from './problem.ts';
import { registerRateLimiting } from './rate-limit.ts';
import { ProblemSchema } from './schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** `workContext.signal` aborts when the deadline passes or the client goes away. */
    workContext: WorkContext;
    /** The request's server span and its context; null when tracing is off. */
    trace: { span: TraceSpan; context: TraceContext } | null;
  }
}

export interface HttpDeps {
  config: Pick<
    Config,
    | 'bodyLimitBytes'
    | 'requestTimeoutMs'
    | 'corsOrigins'
    | 'rateLimitPerMinute'
    | 'apiKeyLimitPerMinute'
    | 'redisUrl'
    | 'trustProxy'
    | 'publicUrl'
  >;
  logger: Logger;
  metrics: Metrics;
  /** Readiness checks by name; /readyz answers 503 when any rejects. */
  readiness: Record<string, () => Promise<void>>;
  /** False for a worker: health, readiness and metrics only, no modules' routes and no API document. */
  serves: boolean;
  modules: AppModule[];
  verifier: AccessTokenVerifier;
  /** Guests' cart tokens, on routes whose security lists `cartToken`; none accepted when unset. */
  cartTokens?: CartTokenVerifier;
  tracing?: Tracing;
  /** This system's key prefix in Redis (rate-limit counters go under it). */
  redisNamespace?: string;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Helmet's headers depend only on its options (no per-request nonces), so they are worked out once
 * at start by running its middleware against a recorder; a request then just copies them.
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader() {},
  };
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  })({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

function createAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerce ? 'array' : false,
    strict: false,
  });
  addFormats.default(ajv);
  // OpenAPI's name for a file's content in a multipart body; the upload route checks the bytes itself.
  ajv.addFormat('binary', true);
  return ajv;
}

/** The document's tags: one per module that has routes, with what it covers. */
const API_TAGS = [
  {
    name: 'accounts',
    description: 'Sign-up, sign-in, tokens, email verification, OpenID Connect, roles, the audit log',
  },
  {
    name: 'catalog',
    description: 'Products, variants and categories: listing, search, HTTP caching, staff edits',
  },
  { name: 'reviews', description: "Product reviews and the products' ratings" },
  {
    name: 'inventory',
    description: 'Stock per SKU and location: on hand, reserved, available; audited changes and transfers',
  },
  { name: 'pricing', description: 'Promotion codes, tax rates and shipping methods' },
  { name: 'cart', description: "The signed-in shopper's cart, priced for its destination" },
  { name: 'orders', description: 'Checkout (the saga), orders and cancellation' },
  { name: 'fulfillment', description: 'Shipments and returns' },
  {
    name: 'gift-cards',
    description: 'Gift cards: issued by staff, spent at checkout, credited back by refunds',
  },
  { name: 'graphql', description: 'GraphQL over the same services (read-only)' },
  { name: 'realtime', description: "The WebSocket stream of a user's order events" },
  { name: 'webhooks', description: 'Signed webhooks for admins: endpoints, deliveries, replays' },
  { name: 'settings', description: "The shop's own details: its name and how shoppers reach it" },
  { name: 'operations', description: 'Health and readiness' },
];

/** Errors the router meets before any route or hook runs, as problems. */
const FRAMEWORK_PROBLEMS: Record<string, { status: number; code: string; detail: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', detail: 'The path is not valid percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URI_TOO_LONG', detail: 'A part of the path is too long' },
};

/**
 * Errors Node's HTTP parser answers on the socket itself (no request object exists): a request
 * that did not arrive within its time (a slow body), oversized headers, or bytes that are not HTTP.
 */
function clientErrorAnswer(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  securityHeaders: Record<string, string>,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, title, detail] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'Request Timeout', 'The request did not arrive within its time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'Request Header Fields Too Large', 'The request headers are too large']
        : [400, 'BAD_REQUEST', 'Bad Request', 'The request is not valid HTTP'];
  const body = JSON.stringify({ type: problemType(code), title, status, code, detail });
  const headers = {
    ...securityHeaders,
    'x-request-id': randomUUID(),
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  // A lingering close: destroying a socket with unread input sends a reset, which can make the
  // client drop the answer before reading it. Half-close, discard what still arrives, then destroy.
  socket.end(`HTTP/1.1 ${status} ${title}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
  socket.on('data', () => {});
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** How long a socket answered with a client error may still drain input before it is destroyed. */
const LINGER_MS = 2000;

/** A person's browser navigating (it asks for HTML first), not a client of the API. */
const wantsPage = (request: FastifyRequest, path: string) =>
  (request.method === 'GET' || request.method === 'HEAD') &&
  !path.startsWith('/v1/') &&
  /^\s*text\/html/.test(request.headers.accept ?? '');

/** Builds the HTTP application from its dependencies; no listening, so tests use `inject`. */

export async function createHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, logger, metrics } = deps;
  const staticHeaders = securityHeaders();
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request comes from our onResponse hook; Fastify's own pair is switched off.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Behind a load balancer the socket address is the balancer's: per-client limits and the audit
    // log need the client's, from X-Forwarded-For, believed only for the configured hops.
    trustProxy: config.trustProxy > 0 ? (_address: string, hop: number) => hop < config.trustProxy : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // A client that trickles its request (slowloris) holds a socket and a parser: the whole request
    // must arrive within the request's deadline, checked every second rather than Node's 30 s.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(config.requestTimeoutMs, 10_000),
      connectionsCheckingInterval: 1000,
    },
    // A socket silent this long while its request runs is dead; the deadline ends work sooner.
    connectionTimeout: config.requestTimeoutMs + 10_000,
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Duplex) =>
      clientErrorAnswer(error, socket, staticHeaders),
    frameworkErrors: (error, request, reply) => {
      const problem = FRAMEWORK_PROBLEMS[error.code] ?? {
        status: 400,
        code: 'BAD_REQUEST',
        detail: 'The request could not be routed',
      };
      reply.headers(staticHeaders).header('x-request-id', request.id);
      return sendProblem(request, reply, problem.status, problem.code, problem.detail);
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  // Bodies are validated strictly (no type coercion, unknown fields rejected); query strings and
  // params arrive as text, so those coerce.
  const bodyAjv = createAjv(false);
  const textAjv = createAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : textAjv.compile(schema),
  );
  app.addSchema(ProblemSchema);

  // Bodies are JSON (merge-patch where an operation says so); Fastify's text/plain parser would let
  // text through to schema validation as a string, where it belongs refused as 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string', bodyLimit: config.bodyLimitBytes },
    app.getDefaultJsonParser('error', 'error'),
  );

  // Every request gets a deadline and follows its client: both abort the same signal.
  app.decorateRequest('workContext', null as unknown as WorkContext);
  app.decorateRequest('trace', null);
  const { tracing } = deps;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(staticHeaders);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('request deadline exceeded', 'TimeoutError')),
      config.requestTimeoutMs,
    );
    timer.unref();
    // The response's close, not the request's: the request closes as soon as its body is read.
    reply.raw.once('close', () => {
      clearTimeout(timer);
      if (!reply.raw.writableFinished) controller.abort(new DOMException('client went away', 'AbortError'));
    });
    request.workContext = {
      signal: controller.signal,
      requestId: request.id,
      db: { statements: 0, transactions: 0 },
    };
    metrics.httpInFlight.inc();
    if (!tracing?.enabled) return runWithContext(request.workContext, done);
    const route = request.routeOptions.url ?? 'unmatched';
    request.trace = startServerSpan(tracing.tracer, `${request.method} ${route}`, request.headers, {
      'http.request.method': request.method,
      'http.route': route,
      'url.path': request.url.split('?')[0],
    });
    runInTraceContext(request.trace.context, () => runWithContext(request.workContext, done));
  });
  // Body parsing runs on the socket's callbacks and loses the async context; re-enter it.
  app.addHook('preHandler', (request, _reply, done) => {
    enterContext(request.workContext);
    if (request.trace) enterTraceContext(request.trace.context);
    done();
  });
  // Once closing, answers say `connection: close` so keep-alive clients (a proxy's upstream pool)
  // let go after their last request; otherwise the server would wait for them until the deadline.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpInFlight.dec();
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: request.method, route, status_code: reply.statusCode }, seconds);
    // Work the handler left running past its answer (a checkout finishing in the background) is not counted.
    const work = request.workContext?.db;
    if (work) {
      metrics.dbStatements.inc({ method: request.method, route }, work.statements);
      metrics.dbTransactions.inc({ method: request.method, route }, work.transactions);
    }
    const logCompletion = () =>
      request.log.info(
        {
          method: request.method,
          route,
          status: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request completed',
      );
    if (!request.trace) return logCompletion();
    // The response has gone; the completion line still belongs to the request's trace.
    runInTraceContext(request.trace.context, logCompletion);
    request.trace.span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) request.trace.span.setStatus({ code: SpanStatusCode.ERROR });
    request.trace.span.end();
  });

  await app.register(cors, {
    origin: config.corsOrigins.length ? config.corsOrigins : false,
    exposedHeaders: [
      'x-request-id',
      'etag',
      'location',
      'retry-after',
      'idempotent-replayed',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'ratelimit-policy',
    ],
  });
  await registerRateLimiting(app, { ...config, redisNamespace: deps.redisNamespace });
  const served = deps.serves ? deps.modules : [];
  if (deps.serves) await registerDocumentation(app, deps);

  // Remember every route so a miss can tell "no such path" (404) from "not this method" (405).
  const knownRoutes = FindMyWay();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (
        HTTP_METHODS.includes(method as (typeof HTTP_METHODS)[number]) &&
        !knownRoutes.find(method as 'GET', route.url)
      ) {
        knownRoutes.on(method as 'GET', route.url, () => {});
      }
    }
  });

  // Each API key has its own budget, besides the per-address one.
  const keyLimit = app.perMinuteLimit('api-key', config.apiKeyLimitPerMinute, (request) =>
    request.principal?.scopes ? request.principal.id : undefined,
  );
  // A route is protected exactly as its schema's `security` documents it.
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    // An operation of ours accepts exactly the bodies it documents.
    if ((route.schema as { operationId?: string } | undefined)?.operationId) {
      route.preParsing = [...[route.preParsing ?? []].flat(), bodyGate(route)] as typeof route.preParsing;
    }
    if (!route.schema || !takesBearer(route.schema.security)) return;
    route.schema.security = resolveSecurity(route.schema.security, route.schema.tags, route.method) as never;
    route.onRequest = [
      ...[route.onRequest ?? []].flat(),
      authenticationHook(
        { accessTokens: deps.verifier, cartTokens: deps.cartTokens ?? noGuests },
        route.schema.security,
        scopeFor(route.schema.tags, route.method),
      ),
      keyLimit,
    ] as typeof route.onRequest;
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = HTTP_METHODS.filter((method) => knownRoutes.find(method, path));
    if (allowed.length > 0) {
      return sendProblem(request, reply, 405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, {
        headers: { allow: allowed.join(', ') },
      });
    }
    if (wantsPage(request, path)) {
      for (const module of served) {
        const page = module.notFoundPage?.(request, reply);
        if (page) return page;
      }
    }
    return sendProblem(request, reply, 404, 'NOT_FOUND', `No route ${request.method} ${path}`);
  });

  registerOperations(app, deps);
  for (const module of served) {
    if (module.rootRoutes) await app.register(async (scope) => module.rootRoutes!(scope));
    if (module.routes) await app.register(async (scope) => module.routes!(scope), { prefix: '/v1' });
  }
  return app;
}

/** The OpenAPI document, generated from the route schemas, and its docs UI. */
async function registerDocumentation(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const { config } = deps;
  const libraryRoutes = Object.assign({}, ...deps.modules.map((module) => module.documentation ?? {}));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Emporium API',
        version: '1.0.0',
        description:
          'Open-source commerce backend. Errors are RFC 9457 problem+json with a stable `code`; ' +
          "each operation's bearer security names the permission it needs (none named: any signed-in user).",
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Emporium maintainers', url: `${config.publicUrl}/docs` },
      },
      servers: [{ url: config.publicUrl, description: 'this deployment (PUBLIC_URL)' }],
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'An access token from POST /v1/auth/login, or an API key; the scope listed is the permission needed',
          },
          cartToken: {
            type: 'apiKey',
            in: 'header',
            name: 'Cart-Token',
            description: "A guest cart's token from POST /v1/carts: its cart, and checking it out",
          },
          orderToken: {
            type: 'apiKey',
            in: 'header',
            name: 'Order-Token',
            description: "A guest order's token from its checkout or its confirmation mail: that order alone",
          },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      if ((schema as { hide?: boolean } | undefined)?.hide) return { schema, url };
      const method = [route.method].flat()[0];
      const given: Record<string, unknown> = { ...schema, ...libraryRoutes[`${method} ${url}`] };
      given.security = resolveSecurity(given.security, given.tags, method);
      return { schema: documentOperation(given, url) as typeof schema, url };
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, index) => String(json.$id ?? `def-${index}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false });
}

function registerOperations(app: FastifyInstance, deps: HttpDeps): void {
  const hidden = { hide: true };
  app.get(
    '/livez',
    { schema: { ...hidden, response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'Readiness: database and services reachable',
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            checks: Type.Record(Type.String(), Type.String()),
          }),
          503: problemResponse(503),
        },
      },
    },
    async (request, reply) => {
      const checks = await runChecks(deps.readiness, deps.logger);
      const failed = Object.entries(checks).filter(([, result]) => result !== 'ok');
      if (failed.length > 0) {
        return sendProblem(
          request,
          reply,
          503,
          'NOT_READY',
          `Not ready: ${failed.map(([name]) => name).join(', ')}`,
          {
            headers: { 'retry-after': '5' },
            extensions: { checks },
          },
        );
      }
      return { status: 'ready', checks };
    },
  );
  app.get('/metrics', { schema: hidden }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  if (deps.serves) app.get('/openapi.json', { schema: hidden }, async () => app.swagger());
}

/**
 * Each check as "ok" or "failing". Why one fails goes to the log, not the answer: /readyz is
 * public, and a driver's message can name hosts, users or file paths.
 */
async function runChecks(
  readiness: Record<string, () => Promise<void>>,
  logger: Logger,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(readiness).map(async ([name, check]) => {
      try {
        await check();
        return [name, 'ok'] as const;
      } catch (error) {
        logger.warn({ err: error, check: name }, 'readiness check failing');
        return [name, 'failing'] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

export type { FastifyInstance, FastifyRequest };
