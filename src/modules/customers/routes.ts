import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Money, Page, PageQuery, Uuid } from '../../platform/http/schemas.ts';
import { SavedAddressSchema } from '../identity/index.ts';
import { OrderSchema } from '../ordering/index.ts';
import type { CustomerService } from './service.ts';

export const CustomerSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  emailVerified: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  orderCount: Type.Integer({ description: 'paid orders: confirmed or shipped, even in part' }),
  totalSpent: Money,
  spentInOtherCurrencies: Type.Array(Money),
  lastOrderAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export const CustomerDetailSchema = Type.Object({
  ...CustomerSchema.properties,
  orders: Type.Array(OrderSchema, { description: 'the latest 20, newest first' }),
  addresses: Type.Array(SavedAddressSchema, { description: 'their address book, the default first' }),
});

export function customerRoutes(service: CustomerService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['customers'];

    app.get(
      '/customers',
      {
        schema: {
          operationId: 'listCustomers',
          tags,
          security: STAFF,
          summary: 'Customers (staff), newest first, with what they bought; search by email or name',
          querystring: Type.Object(
            {
              ...PageQuery,
              q: Type.Optional(
                Type.String({
                  maxLength: 200,
                  description: 'part of the email address or the name, any case',
                }),
              ),
              sort: Type.Optional(
                Type.Union([Type.Literal('-createdAt'), Type.Literal('createdAt')], {
                  default: '-createdAt',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(CustomerSchema), ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        service.list({
          q: request.query.q,
          page: request.query.page ?? 1,
          size: request.query.size ?? 20,
          oldestFirst: request.query.sort === 'createdAt',
        }),
    );

    app.get(
      '/customers/:id',
      {
        schema: {
          operationId: 'getCustomer',
          tags,
          security: STAFF,
          summary: 'One customer with their latest orders (staff)',
          params: IdParams,
          response: { 200: CustomerDetailSchema, ...problems(401, 403, 404) },
        },
      },
      async (request) => service.get(request.principal!, request.params.id),
    );
  };
}
