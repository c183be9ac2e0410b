import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { SIGNED_IN } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { addressFields, IdParams, Uuid } from '../../platform/http/schemas.ts';
import type { AddressBook } from './addresses.ts';

export const SavedAddressSchema = Type.Object({
  id: Uuid,
  ...addressFields,
  isDefault: Type.Boolean({ description: 'checkout offers it first' }),
  createdAt: Type.String({ format: 'date-time' }),
});

const IsDefault = Type.Optional(Type.Boolean({ description: 'make it the default (the first address is)' }));

/** The signed-in customer's address book: GET|POST /v1/users/me/addresses, PATCH|DELETE one. */
export function addressRoutes(book: AddressBook) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const common = { tags: ['accounts'], security: SIGNED_IN };

    app.get(
      '/users/me/addresses',
      {
        schema: {
          operationId: 'listAddresses',
          ...common,
          summary: 'Your saved addresses, the default first',
          response: { 200: Type.Object({ items: Type.Array(SavedAddressSchema) }), ...problems(401) },
        },
      },
      async (request) => ({ items: await book.list(request.principal!.id) }),
    );

    app.post(
      '/users/me/addresses',
      {
        schema: {
          operationId: 'addAddress',
          ...common,
          summary: 'Save an address (at most 20)',
          body: Type.Object({ ...addressFields, isDefault: IsDefault }, { additionalProperties: false }),
          response: { 201: SavedAddressSchema, ...problems(400, 401, 409) },
        },
      },
      async (request, reply) => {
        const saved = await book.add(request.principal!.id, request.body);
        return reply.code(201).header('location', `/v1/users/me/addresses/${saved.id}`).send(saved);
      },
    );

    app.patch(
      '/users/me/addresses/:id',
      {
        schema: {
          operationId: 'updateAddress',
          ...common,
          summary: 'Change a saved address, or make it the default',
          params: IdParams,
          body: Type.Object(
            {
              name: Type.Optional(addressFields.name),
              line1: Type.Optional(addressFields.line1),
              line2: addressFields.line2,
              city: Type.Optional(addressFields.city),
              postalCode: Type.Optional(addressFields.postalCode),
              country: Type.Optional(addressFields.country),
              isDefault: IsDefault,
            },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: SavedAddressSchema, ...problems(400, 401, 404) },
        },
      },
      async (request) => book.update(request.principal!.id, request.params.id, request.body),
    );

    app.delete(
      '/users/me/addresses/:id',
      {
        schema: {
          operationId: 'removeAddress',
          ...common,
          summary: 'Forget a saved address',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        await book.remove(request.principal!.id, request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
