import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, Page, PageQuery, PlainText, Uuid } from '../../platform/http/schemas.ts';
import type { GiftCardService } from './service.ts';

const giftCardFields = {
  id: Uuid,
  last4: Type.String({ description: 'The last four characters of its code' }),
  balance: Money,
  initialBalance: Money,
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  note: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
};
export const GiftCardSchema = Type.Object(giftCardFields);

const EntrySchema = Type.Object({
  amount: Type.Object({
    amount: Type.Integer({ description: 'signed, minor units' }),
    currency: Type.String(),
  }),
  kind: Type.Union([
    Type.Literal('issued'),
    Type.Literal('redeemed'),
    Type.Literal('released'),
    Type.Literal('refunded'),
    Type.Literal('revoked'),
  ]),
  orderId: Type.Optional(Uuid),
  at: Type.String({ format: 'date-time' }),
});

export const IssuedGiftCardSchema = Type.Object({
  ...giftCardFields,
  code: Type.String({ description: 'Shown in this answer only' }),
});
export const GiftCardDetailSchema = Type.Object({ ...giftCardFields, entries: Type.Array(EntrySchema) });

/** A code as the shopper types it: the 16 characters, with or without spaces and hyphens. */
export const GiftCardCode = Type.String({ minLength: 16, maxLength: 40, pattern: '^[A-Za-z0-9 -]+$' });

export function giftCardRoutes(service: GiftCardService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['gift-cards'];

    app.post(
      '/gift-cards',
      {
        schema: {
          operationId: 'issueGiftCard',
          tags,
          security: STAFF,
          summary: 'Issue a gift card; its code is in this answer only',
          body: Type.Object(
            {
              balance: Money,
              expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
              note: Type.Optional(PlainText({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: {
            201: IssuedGiftCardSchema,
            ...problems(400, 401, 403),
          },
        },
      },
      async (request, reply) => {
        const card = await service.issue(request.principal!.id, request.body);
        return reply.code(201).header('location', `/v1/gift-cards/${card.id}`).send(card);
      },
    );

    app.get(
      '/gift-cards',
      {
        schema: {
          operationId: 'listGiftCards',
          tags,
          security: STAFF,
          summary: 'Gift cards, newest first (never their codes)',
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(GiftCardSchema), ...problems(400, 401, 403) },
        },
      },
      async (request) => service.list({ page: request.query.page ?? 1, size: request.query.size ?? 20 }),
    );

    app.get(
      '/gift-cards/:id',
      {
        schema: {
          operationId: 'getGiftCard',
          tags,
          security: STAFF,
          summary: 'A gift card with every change to its balance (their sum is the balance)',
          params: IdParams,
          response: {
            200: GiftCardDetailSchema,
            ...problems(401, 403, 404),
          },
        },
      },
      async (request) => service.get(request.params.id),
    );

    app.post(
      '/gift-cards/balance',
      {
        schema: {
          operationId: 'giftCardBalance',
          tags,
          summary: 'What is left on a gift card, for whoever holds its code',
          body: Type.Object({ code: GiftCardCode }, { additionalProperties: false }),
          response: {
            200: Type.Pick(GiftCardSchema, ['last4', 'balance', 'expiresAt']),
            ...problems(400, 404),
          },
        },
      },
      async (request) => service.balanceOf(request.body.code),
    );
  };
}
