import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Page, PageQuery, Uuid } from '../../platform/http/schemas.ts';
import type { WebhookService } from './service.ts';

export const EndpointSchema = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});

const AttemptSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  succeeded: Type.Boolean(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  responseSnippet: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const DeliverySchema = Type.Object({
  id: Uuid,
  eventId: Uuid,
  eventType: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('dead')]),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  attempts: Type.Array(AttemptSchema),
});

/** `eventTypes`: every type the system emits; a subscription to anything else is refused (400). */
export function webhookRoutes(service: WebhookService, eventTypes: readonly string[]) {
  const EventType = Type.String({
    pattern: '^(\\*|[a-z_]+(\\.[a-z_]+)*(\\.\\*)?)$',
    maxLength: 100,
    description: `An event type, or a prefix wildcard (\`order.*\`), or \`*\` for every event. The types: ${eventTypes.join(', ')}. Another name is 400 UNKNOWN_EVENT_TYPE.`,
  });
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['webhooks'], security: STAFF };

    app.post(
      '/webhooks',
      {
        schema: {
          operationId: 'createWebhook',
          ...common,
          summary: 'Register a webhook endpoint (the signing secret is returned only here)',
          body: Type.Object(
            {
              url: Type.String({ minLength: 8, maxLength: 2000 }),
              events: Type.Array(EventType, { minItems: 1, maxItems: 50 }),
              secret: Type.Optional(Type.String({ minLength: 24, maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ ...EndpointSchema.properties, secret: Type.String() }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request, reply) => {
        const endpoint = await service.register(request.body, request.principal!.id);
        return reply.code(201).header('location', `/v1/webhooks/${endpoint.id}`).send(endpoint);
      },
    );

    app.get(
      '/webhooks',
      {
        schema: {
          operationId: 'listWebhooks',
          ...common,
          summary: 'List webhook endpoints',
          querystring: Type.Object(PageQuery),
          response: { 200: Page(EndpointSchema), ...problems(401, 403) },
        },
      },
      async (request) => {
        const { page = 1, size = 20 } = request.query;
        return { ...(await service.list(size, (page - 1) * size)), page, size };
      },
    );

    app.get(
      '/webhooks/:id/deliveries',
      {
        schema: {
          operationId: 'listWebhookDeliveries',
          ...common,
          summary: "An endpoint's deliveries, newest first, each with its attempts",
          params: IdParams,
          querystring: Type.Object(PageQuery),
          response: { 200: Page(DeliverySchema), ...problems(401, 403, 404) },
        },
      },
      async (request) => {
        const { page = 1, size = 20 } = request.query;
        return { ...(await service.deliveries(request.params.id, size, (page - 1) * size)), page, size };
      },
    );

    app.post(
      '/webhooks/:id/deliveries/:deliveryId/replay',
      {
        schema: {
          operationId: 'replayWebhookDelivery',
          ...common,
          summary: 'Send a delivery again (e.g. a dead-lettered one) with a fresh retry budget',
          params: Type.Object({ id: Uuid, deliveryId: Uuid }),
          response: { 202: DeliverySchema, ...problems(401, 403, 404) },
        },
      },
      async (request, reply) =>
        reply.code(202).send(await service.replay(request.params.id, request.params.deliveryId)),
    );
  };
}
