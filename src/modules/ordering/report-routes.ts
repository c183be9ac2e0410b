import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, Uuid } from '../../platform/http/schemas.ts';
import type { SalesReports } from './reports.ts';
import type { OrderTimeline } from './timeline.ts';

const At = Type.String({ format: 'date-time' });

const PeriodSalesSchema = {
  from: At,
  to: At,
  sales: Money,
  orders: Type.Integer({ minimum: 0 }),
  averageOrderValue: Money,
};

export const SalesReportSchema = Type.Object({
  ...PeriodSalesSchema,
  interval: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]),
  previous: Type.Object(PeriodSalesSchema, { description: 'The period of the same length just before' }),
  otherCurrencies: Type.Array(Type.Object({ sales: Money, orders: Type.Integer() }), {
    description: "Paid orders in currencies other than the store's (not in sales)",
  }),
  series: Type.Array(Type.Object({ start: At, sales: Money, orders: Type.Integer() }), {
    description: 'Every interval of the period (UTC), empty ones included',
  }),
  byStatus: Type.Object({
    pending: Type.Integer(),
    confirmed: Type.Integer(),
    partially_shipped: Type.Integer(),
    shipped: Type.Integer(),
    cancelled: Type.Integer(),
  }),
  topProducts: Type.Array(
    Type.Object({
      variantId: Uuid,
      sku: Type.String(),
      name: Type.String(),
      quantity: Type.Integer(),
      sales: Money,
    }),
  ),
});

export const NoteSchema = Type.Object({
  id: Uuid,
  author: Type.String(),
  body: Type.String(),
  createdAt: At,
});

export const TimelineEntrySchema = Type.Union([
  Type.Object({
    kind: Type.Literal('event'),
    at: At,
    type: Type.String(),
    data: Type.Object({}, { additionalProperties: true }),
  }),
  Type.Object({ kind: Type.Literal('note'), at: At, id: Uuid, author: Type.String(), body: Type.String() }),
  Type.Object({
    kind: Type.Literal('email'),
    at: At,
    template: Type.String(),
    to: Type.String(),
    status: Type.Union([Type.Literal('queued'), Type.Literal('sent'), Type.Literal('failed')]),
  }),
  Type.Object({
    kind: Type.Literal('webhook'),
    at: At,
    eventType: Type.String(),
    url: Type.String(),
    endpointId: Uuid,
    deliveryId: Uuid,
    status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('dead')]),
    attempts: Type.Integer(),
  }),
]);

/** Staff's reading of the shop's orders: the sales report, each order's timeline and notes. */
export function reportRoutes(reports: SalesReports, timeline: OrderTimeline) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const staff = { tags: ['orders'], security: STAFF };

    app.get(
      '/reports/sales',
      {
        schema: {
          operationId: 'salesReport',
          ...staff,
          summary: 'Sales in a period by interval, against the period before; orders by status, top products',
          description:
            'Sales are paid orders (confirmed or shipped, even in part) in the store currency, totals less refunds. ' +
            'The period defaults to the 30 days before now.',
          querystring: Type.Object(
            {
              from: Type.Optional(At),
              to: Type.Optional(At),
              interval: Type.Optional(
                Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: SalesReportSchema, ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        reports.sales({
          from: request.query.from ? new Date(request.query.from) : undefined,
          to: request.query.to ? new Date(request.query.to) : undefined,
          interval: request.query.interval,
        }),
    );

    app.get(
      '/orders/:id/timeline',
      {
        schema: {
          operationId: 'orderTimeline',
          ...staff,
          summary:
            'What happened to an order, oldest first: its events, the mail and webhooks they caused, staff notes',
          params: IdParams,
          response: {
            200: Type.Object({ items: Type.Array(TimelineEntrySchema) }),
            ...problems(401, 403, 404),
          },
        },
      },
      async (request) => ({ items: await timeline.of(request.params.id) }),
    );

    app.post(
      '/orders/:id/notes',
      {
        schema: {
          operationId: 'addOrderNote',
          ...staff,
          summary:
            'A staff note on an order: shown on its timeline with who wrote it (customers never see it)',
          params: IdParams,
          body: Type.Object(
            { body: Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S' }) },
            { additionalProperties: false },
          ),
          response: { 201: NoteSchema, ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return timeline.addNote(request.params.id, request.principal!.id, request.body.body);
      },
    );
  };
}
