import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import type { InventoryService } from './service.ts';

export const StockSchema = Type.Object({
  sku: Type.String(),
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
});
const SkuParams = Type.Object({ sku: Type.String({ minLength: 1, maxLength: 64 }) });

export function inventoryRoutes(service: InventoryService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['inventory'], security: STAFF };

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
          summary: 'Set on-hand stock (absolute; audited)',
          params: SkuParams,
          body: Type.Object(
            { onHand: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) },
            { additionalProperties: false },
          ),
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
          summary: 'Adjust on-hand stock by a delta (audited)',
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
        reply
          .code(201)
          .header('location', `/v1/inventory/${request.params.sku}`)
          .send(
            await service.adjust(
              request.params.sku,
              request.body.delta,
              request.body.reason,
              request.principal!.id,
            ),
          ),
    );
  };
}
