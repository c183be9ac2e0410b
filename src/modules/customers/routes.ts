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

export const CustomerGroupSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  memberCount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CustomerGroupDetailSchema = Type.Object({
  ...CustomerGroupSchema.properties,
  members: Type.Array(Type.Object({ id: Uuid, email: Type.String(), name: Type.String() }), {
    description: 'longest-standing first',
  }),
});

const GroupName = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }) },
  { additionalProperties: false },
);
const MemberParams = Type.Object({ id: Uuid, userId: Uuid });

export const CustomerDetailSchema = Type.Object({
  ...CustomerSchema.properties,
  groups: Type.Array(Type.Object({ id: Uuid, name: Type.String() }), { description: 'by name' }),
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

    app.post(
      '/customer-groups',
      {
        schema: {
          operationId: 'createCustomerGroup',
          tags,
          security: STAFF,
          summary: 'Make a customer group (names are unique, whatever the case)',
          body: GroupName,
          response: { 201: CustomerGroupSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const group = await service.groups.create(request.body.name);
        return reply.code(201).header('location', `/v1/customer-groups/${group.id}`).send(group);
      },
    );

    app.get(
      '/customer-groups',
      {
        schema: {
          operationId: 'listCustomerGroups',
          tags,
          security: STAFF,
          summary: 'Every customer group, by name, with how many are in it',
          response: { 200: Type.Object({ items: Type.Array(CustomerGroupSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.groups.list() }),
    );

    app.get(
      '/customer-groups/:id',
      {
        schema: {
          operationId: 'getCustomerGroup',
          tags,
          security: STAFF,
          summary: 'A customer group and its members',
          params: IdParams,
          response: { 200: CustomerGroupDetailSchema, ...problems(401, 403, 404) },
        },
      },
      async (request) => service.groups.get(request.params.id),
    );

    app.patch(
      '/customer-groups/:id',
      {
        schema: {
          operationId: 'renameCustomerGroup',
          tags,
          security: STAFF,
          summary: 'Rename a customer group',
          params: IdParams,
          body: GroupName,
          response: { 200: CustomerGroupSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => service.groups.rename(request.params.id, request.body.name),
    );

    app.delete(
      '/customer-groups/:id',
      {
        schema: {
          operationId: 'deleteCustomerGroup',
          tags,
          security: STAFF,
          summary: 'Delete a customer group (its members stay customers)',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.groups.remove(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/customer-groups/:id/members/:userId',
      {
        schema: {
          operationId: 'addCustomerGroupMember',
          tags,
          security: STAFF,
          summary: 'Put a customer in the group (again changes nothing)',
          params: MemberParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.groups.addMember(request.params.id, request.params.userId);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/customer-groups/:id/members/:userId',
      {
        schema: {
          operationId: 'removeCustomerGroupMember',
          tags,
          security: STAFF,
          summary: 'Take a customer out of the group',
          params: MemberParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.groups.removeMember(request.params.id, request.params.userId);
        return reply.code(204).send(null);
      },
    );
  };
}
