import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Db } from '../../platform/db/index.ts';
import { badRequest, DomainError } from '../../platform/errors.ts';
import { STAFF } from '../../platform/http/auth.ts';
import { IdempotencyKey, requestFingerprint, runIdempotent } from '../../platform/http/idempotency.ts';
import { negotiateLocale } from '../../platform/http/locale.ts';
import { problems } from '../../platform/http/openapi.ts';
import { handleError, sendProblem } from '../../platform/http/problem.ts';
import { IdParams, Money } from '../../platform/http/schemas.ts';
import { type ImageService, MAX_IMAGE_BYTES } from './images.ts';
import type { Rendered } from './read-model.ts';
import { inCurrency } from './region-prices.ts';
import { entityTags } from './render.ts';
import {
  CategoryInput,
  CategorySchema,
  CollectionInputSchema,
  CollectionSchema,
  ImagePatch,
  ImageSchema,
  ImageUpload,
  ProductInput,
  ProductListSchema,
  ProductPatch,
  ProductSchema,
  RENDITION_WIDTHS,
} from './schemas.ts';
import type { CatalogService } from './service.ts';

const RegionQuery = Type.String({
  pattern: '^[a-z][a-z0-9-]{1,31}$',
  description:
    "a region's code (GET /v1/regions): variant prices in its currency where they have one (filters and sorting stay in the store currency)",
});

const ListQuery = Type.Object({
  q: Type.Optional(
    Type.String({
      maxLength: 200,
      pattern: '^[^\\u0000-\\u001f]*$',
      description: 'words of the name or description (full-text), or a SKU',
    }),
  ),
  category: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
      maxLength: 80,
      description: 'slug; subcategories included',
    }),
  ),
  collection: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
      maxLength: 80,
      description: "a collection's slug (GET /v1/collections)",
    }),
  ),
  option: Type.Optional(
    Type.String({
      pattern: '^[^:]{1,50}:[^:]{1,100}$',
      description: 'products with a variant of this option value, `Size:M` (the `option` facet names them)',
    }),
  ),
  minPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  maxPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  sort: Type.Optional(
    Type.String({
      maxLength: 100,
      description: 'price, name, createdAt, rating (relevance with q): `price,desc`, `-price`, `-price,name`',
    }),
  ),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 2000, description: 'nextCursor of the previous page' })),
  region: Type.Optional(RegionQuery),
  facets: Type.Optional(
    Type.String({
      pattern: '^(category|price|option)(,(category|price|option))*$',
      description:
        'counts to add for the products the query matches: `category`, `price` (bands), `option` (values)',
    }),
  ),
});

const LocaleParam = Type.String({
  pattern: '^[a-z]{2,3}(-[A-Z]{2})?$',
  description: 'one of the shop’s languages (STORE_LOCALES)',
});
const SlugParams = Type.Object({ slug: Type.String({ maxLength: 80 }) });
const AcceptLanguage = Type.Object({
  'accept-language': Type.Optional(
    Type.String({
      maxLength: 500,
      description:
        "the languages wanted: names and descriptions come in the first the shop has (else the shop's own)",
    }),
  ),
});
const IfNoneMatch = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({
      description: 'An ETag you hold: when it is still current the answer is 304, without a body',
    }),
  ),
});
/** The headers of a product read: it answers in a language and takes conditional requests. */
const ProductReadHeaders = Type.Object({ ...AcceptLanguage.properties, ...IfNoneMatch.properties });
const NotModified = Type.Null({ description: 'Not modified: the ETag you sent is still current' });
const IfMatch = (required: boolean) =>
  Type.Object({
    'if-match': Type.Optional(
      Type.String({
        description: required
          ? 'The ETag of the version you are changing (required: without it the answer is 428; another version is 412)'
          : 'The ETag of the version you are changing; another version is 412',
      }),
    ),
  });

const ANONYMOUS_CACHING = 'public, max-age=30, stale-while-revalidate=60';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Whether the client's If-None-Match names this version (or `*`): then the answer is 304. */
function holdsVersion(request: FastifyRequest, etag: string): boolean {
  const ifNoneMatch = header(request, 'if-none-match');
  return ifNoneMatch !== undefined && entityTags(ifNoneMatch).some((tag) => tag === '*' || tag === etag);
}

/**
 * Sends a rendered read with its strong ETag, or 304 when the client holds that version. Shared
 * caches may keep anonymous answers briefly; an answer to a signed-in request stays private.
 */
function sendRendered(request: FastifyRequest, reply: FastifyReply, rendered: Rendered, status = 200) {
  reply.header('etag', rendered.etag);
  const vary = reply.getHeader('vary');
  reply.header('vary', vary ? `${vary}, Authorization, Accept-Encoding` : 'Authorization, Accept-Encoding');
  if (request.method === 'GET' || request.method === 'HEAD') {
    reply.header('cache-control', request.headers.authorization ? 'private, no-cache' : ANONYMOUS_CACHING);
    if (holdsVersion(request, rendered.etag)) return reply.code(304).send(null);
  } else {
    reply.header('cache-control', 'no-store');
  }
  return reply.code(status).type('application/json; charset=utf-8').send(rendered.body);
}

export function catalogRoutes(
  service: CatalogService,
  deps: {
    db: Db;
    idempotencyLockMs: number;
    storeCurrency: string;
    images: ImageService;
    /** A region's currency (pricing owns regions); undefined for a code no region has. */
    regionCurrency: (code: string) => Promise<string | undefined>;
    /** The shop's languages; the first is its own. */
    locales: readonly string[];
  },
) {
  /** The language this read answers in, said in Content-Language; caches keep one answer per language. */
  function languageOf(request: FastifyRequest, reply: FastifyReply): string {
    const locale = negotiateLocale(header(request, 'accept-language'), deps.locales);
    reply.header('content-language', locale).header('vary', 'Accept-Language');
    return locale;
  }

  /** The read as the region's shoppers see it; an unknown region is 400 REGION_UNKNOWN. */
  async function forRegion(rendered: Rendered, region: string | undefined): Promise<Rendered> {
    if (!region) return rendered;
    const currency = await deps.regionCurrency(region);
    if (!currency)
      throw badRequest('REGION_UNKNOWN', `There is no region ${region}: GET /v1/regions lists them`);
    return inCurrency(rendered, currency, deps.storeCurrency);
  }

  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['catalog'];
    const secured = { tags, security: STAFF };

    scope.register(imageRoutes(deps.images));
    scope.register(csvRoutes(service));

    app.get(
      '/products',
      {
        schema: {
          operationId: 'listProducts',
          tags,
          summary: 'List, search, filter and sort live products',
          querystring: ListQuery,
          headers: ProductReadHeaders,
          response: { 200: ProductListSchema, 304: NotModified, ...problems(400) },
        },
      },
      async (request, reply) => {
        const { region, option, ...query } = request.query;
        const locale = languageOf(request, reply);
        const [name, value] = option?.split(':') ?? [];
        const rendered = await service.list({
          ...query,
          ...(option ? { option: { name, value } } : {}),
          locale,
          page: query.page ?? 1,
          size: query.size ?? 20,
        });
        return sendRendered(request, reply, await forRegion(rendered, region));
      },
    );

    app.get(
      '/archived-products',
      {
        schema: {
          operationId: 'listArchivedProducts',
          ...secured,
          summary: 'Archived products (staff): search and sort as the shelf does, to find one to restore',
          querystring: Type.Omit(ListQuery, [
            'category',
            'collection',
            'option',
            'minPrice',
            'maxPrice',
            'region',
            'facets',
          ]),
          headers: IfNoneMatch,
          response: { 200: ProductListSchema, 304: NotModified, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const query = request.query;
        const rendered = await service.list({
          ...query,
          archived: true,
          page: query.page ?? 1,
          size: query.size ?? 20,
        });
        return sendRendered(request, reply, rendered);
      },
    );

    app.post(
      '/products/bulk',
      {
        schema: {
          operationId: 'changeProducts',
          ...secured,
          summary:
            'One change to many products, all or none: archive, restore, a percentage on every price, or one price',
          body: Type.Object(
            {
              productIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 100 }),
              change: Type.Union([
                Type.Object({ kind: Type.Literal('archive') }, { additionalProperties: false }),
                Type.Object({ kind: Type.Literal('restore') }, { additionalProperties: false }),
                Type.Object(
                  {
                    kind: Type.Literal('reprice'),
                    percent: Type.Integer({ minimum: -90, maximum: 500, not: { const: 0 } }),
                  },
                  { additionalProperties: false },
                ),
                Type.Object({ kind: Type.Literal('price'), amount: Money }, { additionalProperties: false }),
              ]),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              changed: Type.Integer({ description: 'Products changed (those already as asked are not)' }),
            }),
            ...problems(400, 401, 403, 404, 409),
          },
        },
      },
      async (request) => service.bulk(request.body.productIds, request.body.change),
    );

    app.post(
      '/products/:id/restore',
      {
        schema: {
          operationId: 'restoreProduct',
          ...secured,
          summary: 'Bring an archived product back to the shop, as it was (If-Match honoured)',
          params: IdParams,
          headers: IfMatch(false),
          response: { 200: ProductSchema, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        await service.restore(request.params.id, header(request, 'if-match'));
        return sendRendered(request, reply, await service.get(request.params.id));
      },
    );

    app.get(
      '/products/:id',
      {
        schema: {
          operationId: 'getProduct',
          tags,
          summary: 'A product by id (archived ones too)',
          params: IdParams,
          querystring: Type.Object({ region: Type.Optional(RegionQuery) }),
          headers: ProductReadHeaders,
          response: { 200: ProductSchema, 304: NotModified, ...problems(400, 404) },
        },
      },
      async (request, reply) => {
        const locale = languageOf(request, reply);
        const product = await service.get(request.params.id, locale);
        return sendRendered(request, reply, await forRegion(product, request.query.region));
      },
    );

    const TranslationParams = Type.Object({ id: Type.String({ format: 'uuid' }), locale: LocaleParam });
    const Translation = Type.Object({
      locale: Type.String(),
      name: Type.String(),
      description: Type.String(),
    });
    app.get(
      '/products/:id/translations',
      {
        schema: {
          operationId: 'listProductTranslations',
          ...secured,
          summary: 'The product’s name and description in the shop’s other languages',
          params: IdParams,
          response: {
            200: Type.Object({ items: Type.Array(Translation), locales: Type.Array(Type.String()) }),
            ...problems(401, 403, 404),
          },
        },
      },
      async (request) => ({ ...(await service.translations(request.params.id)), locales: [...deps.locales] }),
    );

    app.put(
      '/products/:id/translations/:locale',
      {
        schema: {
          operationId: 'putProductTranslation',
          ...secured,
          summary: 'Set the product’s name and description in one of the shop’s other languages',
          params: TranslationParams,
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 200 }),
              description: Type.Optional(Type.String({ maxLength: 10_000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Translation, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => service.saveTranslation(request.params.id, request.params.locale, request.body),
    );

    app.delete(
      '/products/:id/translations/:locale',
      {
        schema: {
          operationId: 'deleteProductTranslation',
          ...secured,
          summary: 'Remove a translation: that language shows the shop’s own text again',
          params: TranslationParams,
          response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.deleteTranslation(request.params.id, request.params.locale);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/products',
      {
        schema: {
          operationId: 'createProduct',
          ...secured,
          summary: 'Create a product with its variants (and their initial stock); Idempotency-Key honoured',
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          body: ProductInput,
          response: { 201: ProductSchema, ...problems(400, 401, 403, 409, 422) },
        },
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        if (key === undefined) {
          const id = await service.create(request.body);
          reply.header('location', `/v1/products/${id}`);
          return sendRendered(request, reply, await service.get(id), 201);
        }
        // A retried create with the same key answers the product it made the first time.
        const result = await runIdempotent(
          deps.db,
          {
            scope: `products:${request.principal!.id}`,
            key,
            fingerprint: requestFingerprint('POST', '/v1/products', request.body),
            lockMs: deps.idempotencyLockMs,
          },
          async () => {
            const id = await service.create(request.body);
            return { status: 201, body: JSON.parse((await service.get(id)).body) };
          },
        );
        const product = result.body as Static<typeof ProductSchema>;
        reply.code(201).header('location', `/v1/products/${product.id}`).header('cache-control', 'no-store');
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return product;
      },
    );

    app.put(
      '/products/:id',
      {
        schema: {
          operationId: 'replaceProduct',
          ...secured,
          summary: 'Replace a product (If-Match required)',
          params: IdParams,
          headers: IfMatch(true),
          body: ProductInput,
          response: { 200: ProductSchema, ...problems(400, 401, 403, 404, 409, 412, 428) },
        },
      },
      async (request, reply) => {
        await service.replace(request.params.id, request.body, header(request, 'if-match'));
        return sendRendered(request, reply, await service.get(request.params.id));
      },
    );

    app.patch(
      '/products/:id',
      {
        schema: {
          operationId: 'updateProduct',
          ...secured,
          summary: 'Change part of a product: application/merge-patch+json (If-Match required)',
          params: IdParams,
          headers: IfMatch(true),
          // RFC 7396: the only media type this takes (the body gate refuses application/json with 415).
          body: { content: { 'application/merge-patch+json': { schema: ProductPatch } } },
          response: { 200: ProductSchema, ...problems(400, 401, 403, 404, 409, 412, 415, 428) },
        },
      },
      async (request, reply) => {
        const patch = request.body as Static<typeof ProductPatch>;
        await service.patch(request.params.id, patch, header(request, 'if-match'));
        return sendRendered(request, reply, await service.get(request.params.id));
      },
    );

    app.delete(
      '/products/:id',
      {
        schema: {
          operationId: 'archiveProduct',
          ...secured,
          summary: 'Archive a product: hidden from listings, kept for past orders (If-Match honoured)',
          params: IdParams,
          headers: IfMatch(false),
          response: { 204: Type.Null(), ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        await service.archive(request.params.id, header(request, 'if-match'));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/categories',
      {
        schema: {
          operationId: 'listCategories',
          tags,
          summary: 'Every category, with its parent',
          headers: AcceptLanguage,
          response: { 200: Type.Object({ items: Type.Array(CategorySchema) }) },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', ANONYMOUS_CACHING);
        return service.categories(languageOf(request, reply));
      },
    );

    app.post(
      '/categories',
      {
        schema: {
          operationId: 'createCategory',
          ...secured,
          summary: 'Create a category, optionally under a parent',
          body: CategoryInput,
          response: { 201: CategorySchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const category = await service.createCategory(request.body);
        return reply.code(201).header('location', `/v1/categories/${category.slug}`).send(category);
      },
    );

    app.get(
      '/collections',
      {
        schema: {
          operationId: 'listCollections',
          tags,
          summary: 'Every collection: manual lists and collections of rules',
          headers: AcceptLanguage,
          response: { 200: Type.Object({ items: Type.Array(CollectionSchema) }) },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', ANONYMOUS_CACHING);
        return service.collections(languageOf(request, reply));
      },
    );

    app.get(
      '/collections/:slug',
      {
        schema: {
          operationId: 'getCollection',
          tags,
          summary: 'A collection by slug (its products: GET /v1/products?collection=)',
          params: SlugParams,
          headers: AcceptLanguage,
          response: { 200: CollectionSchema, ...problems(404) },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', ANONYMOUS_CACHING);
        return service.collection(request.params.slug, languageOf(request, reply));
      },
    );

    app.post(
      '/collections',
      {
        schema: {
          operationId: 'createCollection',
          ...secured,
          summary:
            'Create a collection: `productIds` in order, or `rules` (category, price range) that pick them',
          body: CollectionInputSchema,
          response: { 201: CollectionSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const collection = await service.saveCollection(request.body, 'insert');
        return reply.code(201).header('location', `/v1/collections/${collection.slug}`).send(collection);
      },
    );

    app.put(
      '/collections/:slug',
      {
        schema: {
          operationId: 'replaceCollection',
          ...secured,
          summary: 'Replace a collection (its slug stays)',
          params: SlugParams,
          body: Type.Omit(CollectionInputSchema, ['slug']),
          response: { 200: CollectionSchema, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => service.saveCollection({ ...request.body, slug: request.params.slug }, 'replace'),
    );

    app.delete(
      '/collections/:slug',
      {
        schema: {
          operationId: 'deleteCollection',
          ...secured,
          summary: 'Delete a collection (its products stay in the shop)',
          params: SlugParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.deleteCollection(request.params.slug);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/categories/:slug',
      {
        schema: {
          operationId: 'getCategory',
          tags,
          summary: 'A category by slug',
          params: SlugParams,
          headers: AcceptLanguage,
          response: { 200: CategorySchema, ...problems(404) },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', ANONYMOUS_CACHING);
        return service.category(request.params.slug, languageOf(request, reply));
      },
    );

    // A category's or a collection's text in another of the shop's languages.
    const TextParams = Type.Object({ ...SlugParams.properties, locale: LocaleParam });
    for (const kind of ['category', 'collection'] as const) {
      app.put(
        `/${kind === 'category' ? 'categories' : 'collections'}/:slug/translations/:locale`,
        {
          schema: {
            operationId: kind === 'category' ? 'putCategoryTranslation' : 'putCollectionTranslation',
            ...secured,
            summary: `Set the ${kind}’s ${kind === 'category' ? 'name' : 'name and description'} in one of the shop’s other languages`,
            params: TextParams,
            body: Type.Object(
              {
                name: Type.String({ minLength: 1, maxLength: 200 }),
                ...(kind === 'collection'
                  ? { description: Type.Optional(Type.String({ maxLength: 10_000 })) }
                  : {}),
              },
              { additionalProperties: false },
            ),
            response: {
              200: Type.Object({
                locale: Type.String(),
                name: Type.String(),
                description: Type.Optional(Type.String()),
              }),
              ...problems(400, 401, 403, 404),
            },
          },
        },
        async (request) =>
          service.saveTextTranslation(
            kind,
            request.params.slug,
            request.params.locale,
            request.body as { name: string; description?: string },
          ),
      );
    }
  };
}

/** Import files are larger than JSON bodies: 100,000 rows of a catalog fit. */
const IMPORT_LIMIT_BYTES = 64 * 1024 * 1024;

const ImportReportSchema = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  errors: Type.Array(
    Type.Object({
      row: Type.Integer({ description: 'the line of the file; the header is line 1' }),
      column: Type.Optional(Type.String()),
      message: Type.String(),
    }),
    { description: 'empty when the import was written (or, in a dry run, would be)' },
  ),
});

const ImportJobSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  dryRun: Type.Boolean(),
  progress: Type.Object(
    { done: Type.Integer(), total: Type.Integer() },
    { description: "products handled of the file's products (0 of 0 until the file is read)" },
  ),
  report: Type.Optional(ImportReportSchema),
  error: Type.Optional(Type.String({ description: 'why a failed job stopped' })),
});

/** The catalog as CSV: exported as a stream, imported whole or not at all. */
function csvRoutes(service: CatalogService) {
  return async (scope: FastifyInstance) => {
    scope.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: IMPORT_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const secured = { tags: ['catalog'], security: STAFF };
    app.get(
      '/products/export',
      {
        schema: {
          operationId: 'exportProducts',
          ...secured,
          summary: 'Every live product as CSV, one row per variant (streamed; the columns an import takes)',
          response: {
            200: {
              description: 'The catalog',
              content: { 'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string' }) } },
            },
            ...problems(401, 403),
          },
        },
      },
      async (_request, reply) =>
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="products.csv"')
          .header('cache-control', 'no-store')
          .send(Readable.from(service.exportCsv())),
    );
    app.post(
      '/products/import',
      {
        schema: {
          operationId: 'importProducts',
          ...secured,
          summary:
            'Create and replace products from CSV (matched by slug); any mistake, or dryRun, writes nothing',
          querystring: Type.Object({
            dryRun: Type.Optional(Type.Boolean({ default: false, description: 'check only: never writes' })),
          }),
          headers: Type.Object({
            prefer: Type.Optional(
              Type.String({
                description:
                  '`respond-async` (RFC 7240): 202 at once with the job, followed at GET /v1/jobs/{id}',
              }),
            ),
          }),
          body: { content: { 'text/csv': { schema: Type.String({ maxLength: IMPORT_LIMIT_BYTES }) } } },
          response: {
            200: ImportReportSchema,
            202: ImportJobSchema,
            ...problems(400, 401, 403, 409, 413, 415),
          },
        },
      },
      async (request, reply) => {
        const text = request.body as string;
        const dryRun = request.query.dryRun ?? false;
        if (!/\brespond-async\b/i.test(request.headers.prefer ?? '')) return service.importCsv(text, dryRun);
        const job = await service.startImport(text, dryRun, request.principal?.id);
        return reply
          .code(202)
          .header('location', `/v1/jobs/${job.id}`)
          .header('preference-applied', 'respond-async')
          .send(job);
      },
    );
    app.get(
      '/jobs/:id',
      {
        schema: {
          operationId: 'getJob',
          ...secured,
          summary: 'A background import: its progress, then its report',
          params: IdParams,
          response: { 200: ImportJobSchema, ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        return service.job(request.params.id);
      },
    );
  };
}

const ImageParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  imageId: Type.String({ format: 'uuid' }),
});
const ImageBytes = Type.Unsafe<Buffer>({ type: 'string', format: 'binary' });

/**
 * Uploading, arranging and serving product images. Multipart parsing lives in this scope only:
 * the uploaded file is held in memory (at most 10 MB) and its field in the body becomes its name,
 * so the body is validated like any other.
 */
function imageRoutes(images: ImageService) {
  const uploads = new WeakMap<FastifyRequest, Buffer>();
  return async (scope: FastifyInstance) => {
    await scope.register(multipart, {
      attachFieldsToBody: 'keyValues',
      limits: { fileSize: MAX_IMAGE_BYTES, files: 1, fields: 2, fieldSize: 1000, parts: 3 },
      async onFile(this: FastifyRequest, part) {
        uploads.set(this, await part.toBuffer());
        (part as unknown as { value: string }).value = part.filename || 'upload';
      },
    });
    // The form parser (busboy) throws plain errors for a body that is not the multipart it claims
    // to be; anything thrown here before the handler runs, without a status of its own, is that.
    const reachedHandler = new WeakSet<FastifyRequest>();
    scope.addHook('preHandler', async (request) => {
      reachedHandler.add(request);
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      if (reachedHandler.has(request) || error.statusCode || error instanceof DomainError) {
        return handleError(error, request, reply);
      }
      return sendProblem(
        request,
        reply,
        400,
        'BAD_REQUEST',
        'The form could not be read: send it as multipart/form-data',
      );
    });
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['catalog'];
    const secured = { tags, security: STAFF };

    app.post(
      '/products/:id/images',
      {
        schema: {
          operationId: 'uploadProductImage',
          ...secured,
          summary:
            'Add an image after the product’s others: multipart/form-data with the field `file` (and `alt`)',
          params: IdParams,
          body: { content: { 'multipart/form-data': { schema: ImageUpload } } },
          response: { 201: ImageSchema, ...problems(400, 401, 403, 404, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const file = uploads.get(request);
        if (!file) throw badRequest('VALIDATION_FAILED', 'Attach the image as the form field `file`');
        const { alt } = request.body as Static<typeof ImageUpload>;
        const image = await images.upload(request.params.id, file, alt?.trim() ?? '');
        return reply.code(201).header('location', image.url).header('cache-control', 'no-store').send(image);
      },
    );

    app.patch(
      '/products/:id/images/:imageId',
      {
        schema: {
          operationId: 'updateProductImage',
          ...secured,
          summary: 'Change an image’s alt text or its place in the order (0 makes it the main image)',
          params: ImageParams,
          body: { content: { 'application/merge-patch+json': { schema: ImagePatch } } },
          response: { 200: ImageSchema, ...problems(400, 401, 403, 404, 409, 415) },
        },
      },
      async (request) => {
        const change = request.body as Static<typeof ImagePatch>;
        return images.update(request.params.id, request.params.imageId, {
          ...change,
          ...(change.alt !== undefined ? { alt: change.alt.trim() } : {}),
        });
      },
    );

    app.delete(
      '/products/:id/images/:imageId',
      {
        schema: {
          operationId: 'deleteProductImage',
          ...secured,
          summary: 'Remove an image from a product (its files too)',
          params: ImageParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        await images.remove(request.params.id, request.params.imageId);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/images/:id',
      {
        schema: {
          operationId: 'getImage',
          tags,
          summary: 'An image, resized by `?w=` and in AVIF or WebP when the Accept header names them',
          params: IdParams,
          querystring: Type.Object({
            w: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 4096,
                description: `the width wanted: served at the next of ${RENDITION_WIDTHS.join(', ')} px, never wider than the image`,
              }),
            ),
          }),
          headers: IfNoneMatch,
          response: {
            200: {
              description: 'The image',
              content: {
                'image/avif': { schema: ImageBytes },
                'image/webp': { schema: ImageBytes },
                'image/jpeg': { schema: ImageBytes },
                'image/png': { schema: ImageBytes },
              },
            },
            304: NotModified,
            ...problems(400, 404),
          },
        },
      },
      async (request, reply) => {
        const rendition = await images.rendition(
          request.params.id,
          request.query.w,
          header(request, 'accept'),
        );
        // The bytes under an id never change, so caches may keep them for a year without asking again.
        reply
          .header('etag', rendition.etag)
          .header('vary', 'Accept')
          .header('cache-control', 'public, max-age=31536000, immutable');
        if (holdsVersion(request, rendition.etag)) return reply.code(304).send(null);
        return reply.code(200).type(rendition.contentType).send(rendition.bytes);
      },
    );
  };
}
