import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { notFound } from '../../platform/errors.ts';
import { ORDER_HOLDER, orderViewerOf, SIGNED_IN, STAFF } from '../../platform/http/auth.ts';
import { IdempotencyKey } from '../../platform/http/idempotency.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, OrderTokenHeader, Page, PageQuery, Uuid } from '../../platform/http/schemas.ts';
import { OrderSchema } from '../ordering/index.ts';
import type { FulfillmentService } from './service.ts';

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
  items: Type.Array(
    Type.Object({
      orderItemId: Uuid,
      quantity: Type.Integer(),
      from: Type.Array(Type.Object({ location: Type.String(), quantity: Type.Integer() }), {
        description: 'The stock locations its units leave from: where they were reserved and sold',
      }),
    }),
  ),
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
  storeCredit: Type.Optional(Money),
  replacementOrderId: Type.Optional(
    Type.String({ format: 'uuid', description: 'An exchange: the order that ships the replacements' }),
  ),
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
          operationId: 'shipOrderItems',
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
          response: { 201: FulfillmentSchema, ...problems(400, 401, 403, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const fulfillment = await service.ship(request.principal!, request.params.id, request.body);
        return reply
          .code(201)
          .header('location', `/v1/orders/${fulfillment.orderId}/fulfillments/${fulfillment.id}`)
          .send(fulfillment);
      },
    );

    app.get(
      '/orders/:id/fulfillments',
      {
        schema: {
          operationId: 'listOrderFulfillments',
          tags,
          security: ORDER_HOLDER,
          summary:
            "An order's shipments with carrier and tracking number (owner, staff, or a guest with the order's Order-Token)",
          headers: OrderTokenHeader,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(FulfillmentSchema) }), ...problems(401, 404) },
        },
      },
      async (request) => ({ items: await service.fulfillmentsOf(orderViewerOf(request), request.params.id) }),
    );

    app.get(
      '/orders/:id/fulfillments/:fulfillmentId',
      {
        schema: {
          operationId: 'getOrderFulfillment',
          tags,
          security: ORDER_HOLDER,
          summary: "One shipment of an order (owner, staff, or a guest with the order's Order-Token)",
          headers: OrderTokenHeader,
          params: Type.Object({ id: Uuid, fulfillmentId: Uuid }),
          response: { 200: FulfillmentSchema, ...problems(401, 404) },
        },
      },
      async (request) => {
        const all = await service.fulfillmentsOf(orderViewerOf(request), request.params.id);
        const found = all.find((fulfillment) => fulfillment.id === request.params.fulfillmentId);
        if (!found) throw notFound('Shipment');
        return found;
      },
    );

    app.get(
      '/orders/:id/returns',
      {
        schema: {
          operationId: 'listOrderReturns',
          tags,
          security: ORDER_HOLDER,
          summary:
            "An order's returns and their status (owner, staff, or a guest with the order's Order-Token)",
          headers: OrderTokenHeader,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(ReturnSchema) }), ...problems(401, 404) },
        },
      },
      async (request) => ({ items: await service.returnsOf(orderViewerOf(request), request.params.id) }),
    );

    app.post(
      '/orders/:id/returns',
      {
        schema: {
          operationId: 'requestReturn',
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
      async (request, reply) => {
        const created = await service.requestReturn(request.principal!, request.params.id, request.body);
        return reply.code(201).header('location', `/v1/returns/${created.id}`).send(created);
      },
    );

    app.get(
      '/returns/:id',
      {
        schema: {
          operationId: 'getReturn',
          tags,
          security: ORDER_HOLDER,
          summary: "One return (the owner of its order, staff, or a guest with the order's Order-Token)",
          headers: OrderTokenHeader,
          params: IdParams,
          response: { 200: ReturnSchema, ...problems(401, 404) },
        },
      },
      async (request) => service.getReturn(orderViewerOf(request), request.params.id),
    );

    app.get(
      '/returns',
      {
        schema: {
          operationId: 'listReturns',
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
          operationId: 'receiveReturn',
          tags,
          security: STAFF,
          summary: 'Receive a return: refund its share and put the stock back',
          params: IdParams,
          response: { 200: ReturnSchema, ...problems(401, 403, 404, 409, 503) },
        },
      },
      async (request) => service.receive(request.params.id, request.workContext.signal),
    );

    app.post(
      '/returns/:id/exchange',
      {
        schema: {
          operationId: 'exchangeReturn',
          tags,
          security: STAFF,
          summary:
            'Receive a return as an exchange: its refund pays replacements first, the difference settled either way',
          description:
            'The replacements are priced now for the customer and address and placed as a new order, paid ' +
            "first by the return's refund (as store credit), by `payment.token` for any rest; a refund " +
            'beyond their price goes back to the card. The same Idempotency-Key answers the same order.',
          params: IdParams,
          headers: Type.Object({ 'idempotency-key': IdempotencyKey }),
          body: Type.Object(
            {
              replacements: Type.Array(
                Type.Object(
                  { variantId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 999 }) },
                  { additionalProperties: false },
                ),
                { minItems: 1, maxItems: 100 },
              ),
              payment: Type.Optional(
                Type.Object(
                  { token: Type.String({ minLength: 1, maxLength: 100 }) },
                  { additionalProperties: false },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ return: ReturnSchema, order: OrderSchema }),
            202: Type.Object({ return: ReturnSchema, order: OrderSchema }),
            ...problems(400, 401, 402, 403, 404, 409, 503),
          },
        },
      },
      async (request, reply) => {
        const { return: received, order } = await service.exchange(
          request.params.id,
          {
            replacements: request.body.replacements,
            paymentToken: request.body.payment?.token,
            key: `${request.params.id}:${request.headers['idempotency-key']}`,
          },
          request.workContext.signal,
        );
        return reply.code(order.status).send({ return: received, order: order.order });
      },
    );
  };
}
