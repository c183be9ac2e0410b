import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { badRequest } from '../../platform/errors.ts';
import { CART_TOKEN_HEADER, opaqueToken, SHOPPER, SIGNED_IN } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { clientAddress } from '../../platform/http/rate-limit.ts';
import { AddressSchema, addressFields, Money, Uuid } from '../../platform/http/schemas.ts';
import { ShippingMethodSchema } from '../pricing/index.ts';
import { type CartService, MAX_LINE_QUANTITY } from './service.ts';

export { AddressSchema };

const DiscountSchema = Type.Object(
  {
    promotionId: Uuid,
    code: Type.Optional(Type.String({ description: 'the code entered; absent for an automatic promotion' })),
    name: Type.Optional(Type.String()),
    kind: Type.String(),
    amount: Money,
    shipping: Type.Optional(Money),
    lines: Type.Array(Type.Object({ itemId: Uuid, amount: Money })),
  },
  {
    description:
      'One promotion: `amount` is what it took off the items (the lines add up to it), `shipping` what it took off shipping',
  },
);

export const TotalsSchema = Type.Object({
  subtotal: Money,
  discountTotal: Money,
  discounts: Type.Array(DiscountSchema, {
    description:
      'every promotion that took something off, in the order applied; their amounts add up to discountTotal',
  }),
  shippingTotal: Money,
  taxTotal: Money,
  total: Money,
  taxInclusive: Type.Boolean({
    description:
      'the prices contain the tax (a tax-inclusive region): total = subtotal − discountTotal + shippingTotal, and taxTotal is the tax within it',
  }),
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
  priceList: Type.Optional(
    Type.Object(
      { id: Uuid, name: Type.String() },
      { description: 'the price list that priced this line below the shelf (best price wins)' },
    ),
  ),
});

/** Where a cart ships: the country decides its tax and shipping; the rest may follow later. */
const DestinationSchema = Type.Object(
  {
    name: Type.Optional(addressFields.name),
    line1: Type.Optional(addressFields.line1),
    line2: addressFields.line2,
    city: Type.Optional(addressFields.city),
    postalCode: Type.Optional(addressFields.postalCode),
    country: addressFields.country,
  },
  { additionalProperties: false },
);

export const CartSchema = Type.Object({
  id: Uuid,
  currency: Type.String(),
  items: Type.Array(LineItemSchema),
  totals: TotalsSchema,
  total: Money,
  promotion: Type.Optional(Type.Object({ code: Type.String(), kind: Type.String() })),
  promotionProblem: Type.Optional(Type.Object({ code: Type.String(), detail: Type.String() })),
  shippingMethod: Type.Optional(ShippingMethodSchema),
  shippingNotice: Type.Optional(
    Type.String({ description: 'Why the chosen shipping method was replaced by the one shown' }),
  ),
  shippingProblem: Type.Optional(
    Type.Object(
      {
        code: Type.Literal('SHIPPING_CURRENCY'),
        detail: Type.String(),
        currencies: Type.Array(Type.String(), { description: "Currencies the destination's methods take" }),
      },
      { description: 'Why the cart cannot ship to its destination as it is; checkout refuses until solved' },
    ),
  ),
  shippingAddress: Type.Optional(DestinationSchema),
  region: Type.Optional(
    Type.Object(
      { code: Type.String(), name: Type.String(), currency: Type.String(), taxInclusive: Type.Boolean() },
      {
        description:
          'the region the destination is in, or the one chosen before an address (PUT /v1/cart/region): the cart follows its currency when it can',
      },
    ),
  ),
  regionNotice: Type.Optional(
    Type.String({
      description: "why the cart is not in its region's currency (some item has no price in it)",
    }),
  ),
  unavailable: Type.Optional(Type.Array(Uuid)),
});

const Quantity = Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY });
const ItemParams = Type.Object({ itemId: Uuid });

const CartTokenHeader = Type.Object({
  'cart-token': Type.Optional(
    Type.String({ description: "A guest cart's token from POST /v1/carts, in place of a bearer token" }),
  ),
});

export function cartRoutes(service: CartService, options: { guestCartsPerMinute: number }) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['cart'], security: SHOPPER, headers: CartTokenHeader };

    app.post(
      '/carts',
      {
        onRequest: app.perMinuteLimit('guest-cart-ip', options.guestCartsPerMinute, clientAddress),
        schema: {
          operationId: 'createGuestCart',
          tags: ['cart'],
          summary: 'Start a cart without an account',
          description:
            'Answers the cart and its token, shown this once: send it as `Cart-Token` on every cart ' +
            'route and on POST /v1/orders. A cart unused for GUEST_CART_TTL_HOURS expires.',
          response: {
            201: Type.Object({ cartToken: Type.String(), cart: CartSchema }),
            ...problems(429),
          },
        },
      },
      async (_request, reply) =>
        reply
          .code(201)
          .header('location', '/v1/cart')
          .send(await service.startGuest()),
    );

    app.post(
      '/cart/merge',
      {
        schema: {
          operationId: 'mergeGuestCart',
          tags: ['cart'],
          security: SIGNED_IN,
          summary: "Move a guest cart (header Cart-Token) into the signed-in user's cart",
          description:
            'Quantities are added, each line capped at 99 and at the stock there is; the guest cart is deleted.',
          headers: Type.Object({
            'cart-token': Type.Optional(Type.String({ description: 'The guest cart to move (required)' })),
          }),
          response: { 200: CartSchema, ...problems(400, 401) },
        },
      },
      async (request) => {
        const token = opaqueToken(request, CART_TOKEN_HEADER);
        if (!token)
          throw badRequest('CART_TOKEN_REQUIRED', 'Send the guest cart to move as the Cart-Token header');
        const guest = await service.cartTokens.verify(token);
        return service.merge(request.principal!, guest.id);
      },
    );

    app.get(
      '/cart',
      {
        schema: {
          operationId: 'getCart',
          ...common,
          summary: "The signed-in user's cart",
          response: { 200: CartSchema, ...problems(401) },
        },
      },
      async (request) => service.view(request.principal!),
    );

    app.post(
      '/cart/items',
      {
        schema: {
          operationId: 'addCartItem',
          ...common,
          summary: 'Add a variant (adds to an existing line)',
          body: Type.Object({ variantId: Uuid, quantity: Quantity }, { additionalProperties: false }),
          response: { 201: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .header('location', '/v1/cart')
          .send(await service.addItem(request.principal!, request.body.variantId, request.body.quantity)),
    );

    app.patch(
      '/cart/items/:itemId',
      {
        schema: {
          operationId: 'setCartItemQuantity',
          ...common,
          summary: "Change a line's quantity",
          params: ItemParams,
          body: Type.Object({ quantity: Quantity }, { additionalProperties: false }),
          response: { 200: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request) =>
        service.setQuantity(request.principal!, request.params.itemId, request.body.quantity),
    );

    app.delete(
      '/cart/items/:itemId',
      {
        schema: {
          operationId: 'removeCartItem',
          ...common,
          summary: 'Remove a line',
          params: ItemParams,
          response: { 204: Type.Null(), ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        await service.removeItem(request.principal!, request.params.itemId);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/cart/promotions',
      {
        schema: {
          operationId: 'applyPromotionCode',
          ...common,
          summary: 'Apply a promotion code',
          body: Type.Object(
            { code: Type.String({ minLength: 1, maxLength: 40 }) },
            { additionalProperties: false },
          ),
          response: { 200: CartSchema, ...problems(400, 401, 409) },
        },
      },
      async (request) => service.applyPromotion(request.principal!, request.body.code),
    );

    app.delete(
      '/cart/promotions/:code',
      {
        schema: {
          operationId: 'removePromotionCode',
          ...common,
          summary: 'Remove the promotion code',
          params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 40 }) }),
          response: { 204: Type.Null(), ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        await service.removePromotion(request.principal!, request.params.code);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/cart/shipping-method',
      {
        schema: {
          operationId: 'chooseShippingMethod',
          ...common,
          summary: 'Choose the shipping method',
          body: Type.Object({ shippingMethodId: Uuid }, { additionalProperties: false }),
          response: { 200: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request) => service.setShippingMethod(request.principal!, request.body.shippingMethodId),
    );

    app.put(
      '/cart/address',
      {
        schema: {
          operationId: 'setCartAddress',
          ...common,
          summary: "Set where the cart ships: its totals become that destination's tax and shipping",
          description:
            'Only the country is required. When no shipping method is chosen (or the chosen one ' +
            "no longer applies), the destination's cheapest method in the cart's currency is chosen " +
            'and shown; POST /v1/orders charges exactly these totals for this country.',
          body: Type.Object({ shippingAddress: DestinationSchema }, { additionalProperties: false }),
          response: { 200: CartSchema, ...problems(400, 401) },
        },
      },
      async (request) => service.setAddress(request.principal!, request.body.shippingAddress),
    );

    app.post(
      '/cart/currency',
      {
        schema: {
          operationId: 'setCartCurrency',
          ...common,
          summary: "Set the cart's currency",
          body: Type.Object(
            { currency: Type.String({ pattern: '^[A-Z]{3}$' }) },
            { additionalProperties: false },
          ),
          response: { 200: CartSchema, ...problems(400, 401, 409) },
        },
      },
      async (request) => service.setCurrency(request.principal!, request.body.currency),
    );

    app.put(
      '/cart/region',
      {
        schema: {
          operationId: 'setCartRegion',
          ...common,
          summary: "Choose the cart's region before an address is known",
          description:
            "The cart takes the region's currency (409 PRICE_UNAVAILABLE while a line has no price in it) " +
            'and shows prices with tax contained or added as the region does; the tax itself is worked out ' +
            "once the address's country is known, and that country's region then decides. null forgets the choice.",
          body: Type.Object(
            {
              region: Type.Union([
                Type.String({
                  pattern: '^[a-z][a-z0-9-]{1,31}$',
                  description: "a region's code (GET /v1/regions)",
                }),
                Type.Null(),
              ]),
            },
            { additionalProperties: false },
          ),
          response: { 200: CartSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request) => service.setRegion(request.principal!, request.body.region),
    );

    app.delete(
      '/cart',
      {
        schema: {
          operationId: 'emptyCart',
          ...common,
          summary: 'Empty the cart',
          response: { 204: Type.Null(), ...problems(401) },
        },
      },
      async (request, reply) => {
        await service.clear(request.principal!.id);
        return reply.code(204).send(null);
      },
    );
  };
}
