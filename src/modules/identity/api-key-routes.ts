import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { API_SCOPES, type ApiScope, needs } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Uuid } from '../../platform/http/schemas.ts';
import type { ApiKeys } from './api-keys.ts';

const Scope = Type.Unsafe<ApiScope>({ type: 'string', enum: [...API_SCOPES] });

export const ApiKeySchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  scopes: Type.Array(Scope),
  createdBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'to the minute',
  }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** Admins' keys for integrations: POST|GET /v1/api-keys, DELETE one. */
export function apiKeyRoutes(keys: ApiKeys) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['accounts'];

    app.post(
      '/api-keys',
      {
        schema: {
          operationId: 'createApiKey',
          tags,
          security: needs('staff:write'),
          summary: 'Make a key for an integration; its secret is shown in this answer only',
          description:
            'The key authenticates as `Authorization: Bearer <secret>` and acts as staff within its ' +
            'scopes: a route of another part of the shop, or one made for people (carts, accounts), answers 403. ' +
            'A key gets no scope its maker does not hold (403 PERMISSION_NOT_HELD).',
          body: Type.Object(
            {
              name: Type.String({
                minLength: 1,
                maxLength: 100,
                pattern: '\\S',
                description: 'what the key is for',
              }),
              scopes: Type.Array(Scope, { minItems: 1, maxItems: API_SCOPES.length }),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ ...ApiKeySchema.properties, secret: Type.String() }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request, reply) => {
        const created = await keys.create(request.principal!, request.body);
        return reply.code(201).header('location', `/v1/api-keys/${created.id}`).send(created);
      },
    );

    app.get(
      '/api-keys',
      {
        schema: {
          operationId: 'listApiKeys',
          tags,
          security: needs('staff:read'),
          summary: 'Every key, newest first, with when each was last used (revoked ones too)',
          response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await keys.list() }),
    );

    app.delete(
      '/api-keys/:id',
      {
        schema: {
          operationId: 'revokeApiKey',
          tags,
          security: needs('staff:write'),
          summary: 'Revoke a key: its next request is refused',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await keys.revoke(request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
