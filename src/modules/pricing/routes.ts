import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, Uuid } from '../../platform/http/schemas.ts';
import { DAYS_RULE, type PricingService } from './service.ts';

const Kind = Type.Union([Type.Literal('percentage'), Type.Literal('fixed'), Type.Literal('free_shipping')]);
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Country = Type.String({ pattern: '^[A-Z]{2}$' });

const PromotionSchema = Type.Object({
  id: Uuid,
  code: Type.String(),
  kind: Kind,
  value: Type.Integer(),
  currency: Type.Optional(Type.String()),
  minSubtotal: Type.Optional(Type.Integer()),
  startsAt: Type.Optional(Type.String({ format: 'date-time' })),
  endsAt: Type.Optional(Type.String({ format: 'date-time' })),
  usageLimit: Type.Optional(Type.Integer()),
  perCustomerLimit: Type.Optional(Type.Integer()),
  timesUsed: Type.Integer(),
  active: Type.Boolean(),
});

const promotionFields = {
  kind: Kind,
  value: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 100_000_000,
      description:
        'For `percentage`, a whole percent from 1 to 100; for `fixed`, an amount in minor units of `currency`; ignored for `free_shipping`',
    }),
  ),
  currency: Type.Optional(Currency),
  minSubtotal: Type.Optional(Type.Integer({ minimum: 0 })),
  startsAt: Type.Optional(Type.String({ format: 'date-time' })),
  endsAt: Type.Optional(Type.String({ format: 'date-time' })),
  usageLimit: Type.Optional(Type.Integer({ minimum: 1 })),
  perCustomerLimit: Type.Optional(Type.Integer({ minimum: 1 })),
};

export const ShippingMethodSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  country: Type.String(),
  price: Money,
  minDays: Type.Integer(),
  maxDays: Type.Integer(),
});

const shippingFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  country: Country,
  price: Money,
  minDays: Type.Integer({ minimum: 0, maximum: 365 }),
  maxDays: Type.Integer({ minimum: 0, maximum: 365 }),
};

const TaxRateSchema = Type.Object({
  country: Type.String(),
  rate: Type.Integer({ description: 'basis points' }),
  name: Type.String(),
});

export function pricingRoutes(service: PricingService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const promotions = { tags: ['pricing'], security: STAFF };

    app.post(
      '/promotions',
      {
        schema: {
          operationId: 'createPromotion',
          ...promotions,
          summary: 'Create a promotion code',
          body: Type.Object(
            {
              code: Type.String({ minLength: 2, maxLength: 40, pattern: '^[A-Za-z0-9_-]+$' }),
              ...promotionFields,
            },
            { additionalProperties: false },
          ),
          response: { 201: PromotionSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const promotion = await service.createPromotion(request.body);
        return reply.code(201).header('location', `/v1/promotions/${promotion.id}`).send(promotion);
      },
    );

    app.get(
      '/promotions/:id',
      {
        schema: {
          operationId: 'getPromotion',
          ...promotions,
          summary: 'One promotion, with how often it was used',
          params: IdParams,
          response: { 200: PromotionSchema, ...problems(401, 403, 404) },
        },
      },
      async (request) => service.getPromotion(request.params.id),
    );

    app.get(
      '/promotions',
      {
        schema: {
          operationId: 'listPromotions',
          ...promotions,
          summary: 'All promotions',
          response: { 200: Type.Object({ items: Type.Array(PromotionSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.listPromotions() }),
    );

    app.patch(
      '/promotions/:id',
      {
        schema: {
          operationId: 'updatePromotion',
          ...promotions,
          summary: 'Change a promotion',
          params: IdParams,
          body: Type.Object(
            {
              ...Type.Partial(Type.Object(promotionFields)).properties,
              active: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 200: PromotionSchema, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => service.updatePromotion(request.params.id, request.body),
    );

    app.delete(
      '/promotions/:id',
      {
        schema: {
          operationId: 'deactivatePromotion',
          ...promotions,
          summary: 'Deactivate a promotion',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.deactivatePromotion(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/tax-rates/:country',
      {
        schema: {
          operationId: 'setTaxRate',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Set the tax rate of a destination country',
          params: Type.Object({ country: Country }),
          body: Type.Object(
            {
              rate: Type.Integer({ minimum: 0, maximum: 10_000, description: 'basis points' }),
              name: Type.String({ minLength: 1, maxLength: 100 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: TaxRateSchema, ...problems(400, 401, 403) },
        },
      },
      async (request) => service.putTaxRate(request.params.country, request.body.rate, request.body.name),
    );

    app.get(
      '/tax-rates',
      {
        schema: {
          operationId: 'listTaxRates',
          tags: ['pricing'],
          summary: 'Tax rates by country',
          response: { 200: Type.Object({ items: Type.Array(TaxRateSchema) }) },
        },
      },
      async () => ({ items: await service.taxRates() }),
    );

    app.get(
      '/shipping-methods',
      {
        schema: {
          operationId: 'listShippingMethods',
          tags: ['pricing'],
          summary: 'Shipping methods, for a destination country',
          querystring: Type.Object({ country: Type.Optional(Country) }, { additionalProperties: false }),
          response: { 200: Type.Object({ items: Type.Array(ShippingMethodSchema) }), ...problems(400) },
        },
      },
      async (request) => ({ items: await service.shippingMethods(request.query.country) }),
    );

    app.post(
      '/shipping-methods',
      {
        schema: {
          operationId: 'createShippingMethod',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Create a shipping method',
          body: Type.Object(shippingFields, { additionalProperties: false, description: `${DAYS_RULE}.` }),
          response: { 201: ShippingMethodSchema, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const method = await service.createShippingMethod(request.body);
        return reply.code(201).header('location', `/v1/shipping-methods/${method.id}`).send(method);
      },
    );

    app.get(
      '/shipping-methods/:id',
      {
        schema: {
          operationId: 'getShippingMethod',
          tags: ['pricing'],
          summary: 'One shipping method on offer',
          params: IdParams,
          response: { 200: ShippingMethodSchema, ...problems(404) },
        },
      },
      async (request) => service.shippingMethod(request.params.id),
    );

    app.patch(
      '/shipping-methods/:id',
      {
        schema: {
          operationId: 'updateShippingMethod',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Change a shipping method',
          params: IdParams,
          body: Type.Partial(Type.Object(shippingFields), {
            additionalProperties: false,
            minProperties: 1,
            description: `${DAYS_RULE}.`,
          }),
          response: { 200: ShippingMethodSchema, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => service.updateShippingMethod(request.params.id, request.body),
    );

    app.delete(
      '/shipping-methods/:id',
      {
        schema: {
          operationId: 'retireShippingMethod',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Retire a shipping method',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.updateShippingMethod(request.params.id, { active: false });
        return reply.code(204).send(null);
      },
    );
  };
}
