import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { SIGNED_IN, STAFF } from '../../platform/http/auth.ts';
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
    Type.Literal('credited'),
    Type.Literal('debited'),
  ]),
  orderId: Type.Optional(Uuid),
  reason: Type.Optional(Type.String({ description: 'Why staff credited or debited a store credit' })),
  at: Type.String({ format: 'date-time' }),
});

export const IssuedGiftCardSchema = Type.Object({
  ...giftCardFields,
  code: Type.String({ description: 'Shown in this answer only' }),
});
export const GiftCardDetailSchema = Type.Object({ ...giftCardFields, entries: Type.Array(EntrySchema) });

export const StoreCreditSchema = Type.Object({
  balance: Money,
  entries: Type.Array(EntrySchema, {
    description: 'Every change to it, oldest first; their sum is the balance',
  }),
});

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

    app.patch(
      '/gift-cards/:id',
      {
        schema: {
          operationId: 'updateGiftCard',
          tags,
          security: STAFF,
          summary:
            'Change a gift card’s expiry (now or earlier stops a lost card at once; null: never) or note',
          params: IdParams,
          body: Type.Object(
            {
              expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
              note: Type.Optional(PlainText({ maxLength: 200 })),
            },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: GiftCardSchema, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => service.update(request.params.id, request.body),
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

    app.get(
      '/customers/:id/store-credit',
      {
        schema: {
          operationId: 'getStoreCredit',
          tags: ['customers'],
          security: STAFF,
          summary: "A customer's store credit with every change to it",
          params: IdParams,
          response: { 200: StoreCreditSchema, ...problems(401, 403) },
        },
      },
      async (request) => service.storeCredit(request.params.id),
    );

    app.post(
      '/customers/:id/store-credit',
      {
        schema: {
          operationId: 'adjustStoreCredit',
          tags: ['customers'],
          security: STAFF,
          summary:
            "Credit (a positive amount) or debit (a negative one) a customer's store credit, with the reason",
          params: IdParams,
          body: Type.Object(
            {
              amount: Type.Object(
                {
                  amount: Type.Integer({
                    minimum: -100_000_000,
                    maximum: 100_000_000,
                    description: 'signed, minor units',
                  }),
                  currency: Money.properties.currency,
                },
                { additionalProperties: false },
              ),
              reason: PlainText({ minLength: 1, maxLength: 200 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: StoreCreditSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .header('location', `/v1/customers/${request.params.id}/store-credit`)
          .send(await service.adjustStoreCredit(request.principal!.id, request.params.id, request.body)),
    );

    app.get(
      '/users/me/store-credit',
      {
        schema: {
          operationId: 'getMyStoreCredit',
          tags: ['accounts'],
          security: SIGNED_IN,
          summary: 'Your store credit, and every change to it',
          response: { 200: StoreCreditSchema, ...problems(401) },
        },
      },
      async (request) => service.storeCredit(request.principal!.id),
    );
  };
}
