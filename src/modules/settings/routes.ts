import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { needs } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import type { SettingsService } from './service.ts';

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '\\S' });

const StoreAddressSchema = Type.Object(
  {
    line1: Text(200),
    line2: Type.Optional(Type.String({ maxLength: 200 })),
    city: Text(100),
    postalCode: Text(20),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
  },
  { additionalProperties: false },
);

export const StoreSettingsSchema = Type.Object({
  name: Type.String(),
  supportEmail: Type.Optional(Type.String()),
  address: Type.Optional(StoreAddressSchema),
  currency: Type.String({ description: 'STORE_CURRENCY: prices are kept in it' }),
  locales: Type.Array(Type.String(), {
    description: "STORE_LOCALES: the catalog's languages, the shop's own first",
  }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const MailPreviewSchema = Type.Object({
  template: Type.String({ description: 'The mail kind, as an order timeline names it' }),
  name: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
});

export function settingsRoutes(service: SettingsService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/store',
      {
        schema: {
          operationId: 'getStore',
          tags: ['settings'],
          summary:
            "The shop's name, contact and address as shoppers see them, with its currency and languages",
          response: { 200: StoreSettingsSchema },
        },
      },
      async () => service.read(),
    );

    app.get(
      '/email-templates',
      {
        schema: {
          operationId: 'previewEmails',
          tags: ['settings'],
          // Whoever serves customers reads what the shop tells them.
          security: needs('orders:read'),
          summary: 'Every mail the shop sends, rendered by its template with sample data (no customer’s)',
          response: { 200: Type.Object({ items: Type.Array(MailPreviewSchema) }), ...problems(401, 403) },
        },
      },
      async () => ({ items: await service.mailPreviews() }),
    );

    app.put(
      '/store',
      {
        schema: {
          operationId: 'setStore',
          tags: ['settings'],
          security: needs('staff:write'),
          summary: "Set the shop's name, contact email and address (the storefront shows them at once)",
          body: Type.Object(
            {
              name: Text(100),
              supportEmail: Type.Optional(Type.String({ maxLength: 320 })),
              address: Type.Optional(StoreAddressSchema),
            },
            { additionalProperties: false },
          ),
          response: { 200: StoreSettingsSchema, ...problems(400, 401, 403) },
        },
      },
      async (request) => service.write(request.body, request.principal!.id),
    );
  };
}
