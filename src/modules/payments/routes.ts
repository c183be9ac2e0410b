import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { badRequest } from '../../platform/errors.ts';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import type { PaymentsService } from './service.ts';

export const DriftSchema = Type.Object({
  orderId: Type.String({ format: 'uuid' }),
  kind: Type.Union([Type.Literal('status'), Type.Literal('captured'), Type.Literal('refunded')]),
  ours: Type.Union([Type.String(), Type.Integer()], { description: 'a status, or minor units' }),
  theirs: Type.Union([Type.String(), Type.Integer()], { description: 'a status, or minor units' }),
  currency: Type.String(),
  foundAt: Type.String({ format: 'date-time' }),
});

/**
 * The provider's webhook. Its signature covers the exact bytes sent, so this route reads the
 * body raw (its own content-type parser, in a scope of its own) and verifies before parsing.
 */
export function paymentsRoutes(service: PaymentsService, options: { stripeWebhook: boolean }) {
  // The bytes as sent, beside the parsed body the schema validates.
  const rawBodies = new WeakMap<FastifyRequest, Buffer>();
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/payments/drift',
      {
        schema: {
          operationId: 'listPaymentDrift',
          tags: ['payments'],
          security: STAFF,
          summary: "Where our payment ledger and the provider's disagree, newest first (reconciliation)",
          response: {
            200: Type.Object({
              items: Type.Array(DriftSchema),
            }),
            ...problems(401, 403),
          },
        },
      },
      async () => ({ items: await service.drifts() }),
    );
    if (!options.stripeWebhook) return;
    await scope.register(async (raw) => {
      raw.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
        rawBodies.set(request, body as Buffer);
        try {
          done(null, JSON.parse((body as Buffer).toString('utf8')));
        } catch {
          done(badRequest('MALFORMED_JSON', 'The body is not valid JSON'), undefined);
        }
      });
      raw.post(
        '/payments/stripe/webhook',
        {
          schema: {
            operationId: 'stripeWebhook',
            tags: ['payments'],
            summary:
              "Stripe's events (signed): payments that waited for the shopper settle; refunds and disputes are recorded",
            description:
              'Verifies `Stripe-Signature` against STRIPE_WEBHOOK_SECRET (five minutes tolerance); an event is applied once, however often it is sent.',
            headers: Type.Object({ 'stripe-signature': Type.Optional(Type.String({ maxLength: 2000 })) }),
            body: Type.Object(
              { id: Type.String(), type: Type.String() },
              { additionalProperties: true, description: 'A Stripe Event, exactly as Stripe sent it' },
            ),
            response: {
              200: Type.Object({ received: Type.Boolean(), applied: Type.Boolean() }),
              ...problems(400, 404),
            },
          },
        },
        async (request) => {
          const rawBody = rawBodies.get(request) ?? Buffer.alloc(0);
          const signature = request.headers['stripe-signature'];
          const { applied } = await service.applyWebhook(
            rawBody,
            typeof signature === 'string' ? signature : undefined,
          );
          return { received: true, applied };
        },
      );
    });
  };
}
