import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../../platform/db/index.ts';
import { ORDER_HOLDER, orderViewerOf, SHOPPER, SIGNED_IN, STAFF } from '../../platform/http/auth.ts';
import { IdempotencyKey, requestFingerprint, runIdempotent } from '../../platform/http/idempotency.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, OrderTokenHeader, Page, PageQuery, Uuid } from '../../platform/http/schemas.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { AddressSchema, LineItemSchema, TotalsSchema } from '../cart/index.ts';
import { GiftCardCode } from '../giftcards/index.ts';
import { ShippingMethodSchema } from '../pricing/index.ts';
import type { CheckoutResult, Order, OrderingService, Refund } from './service.ts';

const Status = Type.Union([
  Type.Literal('pending'),
  Type.Literal('confirmed'),
  Type.Literal('cancelled'),
  Type.Literal('partially_shipped'),
  Type.Literal('shipped'),
]);

export const OrderSchema = Type.Object({
  id: Uuid,
  userId: Uuid,
  status: Status,
  items: Type.Array(LineItemSchema),

  total: Money,
  totals: TotalsSchema,
  shippingAddress: Type.Object({
    name: Type.String(),
    line1: Type.String(),
    line2: Type.Optional(Type.String()),
    city: Type.String(),
    postalCode: Type.String(),
    country: Type.String(),
  }),
  payment: Type.Object({
    status: Type.String(),
    amount: Money,
    captured: Money,
    refunded: Money,
    action: Type.Optional(
      Type.Object({
        type: Type.Union([Type.Literal('redirect'), Type.Literal('use_stripe_sdk')]),
        url: Type.Optional(Type.String()),
        clientSecret: Type.Optional(Type.String()),
      }),
    ),
  }),
  giftCard: Type.Optional(
    Type.Object(
      {
        last4: Type.String({ description: "The last four characters of the card's code" }),
        amount: Money,
        refunded: Money,
      },
      { description: 'What a gift card paid (the payment paid the rest), and what went back to it' },
    ),
  ),
  storeCredit: Type.Optional(
    Type.Object(
      { amount: Money, refunded: Money },
      { description: "What the customer's store credit paid, and what went back to it" },
    ),
  ),
  promotionCode: Type.Optional(Type.String()),
  shippingMethod: Type.Optional(ShippingMethodSchema),
  cancelReason: Type.Optional(Type.String()),
  version: Type.Integer({
    minimum: 1,
    description: '1 as placed; each edit makes the next (GET /v1/orders/{id}/edits)',
  }),
  email: Type.Optional(Type.String({ description: "A guest's order: where its mail goes" })),
  orderToken: Type.Optional(
    Type.String({
      description:
        "A guest's checkout answer only: send it as Order-Token to open this order (GET /v1/orders/{id}); it is shown once",
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const DraftOrderSchema = Type.Object({
  id: Uuid,
  status: Type.Union([Type.Literal('open'), Type.Literal('completed')]),
  customerId: Type.Optional(Uuid),
  email: Type.Optional(
    Type.String({ description: 'A draft for someone without an account: where its mail goes' }),
  ),
  items: Type.Array(LineItemSchema, {
    description: 'Priced now, as a cart of them would be for this customer',
  }),
  totals: TotalsSchema,
  shippingAddress: AddressSchema,
  shippingMethod: Type.Optional(ShippingMethodSchema),
  orderId: Type.Optional(Type.String({ format: 'uuid', description: 'The order it became, once completed' })),
  createdAt: Type.String({ format: 'date-time' }),
});

const EditLines = {
  add: Type.Optional(
    Type.Array(
      Type.Object(
        { variantId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 999 }) },
        { additionalProperties: false },
      ),
      {
        maxItems: 100,
        description: 'Variants not on the order yet, priced now for its customer and address',
      },
    ),
  ),
  remove: Type.Optional(
    Type.Array(Uuid, { maxItems: 100, uniqueItems: true, description: 'The ids of lines to take off' }),
  ),
  change: Type.Optional(
    Type.Array(
      Type.Object(
        { itemId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 999 }) },
        { additionalProperties: false },
      ),
      {
        maxItems: 100,
        description: 'Lines whose quantity changes; they keep the unit price they were sold at',
      },
    ),
  ),
};

export const OrderEditSchema = Type.Object({
  id: Uuid,
  version: Type.Integer({ minimum: 2 }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('applied'), Type.Literal('failed')]),
  changes: Type.Array(
    Type.Object({
      name: Type.String(),
      sku: Type.String(),
      before: Type.Integer({ description: 'Units before the edit (0: an added line)' }),
      after: Type.Integer({ description: 'Units after it (0: a removed line)' }),
    }),
  ),
  totalBefore: Money,
  totalAfter: Money,
  difference: Money,
  charged: Money,
  refunded: Money,
  reason: Type.Optional(Type.String()),
  editedBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
});

export const EditPreviewSchema = Type.Object({
  items: Type.Array(LineItemSchema),
  totals: TotalsSchema,
  difference: Money,
  settlement: Type.Union(
    [Type.Literal('charge'), Type.Literal('offline'), Type.Literal('refund'), Type.Literal('none')],
    { description: 'charged to a card, settled outside the shop, refunded, or nothing to settle' },
  ),
});

export const RefundSchema = Type.Object({
  id: Uuid,
  orderId: Uuid,
  amount: Money,
  reason: Type.String(),
  status: Type.Union([Type.Literal('requested'), Type.Literal('refunded'), Type.Literal('rejected')]),
  issuedBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
});

const RefundRequest = Type.Object(
  {
    amount: Type.Object(
      {
        amount: Type.Integer({ minimum: 1, description: 'minor units (cents)' }),
        currency: Money.properties.currency,
      },
      { additionalProperties: false },
    ),
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why, in words the shop keeps' }),
  },
  { additionalProperties: false },
);

/** A placed order answered: 201 confirmed or 202 still settling, at its own address. */
const placed = (reply: FastifyReply, outcome: CheckoutResult) =>
  reply.code(outcome.status).header('location', `/v1/orders/${outcome.order.id}`).send(outcome.order);

export function orderingRoutes(service: OrderingService, deps: { db: Db; idempotencyLockMs: number }) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['orders'], security: SIGNED_IN };

    app.post(
      '/orders',
      {
        schema: {
          operationId: 'placeOrder',
          ...common,
          security: SHOPPER,
          summary: 'Check out the cart (requires Idempotency-Key); a guest sends Cart-Token and email',
          headers: Type.Object({
            'idempotency-key': IdempotencyKey,
            'cart-token': Type.Optional(Type.String({ description: "A guest's cart token" })),
          }),
          body: Type.Object(
            {
              shippingAddress: AddressSchema,
              email: Type.Optional(
                Type.String({
                  maxLength: 320,
                  description:
                    "A guest's address for the confirmation (required of guests; a signed-in user's mail goes to their account's address)",
                }),
              ),
              payment: Type.Object(
                {
                  token: Type.Optional(
                    Type.String({
                      minLength: 1,
                      maxLength: 100,
                      description: 'Pays the order, or what the gift card does not',
                    }),
                  ),
                  // A gift card, or the shopper's store credit, pays first, up to the total.
                  giftCardCode: Type.Optional(GiftCardCode),
                  useStoreCredit: Type.Optional(
                    Type.Boolean({ description: "The signed-in shopper's store credit pays first" }),
                  ),
                },
                { additionalProperties: false, minProperties: 1 },
              ),
              expectedTotal: Type.Optional(
                Type.Object(Money.properties, {
                  additionalProperties: false,
                  description:
                    'The total the shopper was shown. When the cart now costs something else for this ' +
                    'address, the answer is 409 TOTAL_CHANGED with the new totals, and nothing is reserved or charged.',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 201: OrderSchema, 202: OrderSchema, ...problems(400, 401, 402, 409, 422, 503) },
        },
      },
      async (request, reply) => {
        const principal = request.principal!;
        const key = request.headers['idempotency-key'];
        const result = await runIdempotent(
          deps.db,
          {
            scope: `orders:${principal.id}`,
            key,
            fingerprint: requestFingerprint('POST', '/v1/orders', request.body),
            lockMs: deps.idempotencyLockMs,
          },
          async () => {
            const outcome = await service.checkout(
              principal,
              {
                shippingAddress: request.body.shippingAddress,
                paymentToken: request.body.payment.token,
                giftCardCode: request.body.payment.giftCardCode,
                useStoreCredit: request.body.payment.useStoreCredit,
                expectedTotal: request.body.expectedTotal,
                idempotencyKey: key,
                email: request.body.email,
              },
              request.workContext.signal,
            );
            return { status: outcome.status, body: outcome.order };
          },
        );
        const order = result.body as Order;
        reply.code(result.status as 201 | 202).header('location', `/v1/orders/${order.id}`);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        // The guest's key to their order is made for this answer, never kept with the stored replay.
        if (principal.role === 'guest')
          return { ...order, orderToken: await service.issueOrderToken(order.id) };
        return order;
      },
    );

    app.get(
      '/orders',
      {
        schema: {
          operationId: 'listOrders',
          ...common,
          summary: 'Orders: your own, or all for staff (filter by status, userId, q, from, to)',
          querystring: Type.Object(
            {
              ...PageQuery,
              status: Type.Optional(Status),
              userId: Type.Optional(Uuid),
              q: Type.Optional(
                Type.String({
                  maxLength: 200,
                  description:
                    "Staff: text in the order's number or guest email, or in its customer's email or name",
                }),
              ),
              from: Type.Optional(Type.String({ format: 'date-time', description: 'Placed at or after' })),
              to: Type.Optional(Type.String({ format: 'date-time', description: 'Placed before' })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(OrderSchema), ...problems(400, 401) },
        },
      },
      async (request) =>
        service.list(request.principal!, {
          page: request.query.page ?? 1,
          size: request.query.size ?? 20,
          status: request.query.status,
          userId: request.query.userId,
          q: request.query.q,
          from: request.query.from ? new Date(request.query.from) : undefined,
          to: request.query.to ? new Date(request.query.to) : undefined,
        }),
    );

    app.get(
      '/orders/:id',
      {
        schema: {
          operationId: 'getOrder',
          ...common,
          security: ORDER_HOLDER,
          summary: "One order (owner or staff, or a guest with the order's Order-Token)",
          params: IdParams,
          headers: OrderTokenHeader,
          response: { 200: OrderSchema, ...problems(401, 404) },
        },
      },
      async (request) => service.get(orderViewerOf(request), request.params.id),
    );

    const drafts = { tags: ['orders'], security: STAFF };

    app.post(
      '/draft-orders',
      {
        schema: {
          operationId: 'createDraftOrder',
          ...drafts,
          summary: 'Build an order for a customer or an email address (a phone or B2B order), priced now',
          body: Type.Object(
            {
              customerId: Type.Optional(Uuid),
              email: Type.Optional(Type.String({ maxLength: 320 })),
              items: Type.Array(
                Type.Object(
                  { variantId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 999 }) },
                  { additionalProperties: false },
                ),
                { minItems: 1, maxItems: 100 },
              ),
              shippingAddress: AddressSchema,
            },
            { additionalProperties: false },
          ),
          response: { 201: DraftOrderSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const draft = await service.createDraft(request.principal!, request.body);
        return reply.code(201).header('location', `/v1/draft-orders/${draft.id}`).send(draft);
      },
    );

    app.get(
      '/draft-orders',
      {
        schema: {
          operationId: 'listDraftOrders',
          ...drafts,
          summary: 'The open draft orders, newest first',
          response: {
            200: Type.Object({
              items: Type.Array(
                Type.Object({
                  id: Uuid,
                  customerId: Type.Optional(Uuid),
                  email: Type.Optional(Type.String()),
                  itemCount: Type.Integer(),
                  createdAt: Type.String({ format: 'date-time' }),
                }),
              ),
            }),
            ...problems(401, 403),
          },
        },
      },
      async () => ({ items: await service.openDrafts() }),
    );

    app.get(
      '/draft-orders/:id',
      {
        schema: {
          operationId: 'getDraftOrder',
          ...drafts,
          summary: 'A draft order, priced now (a completed one as its order was placed)',
          params: IdParams,
          response: { 200: DraftOrderSchema, ...problems(401, 403, 404, 409) },
        },
      },
      async (request) => service.getDraft(request.params.id),
    );

    app.post(
      '/draft-orders/:id/complete',
      {
        schema: {
          operationId: 'completeDraftOrder',
          ...drafts,
          summary: 'Place the order: charge a card token, or mark it paid outside the shop; once',
          params: IdParams,
          body: Type.Object(
            {
              payment: Type.Object(
                {
                  token: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
                  paidOffline: Type.Optional(
                    Type.Boolean({ description: 'Paid by bank transfer or cash: no provider payment' }),
                  ),
                },
                { additionalProperties: false, minProperties: 1 },
              ),
            },
            { additionalProperties: false },
          ),
          response: { 201: OrderSchema, 202: OrderSchema, ...problems(400, 401, 402, 403, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const outcome = await service.completeDraft(
          request.params.id,
          { paymentToken: request.body.payment.token, paidOffline: request.body.payment.paidOffline },
          request.workContext.signal,
        );
        return placed(reply, outcome);
      },
    );

    app.post(
      '/draft-orders/:id/payment-link',
      {
        schema: {
          operationId: 'draftOrderPaymentLink',
          ...drafts,
          summary: 'A link the customer pays the draft with, for a week; mailed to them unless send is false',
          params: IdParams,
          body: Type.Object(
            {
              send: Type.Optional(
                Type.Boolean({ description: 'Mail a link to the customer (default true)' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({
              url: Type.String({
                description: 'The storefront page that pays the draft; it works until expiresAt',
              }),
              expiresAt: Type.String({ format: 'date-time' }),
              sent: Type.Boolean({ description: 'Whether a link was mailed to the customer too' }),
            }),
            ...problems(401, 403, 404, 409),
          },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await service.paymentLink(request.params.id, request.body.send ?? true)),
    );

    const linkHeader = Type.Object({
      'payment-link-token': Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'The token of a draft order’s payment link (its ?token= part)',
      }),
    });

    app.get(
      '/payment-link',
      {
        schema: {
          operationId: 'getPaymentLink',
          tags: ['orders'],
          summary: 'The order a payment link pays for, priced now (for whoever holds the link)',
          headers: linkHeader,
          response: {
            200: Type.Object({
              status: Type.Union([Type.Literal('open'), Type.Literal('completed')]),
              items: Type.Array(LineItemSchema),
              totals: TotalsSchema,
              shippingAddress: AddressSchema,
              shippingMethod: Type.Optional(ShippingMethodSchema),
            }),
            ...problems(404, 409),
          },
        },
      },
      async (request) => service.payableDraft(request.headers['payment-link-token']),
    );

    app.post(
      '/payment-link/pay',
      {
        schema: {
          operationId: 'payPaymentLink',
          tags: ['orders'],
          summary: 'Pay the order a payment link is for: placed like a checkout, once',
          headers: linkHeader,
          body: Type.Object(
            {
              payment: Type.Object(
                { token: Type.String({ minLength: 1, maxLength: 100 }) },
                { additionalProperties: false },
              ),
            },
            { additionalProperties: false },
          ),
          response: { 201: OrderSchema, 202: OrderSchema, ...problems(400, 402, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const outcome = await service.payDraft(
          request.headers['payment-link-token'],
          request.body.payment.token,
          request.workContext.signal,
        );
        return placed(reply, outcome);
      },
    );

    app.post(
      '/orders/:id/cancel',
      {
        schema: {
          operationId: 'cancelOrder',
          ...common,
          summary: 'Cancel: refund the payment and return the stock',
          params: IdParams,
          response: { 200: OrderSchema, ...problems(401, 404, 409, 503) },
        },
      },
      async (request) => service.cancel(request.principal!, request.params.id, request.workContext.signal),
    );

    app.post(
      '/orders/:id/payment/confirm',
      {
        schema: {
          operationId: 'confirmOrderPayment',
          ...common,
          summary: 'The shopper is back from their bank (3-D Secure): settle the payment now',
          description:
            'Asks the provider where the payment stands and goes on with the order: confirmed when the ' +
            'payment went through, cancelled when it did not, still pending while the bank waits.',
          security: ORDER_HOLDER,
          params: IdParams,
          headers: OrderTokenHeader,
          response: { 200: OrderSchema, ...problems(401, 404, 503) },
        },
      },
      async (request) =>
        service.confirmPayment(orderViewerOf(request), request.params.id, request.workContext.signal),
    );

    app.post(
      '/orders/:id/refunds',
      {
        schema: {
          operationId: 'refundOrder',
          tags: ['orders'],
          security: STAFF,
          summary: 'Refund part or all of what was paid, with a reason (Idempotency-Key honoured)',
          description:
            'Refunds together never exceed what was captured, however many are issued at once: one ' +
            'that would is refused with 409 REFUND_EXCEEDS_CAPTURED and refunds nothing.',
          params: IdParams,
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          body: RefundRequest,
          response: { 201: RefundSchema, ...problems(400, 401, 403, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const key = request.headers['idempotency-key'];
        const refund = (input: string) =>
          service
            .refund(request.principal!, id, { ...request.body, key: input }, request.workContext.signal)
            .then((body) => ({ status: 201, body }));
        const result = key
          ? await runIdempotent(
              deps.db,
              {
                scope: `refunds:${id}`,
                key,
                fingerprint: requestFingerprint('POST', `/v1/orders/${id}/refunds`, request.body),
                lockMs: deps.idempotencyLockMs,
              },
              () => refund(key),
            )
          : { ...(await refund(uuidv7())), replayed: false };
        reply.code(201);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return result.body as Refund;
      },
    );

    const edits = { tags: ['orders'], security: STAFF };

    app.post(
      '/orders/:id/edits/preview',
      {
        schema: {
          operationId: 'previewOrderEdit',
          ...edits,
          summary: 'What an edit would make of the order (lines, totals, the difference), without making it',
          params: IdParams,
          body: Type.Object(EditLines, { additionalProperties: false }),
          response: { 200: EditPreviewSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => service.previewEdit(request.params.id, request.body),
    );

    app.post(
      '/orders/:id/edits',
      {
        schema: {
          operationId: 'editOrder',
          ...edits,
          summary: 'Change an order before it ships: add, remove or change lines (Idempotency-Key honoured)',
          description:
            'A raised total is charged to the card token given (402 and nothing changed if it is declined); ' +
            'a lowered one is refunded to the payments the order was paid with. Kept lines keep their prices.',
          params: IdParams,
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          body: Type.Object(
            {
              ...EditLines,
              reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
              payment: Type.Optional(
                Type.Object(
                  { token: Type.String({ minLength: 1, maxLength: 100 }) },
                  { additionalProperties: false },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: OrderSchema, ...problems(400, 401, 402, 403, 404, 409, 503) },
        },
      },
      async (request) => {
        const { payment, ...input } = request.body;
        return service.edit(
          request.principal!,
          request.params.id,
          { ...input, paymentToken: payment?.token, key: request.headers['idempotency-key'] ?? uuidv7() },
          request.workContext.signal,
        );
      },
    );

    app.get(
      '/orders/:id/edits',
      {
        schema: {
          operationId: 'listOrderEdits',
          ...edits,
          summary: "The order's versions after the first, oldest first: what each edit changed",
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(OrderEditSchema) }), ...problems(401, 403, 404) },
        },
      },
      async (request) => ({ items: await service.edits(request.params.id) }),
    );

    app.get(
      '/orders/:id/refunds',
      {
        schema: {
          operationId: 'listOrderRefunds',
          tags: ['orders'],
          security: STAFF,
          summary: 'The refunds staff issued on an order, oldest first',
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(RefundSchema) }), ...problems(401, 403, 404) },
        },
      },
      async (request) => ({ items: await service.refunds(request.params.id) }),
    );
  };
}
