import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import mercurius, { type IResolvers, type MercuriusContext, type MercuriusLoaders } from 'mercurius';
import { Type } from 'typebox';
import { DomainError } from '../../platform/errors.ts';
import { type AccessTokenVerifier, bearerToken, type Principal } from '../../platform/http/auth.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { CatalogModule } from '../catalog/index.ts';
import type { IdentityModule } from '../identity/index.ts';
import type { OrderingModule } from '../ordering/index.ts';
import type { ReviewsModule } from '../reviews/index.ts';
import { type QueryLimits, queryLimitsRule } from './limits.ts';
import { schema } from './schema.ts';

export interface GraphqlDeps {
  catalog: CatalogModule;
  reviews: ReviewsModule;
  identity: IdentityModule;
  ordering: OrderingModule;
  verifier: AccessTokenVerifier;
  logger: Logger;
  limits: QueryLimits & { introspection: boolean };
}

/** What resolvers get per request: the caller, verified only when a field needs it. */
interface RequestContext {
  principal(): Promise<Principal>;
}
declare module 'mercurius' {
  interface MercuriusContext extends RequestContext {}
}

interface ProductJson {
  id: string;
  variants: Array<{
    id: string;
    sku: string;
    price: { amount: number; currency: string };
    available: number;
  }>;
}

const MAX_PAGE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pageSize(first: number, argument: string): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw new GraphQLError(`${argument} must be between 1 and ${MAX_PAGE}`, {
      extensions: { code: 'BAD_USER_INPUT', argument },
    });
  }
  return first;
}

const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });

/**
 * GraphQL at POST /graphql beside REST: a read API whose resolvers only call the modules' public
 * services, so filtering, ownership and availability rules have one implementation.
 */
export function createGraphql(deps: GraphqlDeps): AppModule {
  const { catalog, reviews, identity, ordering } = deps;

  const resolvers: IResolvers = {
    Query: {
      async products(_root, args: Record<string, unknown>) {
        const size = pageSize(args.first as number, 'first');
        const rendered = await catalog.service.list({
          q: (args.q as string | null) ?? undefined,
          category: (args.category as string | null) ?? undefined,
          minPrice: (args.minPrice as number | null) ?? undefined,
          maxPrice: (args.maxPrice as number | null) ?? undefined,
          sort: (args.sort as string | null) ?? undefined,
          cursor: (args.after as string | null) ?? undefined,
          page: 1,
          size,
        });
        const page = JSON.parse(rendered.body) as {
          items: ProductJson[];
          total: number;
          nextCursor: string | null;
        };
        return {
          nodes: page.items,
          totalCount: page.total,
          pageInfo: { hasNextPage: page.nextCursor !== null, endCursor: page.nextCursor },
        };
      },
      async product(_root, { id }: { id: string }) {
        if (!UUID.test(id)) return null;
        try {
          return JSON.parse((await catalog.service.get(id)).body);
        } catch (error) {
          if (error instanceof DomainError && error.status === 404) return null;
          throw error;
        }
      },
      async me(_root, _args, context: MercuriusContext) {
        return identity.service.me(await context.principal());
      },
      async myOrders(_root, args: { first: number }, context: MercuriusContext) {
        const principal = await context.principal();
        const size = pageSize(args.first, 'first');
        // Staff listing would span every customer; "my" orders are always the caller's own.
        const page = await ordering.service.list(principal, { page: 1, size, userId: principal.id });
        return page.items;
      },
    },
  };

  // Product.reviews for every product of a response in one batch: one query, whatever the count.
  const loaders: MercuriusLoaders = {
    Product: {
      async reviews(queries: Array<{ obj: ProductJson; params: { first: number } }>) {
        const firsts = [...new Set(queries.map((query) => pageSize(query.params.first, 'reviews.first')))];
        const batches = new Map(
          await Promise.all(
            firsts.map(
              async (first) =>
                [
                  first,
                  await reviews.service.latestByProducts(
                    queries.filter((query) => query.params.first === first).map((query) => query.obj.id),
                    first,
                  ),
                ] as const,
            ),
          ),
        );
        return queries.map((query) => batches.get(query.params.first)?.get(query.obj.id) ?? []);
      },
    },
  };

  return {
    name: 'graphql',
    documentation: {
      'POST /graphql': graphqlOperation(
        'runGraphqlQuery',
        'Run a GraphQL query (body: query, variables, operationName)',
      ),
      'GET /graphql': graphqlOperation(
        'runGraphqlQueryByGet',
        'Run a GraphQL query given in the query string',
      ),
    },
    async rootRoutes(app: FastifyInstance) {
      await app.register(mercurius, {
        schema,
        resolvers,
        loaders,
        path: '/graphql',
        graphiql: false,
        // Validation runs per request with its variables, so `first: $n` is measured as sent;
        // that rules out mercurius's cache of validated queries.
        cache: false,
        validationRules: ({ variables }) => [queryLimitsRule(deps.limits, variables)],
        context: (request: FastifyRequest): RequestContext => requestContext(request, deps.verifier),
        errorFormatter: (execution, context) => formatErrors(execution, context, deps.logger),
      });
    },
  };
}

const GraphqlError = Type.Object({
  message: Type.String(),
  locations: Type.Optional(Type.Array(Type.Object({ line: Type.Integer(), column: Type.Integer() }))),
  path: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Integer()]))),
  extensions: Type.Object(
    {
      code: Type.String({
        description: 'stable: QUERY_TOO_DEEP, QUERY_TOO_COMPLEX, BAD_REQUEST, UNAUTHENTICATED, …',
      }),
    },
    { additionalProperties: true },
  ),
});

const GraphqlAnswer = Type.Object({
  data: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  errors: Type.Optional(Type.Array(GraphqlError)),
});

/** How the OpenAPI document describes mercurius's routes (mercurius registers them). */
function graphqlOperation(operationId: string, summary: string) {
  return {
    operationId,
    summary,
    tags: ['graphql'],
    description:
      'Queries: products, product, me, myOrders (the last two need Authorization: Bearer). Refused with 400 and a ' +
      'GraphQL error: too deep, too costly (introspection counts), too many fields or aliases, introspection when ' +
      'turned off, and any malformed request.',
    response: {
      200: { ...GraphqlAnswer, description: 'The data, with errors of fields that failed' },
      400: { ...GraphqlAnswer, description: 'The query was refused or malformed; data is null' },
    },
  };
}

function requestContext(request: FastifyRequest, verifier: AccessTokenVerifier): RequestContext {
  let verified: Promise<Principal> | undefined;
  return {
    principal() {
      verified ??= (async () => {
        let token: string | undefined;
        try {
          token = bearerToken(request);
        } catch (error) {
          throw unauthenticated((error as Error).message);
        }
        if (!token) throw unauthenticated('Sign in: send Authorization: Bearer <access token>');
        try {
          return await verifier.verify(token);
        } catch (error) {
          if (error instanceof DomainError && error.status === 401) throw unauthenticated(error.message);
          throw error;
        }
      })();
      return verified;
    },
  };
}

/** An error mercurius or Fastify raised about the request (4xx), before any resolver ran. */
function isRequestError(error: Error | undefined): error is Error & { code?: string; statusCode: number } {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function requestErrorMessage(error: Error & { code?: string }): string {
  if (error.code === 'MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND')
    return 'Send a query: {"query": "{ products { totalCount } }"}';
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return 'The body is not valid JSON';
  return error.message;
}

interface Execution {
  data?: Record<string, unknown> | null;
  errors: readonly GraphQLError[];
}

/** Every error leaves with a stable `extensions.code`; unexpected ones are logged and not described. */
function formatErrors(execution: Execution, context: { reply?: FastifyReply }, logger: Logger) {
  let invalid = false;
  const flat = execution.errors.flatMap((error) => {
    const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(inner)) {
      // The query did not validate: mercurius wraps graphql's own errors in one.
      invalid = true;
      return inner as GraphQLError[];
    }
    return [error];
  });
  const errors = flat.map((error): GraphQLFormattedError => {
    const original = error.originalError;
    let extensions: Record<string, unknown> = { ...error.extensions };
    let message = error.message;
    if (original instanceof DomainError) {
      extensions = { ...original.extensions, code: original.code, status: original.status };
      if (original.errors) extensions.errors = original.errors;
    } else if (isRequestError(original)) {
      // The request itself was unusable (no query, not JSON): the client's mistake, not ours.
      extensions = { code: 'BAD_REQUEST' };
      message = requestErrorMessage(original);
    } else if (original && original.name !== 'GraphQLError' && !extensions.code) {
      (context.reply?.log ?? logger).error({ err: original, path: error.path }, 'GraphQL resolver failed');
      extensions = { code: 'INTERNAL_SERVER_ERROR' };
      message = 'Internal error';
    } else if (!extensions.code) {
      extensions.code = invalid ? 'GRAPHQL_VALIDATION_FAILED' : 'BAD_REQUEST';
    }
    return { message, locations: error.locations, path: error.path, extensions };
  });
  return {
    statusCode: invalid || (!execution.data && flat.every((error) => !error.path)) ? 400 : 200,
    response: { data: execution.data ?? null, errors },
  };
}
