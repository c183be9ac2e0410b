import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { needs, STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, TaxClassCode, Uuid } from '../../platform/http/schemas.ts';
import { DAYS_RULE, type PricingService } from './service.ts';

const Kind = Type.Union([
  Type.Literal('percentage'),
  Type.Literal('fixed'),
  Type.Literal('free_shipping'),
  Type.Literal('buy_x_get_y'),
]);
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Country = Type.String({ pattern: '^[A-Z]{2}$' });

const Target = Type.Object(
  {
    productIds: Type.Optional(Type.Array(Uuid, { maxItems: 500, uniqueItems: true })),
    categorySlugs: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100, uniqueItems: true }),
    ),
    collectionSlugs: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: 100,
        uniqueItems: true,
        description: 'products in any of these collections (GET /v1/collections), by hand or by their rules',
      }),
    ),
    minQuantity: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description: 'units of the targeted items the cart must hold',
      }),
    ),
    customerGroups: Type.Optional(
      Type.Array(Uuid, {
        maxItems: 50,
        uniqueItems: true,
        description: 'only for signed-in members of any of these customer groups',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The items it discounts: those of any product listed or in any category listed (or below it); nothing listed, every item',
  },
);

const PromotionSchema = Type.Object({
  id: Uuid,
  code: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  automatic: Type.Boolean(),
  kind: Kind,
  value: Type.Integer(),
  buyQuantity: Type.Optional(Type.Integer()),
  getQuantity: Type.Optional(Type.Integer()),
  percentOff: Type.Optional(Type.Integer()),
  target: Type.Optional(Target),
  priority: Type.Integer(),
  stackable: Type.Boolean(),
  budget: Type.Optional(Type.Integer()),
  discountGiven: Type.Integer({ description: 'discount given so far by orders not cancelled, minor units' }),
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
  name: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'what the shopper reads, e.g. "3 for 2 on mugs"',
    }),
  ),
  automatic: Type.Optional(
    Type.Boolean({ description: 'applies to every cart it fits, without a code (default false)' }),
  ),
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
  buyQuantity: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, description: 'buy_x_get_y: units bought' }),
  ),
  getQuantity: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 100,
      description: 'buy_x_get_y: units then discounted, the cheapest first',
    }),
  ),
  percentOff: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 100,
      description: 'buy_x_get_y: percent off each discounted unit (100: free)',
    }),
  ),
  target: Type.Optional(Target),
  priority: Type.Optional(
    Type.Integer({
      minimum: -1000,
      maximum: 1000,
      description: 'promotions apply highest first, each to what the earlier left (default 0)',
    }),
  ),
  stackable: Type.Optional(
    Type.Boolean({
      description: 'false: once it gives a discount, the promotions after it do not apply (default true)',
    }),
  ),
  budget: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 2_000_000_000,
      description: 'the most it may give away in all, minor units of `currency`; counted at checkout',
    }),
  ),
};

const ListPrice = Type.Object(
  {
    variantId: Uuid,
    amount: Money,
    minQuantity: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description: 'the price applies from this many units (tiers); default 1',
      }),
    ),
  },
  { additionalProperties: false },
);

const PriceListSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  customerGroup: Type.Optional(Uuid),
  startsAt: Type.Optional(Type.String({ format: 'date-time' })),
  endsAt: Type.Optional(Type.String({ format: 'date-time' })),
  active: Type.Boolean(),
  prices: Type.Array(Type.Object({ variantId: Uuid, amount: Money, minQuantity: Type.Integer() })),
});

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
  taxClass: Type.String(),
  rate: Type.Integer({ description: 'basis points' }),
  name: Type.String(),
});
const TaxClassSchema = Type.Object({ code: TaxClassCode, name: Type.String() });

const RegionCode = Type.String({ pattern: '^[a-z][a-z0-9-]{1,31}$', description: 'e.g. eu, uk, us' });
const regionFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  currency: Currency,
  countries: Type.Array(Country, {
    maxItems: 250,
    description: 'ISO 3166-1 alpha-2; each in one region at most',
  }),
  taxInclusive: Type.Boolean({ description: 'prices shown and charged contain the tax (EU shelves)' }),
};
export const RegionSchema = Type.Object({ code: RegionCode, ...regionFields });

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
          summary: 'Create a promotion: a code, or automatic',
          body: Type.Object(
            {
              code: Type.Optional(
                Type.String({
                  minLength: 2,
                  maxLength: 40,
                  pattern: '^[A-Za-z0-9_-]+$',
                  description: 'what the shopper enters; required unless automatic',
                }),
              ),
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

    app.post(
      '/promotions/:id/simulate',
      {
        schema: {
          operationId: 'simulatePromotion',
          tags: ['pricing'],
          // It changes nothing: reading promotions is enough.
          security: needs('pricing:read'),
          summary: 'Replay the orders of a period against a promotion, draft or not, changing nothing',
          params: IdParams,
          body: Type.Object(
            {
              from: Type.String({ format: 'date-time' }),
              to: Type.String({ format: 'date-time' }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              from: Type.String({ format: 'date-time' }),
              to: Type.String({ format: 'date-time' }),
              orders: Type.Integer({ description: 'orders replayed (the newest 10 000 at most)' }),
              truncated: Type.Boolean({ description: 'there were more orders than were replayed' }),
              qualifying: Type.Integer({
                description: 'orders it would have discounted, within its limits and budget',
              }),
              customers: Type.Integer(),
              cost: Type.Array(Money, {
                description: 'what it would have cost, per currency (goods and shipping)',
              }),
              refusedByLimits: Type.Integer({
                description: 'orders it fitted that its limits or budget would have refused',
              }),
            }),
            ...problems(400, 401, 403, 404),
          },
        },
      },
      async (request) => service.simulate(request.params.id, request.body),
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

    const priceLists = { tags: ['pricing'], security: STAFF };

    app.post(
      '/price-lists',
      {
        schema: {
          operationId: 'createPriceList',
          ...priceLists,
          summary: 'Create a price list: prices for a customer group, a date window, from a quantity',
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 100 }),
              customerGroup: Type.Optional(
                Type.String({
                  format: 'uuid',
                  description: 'only its members get these prices; absent, everyone',
                }),
              ),
              startsAt: Type.Optional(Type.String({ format: 'date-time' })),
              endsAt: Type.Optional(Type.String({ format: 'date-time' })),
              prices: Type.Array(ListPrice, { minItems: 1, maxItems: 1000 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: PriceListSchema, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const list = await service.createPriceList(request.body);
        return reply.code(201).header('location', `/v1/price-lists/${list.id}`).send(list);
      },
    );

    app.get(
      '/price-lists',
      {
        schema: {
          operationId: 'listPriceLists',
          ...priceLists,
          summary: 'Every price list, newest first',
          response: { 200: Type.Object({ items: Type.Array(PriceListSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.listPriceLists() }),
    );

    app.get(
      '/price-lists/:id',
      {
        schema: {
          operationId: 'getPriceList',
          ...priceLists,
          summary: 'One price list',
          params: IdParams,
          response: { 200: PriceListSchema, ...problems(401, 403, 404) },
        },
      },
      async (request) => service.getPriceList(request.params.id),
    );

    app.delete(
      '/price-lists/:id',
      {
        schema: {
          operationId: 'deactivatePriceList',
          ...priceLists,
          summary: 'Deactivate a price list: carts go back to the prices without it',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.deactivatePriceList(request.params.id);
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
          summary: 'Set the tax rate of a destination country for a tax class',
          params: Type.Object({ country: Country }),
          body: Type.Object(
            {
              rate: Type.Integer({ minimum: 0, maximum: 10_000, description: 'basis points' }),
              name: Type.String({ minLength: 1, maxLength: 100 }),
              taxClass: Type.Optional(TaxClassCode),
            },
            { additionalProperties: false },
          ),
          response: { 200: TaxRateSchema, ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        service.putTaxRate({
          country: request.params.country,
          taxClass: request.body.taxClass ?? 'standard',
          rate: request.body.rate,
          name: request.body.name,
        }),
    );

    app.get(
      '/tax-classes',
      {
        schema: {
          operationId: 'listTaxClasses',
          tags: ['pricing'],
          summary: 'The tax classes variants are sold under',
          response: { 200: Type.Object({ items: Type.Array(TaxClassSchema) }) },
        },
      },
      async () => ({ items: await service.taxClasses() }),
    );

    app.get(
      '/tax-classes/:code',
      {
        schema: {
          operationId: 'getTaxClass',
          tags: ['pricing'],
          summary: 'One tax class',
          params: Type.Object({ code: TaxClassCode }),
          response: { 200: TaxClassSchema, ...problems(400, 404) },
        },
      },
      async (request) => service.taxClass(request.params.code),
    );

    app.post(
      '/tax-classes',
      {
        schema: {
          operationId: 'createTaxClass',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Create a tax class',
          body: Type.Object(
            { code: TaxClassCode, name: Type.String({ minLength: 1, maxLength: 100 }) },
            { additionalProperties: false },
          ),
          response: { 201: TaxClassSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const made = await service.createTaxClass(request.body.code, request.body.name);
        return reply.code(201).header('location', `/v1/tax-classes/${made.code}`).send(made);
      },
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
      '/regions',
      {
        schema: {
          operationId: 'listRegions',
          tags: ['pricing'],
          summary: 'The regions the shop sells to: their countries, currency and tax mode',
          response: { 200: Type.Object({ items: Type.Array(RegionSchema) }) },
        },
      },
      async () => ({ items: await service.regions() }),
    );

    app.post(
      '/regions',
      {
        schema: {
          operationId: 'createRegion',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Make a region: countries under one currency, prices with or without tax',
          description:
            '409 REGION_EXISTS for a code in use; 409 COUNTRY_IN_REGION for a country another region has.',
          body: Type.Object({ code: RegionCode, ...regionFields }, { additionalProperties: false }),
          response: { 201: RegionSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const region = await service.createRegion(request.body);
        return reply.code(201).header('location', `/v1/regions/${region.code}`).send(region);
      },
    );

    app.patch(
      '/regions/:code',
      {
        schema: {
          operationId: 'updateRegion',
          tags: ['pricing'],
          security: STAFF,
          summary: "Change a region's name, currency, tax mode or countries (the list replaces the old one)",
          params: Type.Object({ code: RegionCode }),
          body: Type.Partial(Type.Object(regionFields), { additionalProperties: false, minProperties: 1 }),
          response: { 200: RegionSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => service.updateRegion(request.params.code, request.body),
    );

    app.delete(
      '/regions/:code',
      {
        schema: {
          operationId: 'deleteRegion',
          tags: ['pricing'],
          security: STAFF,
          summary: 'Delete a region: its countries are priced without one (tax added) again',
          params: Type.Object({ code: RegionCode }),
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.deleteRegion(request.params.code);
        return reply.code(204).send(null);
      },
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
