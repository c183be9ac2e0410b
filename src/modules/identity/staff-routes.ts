import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { needs } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { clientAddress } from '../../platform/http/rate-limit.ts';
import { IdParams, Uuid } from '../../platform/http/schemas.ts';
import type { Roles } from './roles.ts';
import { clientInfo, PermissionSchema, RoleSchema, TokenPairSchema, UserSchema } from './routes.ts';
import type { IdentityService } from './service.ts';

export const RoleViewSchema = Type.Object({
  name: RoleSchema,
  description: Type.String(),
  permissions: Type.Array(PermissionSchema),
  builtIn: Type.Boolean({ description: 'customer, staff and admin: always there, never changed' }),
  members: Type.Integer({ description: 'how many accounts hold it' }),
});

export const StaffInviteSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: RoleSchema,
  invitedBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

const RoleParams = Type.Object({ name: RoleSchema });
const Description = Type.String({ maxLength: 200 });
const Permissions = Type.Array(PermissionSchema, { maxItems: 32 });

/**
 * The shop's people and what they may do: roles as sets of permissions (GET|POST /v1/roles,
 * PATCH|DELETE one), the staff (GET /v1/staff), and invitations by email (GET|POST
 * /v1/staff/invites, DELETE one, and POST /v1/staff/invites/accept from the mailed link).
 */
export function staffRoutes(
  service: IdentityService,
  roles: Roles,
  options: { loginLimitPerMinute: number },
) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['accounts'];

    app.get(
      '/roles',
      {
        schema: {
          operationId: 'listRoles',
          tags,
          security: needs('staff:read'),
          summary: 'Every role with its permissions and how many people hold it',
          response: { 200: Type.Object({ items: Type.Array(RoleViewSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await roles.list() }),
    );

    app.post(
      '/roles',
      {
        schema: {
          operationId: 'createRole',
          tags,
          security: needs('staff:write'),
          summary: 'Make a role (e.g. "warehouse": inventory and fulfilment only)',
          description:
            'A role gets no permission its maker does not hold (403 PERMISSION_NOT_HELD); a name ' +
            'already used answers 409 ROLE_EXISTS.',
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 40 }),
              description: Type.Optional(Description),
              permissions: Permissions,
            },
            { additionalProperties: false },
          ),
          response: { 201: RoleViewSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const role = await roles.create(request.principal!, request.body);
        return reply.code(201).header('location', `/v1/roles/${role.name}`).send(role);
      },
    );

    app.patch(
      '/roles/:name',
      {
        schema: {
          operationId: 'updateRole',
          tags,
          security: needs('staff:write'),
          summary: "Change a made role's permissions or description; its holders' next request follows",
          description: 'The built-in roles never change (409 ROLE_BUILT_IN).',
          params: RoleParams,
          body: Type.Object(
            { description: Type.Optional(Description), permissions: Type.Optional(Permissions) },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: RoleViewSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => roles.update(request.principal!, request.params.name, request.body),
    );

    app.delete(
      '/roles/:name',
      {
        schema: {
          operationId: 'deleteRole',
          tags,
          security: needs('staff:write'),
          summary: 'Delete a made role nobody holds or is invited to (409 ROLE_IN_USE otherwise)',
          params: RoleParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        await roles.remove(request.principal!, request.params.name);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/staff',
      {
        schema: {
          operationId: 'listStaff',
          tags,
          security: needs('staff:read'),
          summary: 'Every account that is not a customer, oldest first, with its role',
          response: { 200: Type.Object({ items: Type.Array(UserSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.staff() }),
    );

    app.get(
      '/staff/invites',
      {
        schema: {
          operationId: 'listStaffInvites',
          tags,
          security: needs('staff:read'),
          summary: 'Invitations not yet accepted, revoked or expired, newest first',
          response: { 200: Type.Object({ items: Type.Array(StaffInviteSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.pendingInvites() }),
    );

    app.post(
      '/staff/invites',
      {
        schema: {
          operationId: 'inviteStaff',
          tags,
          security: needs('staff:write'),
          summary: 'Invite someone by email to join the staff with a role; the link works once, for a week',
          description: 'A role worth more than your own cannot be given (403 PERMISSION_NOT_HELD).',
          body: Type.Object(
            { email: Type.String({ minLength: 3, maxLength: 320 }), role: RoleSchema },
            { additionalProperties: false },
          ),
          response: { 201: StaffInviteSchema, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const invite = await service.inviteStaff(request.principal!, request.body);
        return reply.code(201).header('location', `/v1/staff/invites/${invite.id}`).send(invite);
      },
    );

    app.delete(
      '/staff/invites/:id',
      {
        schema: {
          operationId: 'revokeStaffInvite',
          tags,
          security: needs('staff:write'),
          summary: 'Withdraw an invitation: its link stops working',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.revokeInvite(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/staff/invites/accept',
      {
        // It checks a password when the address has an account: limited like sign-in.
        onRequest: app.perMinuteLimit('login-ip', options.loginLimitPerMinute, clientAddress),
        schema: {
          operationId: 'acceptStaffInvite',
          tags,
          summary: 'Accept an invitation from its link, and be signed in',
          description:
            'Someone new gives a name and a password; an existing account its password. A spent, ' +
            'withdrawn or expired link answers 400 TOKEN_INVALID.',
          body: Type.Object(
            {
              token: Type.String({ minLength: 16, maxLength: 128 }),
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
              password: Type.String({ minLength: 1, maxLength: 1024 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: TokenPairSchema, ...problems(400, 401, 409, 429) },
        },
      },
      async (request) => service.acceptStaffInvite(request.body, clientInfo(request)),
    );
  };
}
