import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import type { InventoryService, Stock } from './service.ts';

const LocationCode = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
  description: 'Lower-case letters, digits and hyphens (for example `berlin-1`)',
});

const Counts = {
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer({ description: 'On hand less reserved' }),
};

export const StockSchema = Type.Object({
  sku: Type.String(),
  ...Counts,
  locations: Type.Array(Type.Object({ code: LocationCode, ...Counts }), {
    description: 'Each location holding the SKU, first by priority; the totals are their sums',
  }),
});

export const LowStockSchema = Type.Object({
  sku: Type.String(),
  variantId: Type.String({ format: 'uuid' }),
  productId: Type.Optional(Type.String({ format: 'uuid' })),
  productName: Type.String(),
  ...Counts,
  threshold: Type.Integer(),
});

const LocationFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  priority: Type.Integer({
    minimum: 0,
    maximum: 1000,
    description: 'Lower comes first when an order draws stock (after the locations serving its country)',
  }),
  countries: Type.Array(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }), {
    maxItems: 250,
    description: 'The countries this location ships to first',
  }),
};

export const StockLocationSchema = Type.Object({ code: LocationCode, ...LocationFields });

const SkuParams = Type.Object({ sku: Type.String({ minLength: 1, maxLength: 64 }) });
const OnHandBody = Type.Object(
  { onHand: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) },
  { additionalProperties: false },
);

/** A move of stock answered as made: 201 with the SKU's stock after it, at its own address. */
const movedStock = (reply: FastifyReply, stock: Stock) =>
  reply
    .code(201)
    .header('location', `/v1/inventory/${encodeURIComponent(stock.sku)}`)
    .send(stock);

export function inventoryRoutes(service: InventoryService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['inventory'], security: STAFF };

    app.get(
      '/low-stock',
      {
        schema: {
          operationId: 'listLowStock',
          ...common,
          summary: 'Variants at or below their low-stock threshold, the emptiest first',
          querystring: Type.Object(
            { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              items: Type.Array(LowStockSchema),
            }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request) => ({ items: await service.lowStock(request.query.limit ?? 10) }),
    );

    app.get(
      '/inventory/:sku',
      {
        schema: {
          operationId: 'getStock',
          ...common,
          summary: 'Stock of a SKU',
          params: SkuParams,
          response: { 200: StockSchema, ...problems(401, 403, 404) },
        },
      },
      async (request) => service.get(request.params.sku),
    );

    app.put(
      '/inventory/:sku',
      {
        schema: {
          operationId: 'setStock',
          ...common,
          summary: 'Set on-hand stock at the first location holding the SKU (absolute; audited)',
          params: SkuParams,
          body: OnHandBody,
          response: { 200: StockSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => service.setOnHand(request.params.sku, request.body.onHand, request.principal!.id),
    );

    app.post(
      '/inventory/:sku/adjustments',
      {
        schema: {
          operationId: 'adjustStock',
          ...common,
          summary: 'Adjust on-hand stock at the first location holding the SKU by a delta (audited)',
          params: SkuParams,
          body: Type.Object(
            {
              delta: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000, not: { const: 0 } }),
              reason: Type.String({ minLength: 1, maxLength: 200 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: StockSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) =>
        movedStock(
          reply,
          await service.adjust(
            request.params.sku,
            request.body.delta,
            request.body.reason,
            request.principal!.id,
          ),
        ),
    );

    app.put(
      '/inventory/:sku/locations/:code',
      {
        schema: {
          operationId: 'setLocationStock',
          ...common,
          summary: 'Set on-hand stock at one location (absolute; audited)',
          params: Type.Object({ sku: SkuParams.properties.sku, code: LocationCode }),
          body: OnHandBody,
          response: { 200: StockSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) =>
        service.setLocationOnHand(
          request.params.sku,
          request.params.code,
          request.body.onHand,
          request.principal!.id,
        ),
    );

    app.post(
      '/inventory/:sku/transfers',
      {
        schema: {
          operationId: 'transferStock',
          ...common,
          summary: 'Move free units between two locations (audited; the totals stay)',
          params: SkuParams,
          body: Type.Object(
            {
              from: LocationCode,
              to: LocationCode,
              quantity: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: StockSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) =>
        movedStock(reply, await service.transfer(request.params.sku, request.body, request.principal!.id)),
    );

    app.get(
      '/stock-locations',
      {
        schema: {
          operationId: 'listStockLocations',
          ...common,
          summary: 'The places stock is kept, first by priority',
          response: { 200: Type.Object({ items: Type.Array(StockLocationSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.locations() }),
    );

    app.post(
      '/stock-locations',
      {
        schema: {
          operationId: 'createStockLocation',
          ...common,
          summary: 'Add a place stock is kept',
          body: Type.Object(
            { code: LocationCode, ...LocationFields, countries: Type.Optional(LocationFields.countries) },
            { additionalProperties: false },
          ),
          response: { 201: StockLocationSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .header('location', `/v1/stock-locations/${request.body.code}`)
          .send(await service.createLocation({ countries: [], ...request.body })),
    );

    app.patch(
      '/stock-locations/:code',
      {
        schema: {
          operationId: 'updateStockLocation',
          ...common,
          summary: 'Rename a location, or change its priority or countries',
          params: Type.Object({ code: LocationCode }),
          body: Type.Partial(Type.Object(LocationFields), { additionalProperties: false, minProperties: 1 }),
          response: { 200: StockLocationSchema, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => service.updateLocation(request.params.code, request.body),
    );
  };
}
