import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { problems } from '../../platform/http/openapi.ts';
import type { PaymentsService } from './service.ts';

/**
 * The provider's webhook. Its signature covers the exact bytes sent, so this route reads the
 * body raw (its own content-type parser, in a scope of its own) and verifies before parsing.
 */
export function paymentsRoutes(service: PaymentsService) {
  return async (scope: FastifyInstance) => {
    await scope.register(async (raw) => {
      raw.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
        done(null, body),
      );
      raw.post(
        '/payments/stripe/webhook',
        {
          schema: {
            operationId: 'stripeWebhook',
            tags: ['payments'],
            summary: "Stripe's events (signed): payments that waited for the shopper settle; refunds and disputes are recorded",
            description:
              'Verifies `Stripe-Signature` against STRIPE_WEBHOOK_SECRET (five minutes tolerance); an event is applied once, however often it is sent.',
            headers: Type.Object({ 'stripe-signature': Type.Optional(Type.String({ maxLength: 2000 })) }),
            response: {
              200: Type.Object({ received: Type.Boolean(), applied: Type.Boolean() }),
              ...problems(400, 404),
            },
          },
        },
        async (request) => {
          const body = request.body;
          const rawBody = Buffer.isBuffer(body) ? body : Buffer.from('');
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
