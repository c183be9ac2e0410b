import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Money, problems, Uuid } from '../../platform/http/schemas.ts';
import { ShippingMethodSchema } from '../pricing/index.ts';
import { type CartService, MAX_LINE_QUANTITY } from './service.ts';
import { SIGNED_IN } from '../../platform/http/auth.ts';

export const TotalsSchema = Type.Object({
  subtotal: Money,
  discountTotal: Money,
  shippingTotal: Money,
  taxTotal: Money,
  total: Money,
});

/** A priced line, as carts and orders show it. */
export const LineItemSchema = Type.Object({
  id: Uuid,
  variantId: Uuid,
  sku: Type.String(),
  name: Type.String(),
  quantity: Type.Integer(),
  unitPrice: Money,
  lineTotal: Money,
  discount: Money,
  tax: Money,
});

export const CartSchema = Type.Object({
  id: Uuid,
  currency: Type.String(),
  items: Type.Array(LineItemSchema),
  totals: TotalsSchema,
  total: Money,
  promotion: Type.Optional(Type.Object({ code: Type.String(), kind: Type.String() })),
  promotionProblem: Type.Optional(Type.Object({ code: Type.String(), detail: Type.String() })),
  shippingMethod: Type.Optional(ShippingMethodSchema),
  unavailable: Type.Optional(Type.Array(Uuid)),
});

const Quantity = Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY });
const ItemParams = Type.Object({ itemId: Uuid });

export function cartRoutes(service: CartService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['cart'], security: SIGNED_IN };

    app.get(
      '/cart',
      {
        schema: {
          ...common,
          summary: "The signed-in user's cart",
          response: { 200: CartSchema, ...problems(401) },
        },
      },
      async (request) => service.view(request.principal!.id),
    );

    app.post(
      '/cart/items',
      {
        schema: {
          ...common,
          summary: 'Add a variant (adds to an existing line)',
          body: Type.Object({ variantId: Uuid, quantity: Quantity }, { additionalProperties: false }),
          response: { 201: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await service.addItem(request.principal!.id, request.body.variantId, request.body.quantity)),
    );

    app.patch(
      '/cart/items/:itemId',
      {
        schema: {
          ...common,
          summary: "Change a line's quantity",
          params: ItemParams,
          body: Type.Object({ quantity: Quantity }, { additionalProperties: false }),
          response: { 200: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request) =>
        service.setQuantity(request.principal!.id, request.params.itemId, request.body.quantity),
    );

    app.delete(
      '/cart/items/:itemId',
      {
        schema: {
          ...common,
          summary: 'Remove a line',
          params: ItemParams,
          response: { 204: Type.Null(), ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        await service.removeItem(request.principal!.id, request.params.itemId);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/cart/promotions',
      {
        schema: {
          ...common,
          summary: 'Apply a promotion code',
          body: Type.Object(
            { code: Type.String({ minLength: 1, maxLength: 40 }) },
            { additionalProperties: false },
          ),
          response: { 200: CartSchema, ...problems(400, 401, 409) },
        },
      },
      async (request) => service.applyPromotion(request.principal!.id, request.body.code),
    );

    app.delete(
      '/cart/promotions/:code',
      {
        schema: {
          ...common,
          summary: 'Remove the promotion code',
          params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 40 }) }),
          response: { 204: Type.Null(), ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        await service.removePromotion(request.principal!.id, request.params.code);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/cart/shipping-method',
      {
        schema: {
          ...common,
          summary: 'Choose the shipping method',
          body: Type.Object({ shippingMethodId: Uuid }, { additionalProperties: false }),
          response: { 200: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request) => service.setShippingMethod(request.principal!.id, request.body.shippingMethodId),
    );

    app.post(
      '/cart/currency',
      {
        schema: {
          ...common,
          summary: "Set the cart's currency",
          body: Type.Object(
            { currency: Type.String({ pattern: '^[A-Z]{3}$' }) },
            { additionalProperties: false },
          ),
          response: { 200: CartSchema, ...problems(400, 401, 409) },
        },
      },
      async (request) => service.setCurrency(request.principal!.id, request.body.currency),
    );

    app.delete(
      '/cart',
      { schema: { ...common, summary: 'Empty the cart', response: { 204: Type.Null(), ...problems(401) } } },
      async (request, reply) => {
        await service.clear(request.principal!.id);
        return reply.code(204).send(null);
      },
    );
  };
}
