import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { IdParams, Money, Page, PageQuery, problems, Uuid } from '../../platform/http/schemas.ts';
import type { FulfillmentService } from './service.ts';
import { SIGNED_IN, STAFF } from '../../platform/http/auth.ts';

const ItemQuantities = Type.Array(
  Type.Object(
    { orderItemId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) },
    { additionalProperties: false },
  ),
  { minItems: 1, maxItems: 200 },
);

export const FulfillmentSchema = Type.Object({
  id: Uuid,
  orderId: Uuid,
  items: Type.Array(Type.Object({ orderItemId: Uuid, quantity: Type.Integer() })),
  carrier: Type.String(),
  trackingNumber: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const ReturnSchema = Type.Object({
  id: Uuid,
  orderId: Uuid,
  status: Type.Union([Type.Literal('requested'), Type.Literal('receiving'), Type.Literal('received')]),
  items: Type.Array(Type.Object({ orderItemId: Uuid, quantity: Type.Integer() })),
  reason: Type.String(),
  refund: Type.Optional(Money),
  createdAt: Type.String({ format: 'date-time' }),
  receivedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export function fulfillmentRoutes(service: FulfillmentService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['fulfillment'];

    app.post(
      '/orders/:id/fulfillments',
      {
        schema: {
          tags,
          security: STAFF,
          summary: 'Ship some or all items of an order',
          params: IdParams,
          body: Type.Object(
            {
              items: ItemQuantities,
              carrier: Type.String({ minLength: 1, maxLength: 100 }),
              trackingNumber: Type.String({ minLength: 1, maxLength: 100 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: FulfillmentSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await service.ship(request.principal!, request.params.id, request.body)),
    );

    app.post(
      '/orders/:id/returns',
      {
        schema: {
          tags,
          security: SIGNED_IN,
          summary: 'Ask to return shipped items (owner, within the return window)',
          params: IdParams,
          body: Type.Object(
            { items: ItemQuantities, reason: Type.String({ minLength: 1, maxLength: 500 }) },
            { additionalProperties: false },
          ),
          response: { 201: ReturnSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await service.requestReturn(request.principal!, request.params.id, request.body)),
    );

    app.get(
      '/returns',
      {
        schema: {
          tags,
          security: STAFF,
          summary: 'Returns, newest first (staff); filter by status',
          querystring: Type.Object(
            {
              ...PageQuery,
              status: Type.Optional(
                Type.Union([Type.Literal('requested'), Type.Literal('receiving'), Type.Literal('received')]),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(ReturnSchema), ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        service.listReturns({
          page: request.query.page ?? 1,
          size: request.query.size ?? 20,
          status: request.query.status,
        }),
    );

    app.post(
      '/returns/:id/receive',
      {
        schema: {
          tags,
          security: STAFF,
          summary: 'Receive a return: refund its share and put the stock back',
          params: IdParams,
          response: { 200: ReturnSchema, ...problems(401, 403, 404, 409, 503) },
        },
      },
      async (request) => service.receive(request.params.id, request.workContext.signal),
    );
  };
}
