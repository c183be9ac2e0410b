import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { badRequest } from '../../platform/errors.ts';
import { problems } from '../../platform/http/openapi.ts';
import type { PaymentsService } from './service.ts';

/**
 * The provider's webhook. Its signature covers the exact bytes sent, so this route reads the
 * body raw (its own content-type parser, in a scope of its own) and verifies before parsing.
 */
export function paymentsRoutes(service: PaymentsService) {
  // The bytes as sent, beside the parsed body the schema validates.
  const rawBodies = new WeakMap<FastifyRequest, Buffer>();
  return async (scope: FastifyInstance) => {
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
