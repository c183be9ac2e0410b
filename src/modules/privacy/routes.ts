import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { SIGNED_IN } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { SavedAddressSchema, SecurityEventSchema, UserSchema } from '../identity/index.ts';
import { OrderSchema } from '../ordering/index.ts';
import { ReviewSchema } from '../reviews/index.ts';
import type { PrivacyService } from './service.ts';

export const DataExportSchema = Type.Object({
  exportedAt: Type.String({ format: 'date-time' }),
  profile: UserSchema,
  addresses: Type.Array(SavedAddressSchema),
  orders: Type.Array(OrderSchema, { description: 'every order, newest first' }),
  reviews: Type.Array(ReviewSchema, { description: 'every review written, hidden ones too' }),
  securityEvents: Type.Array(SecurityEventSchema, {
    description: 'the account’s security log, newest first',
  }),
});

export function privacyRoutes(service: PrivacyService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/users/me/export',
      {
        schema: {
          operationId: 'exportMyData',
          tags: ['accounts'],
          summary: 'Download everything the shop holds about you, as JSON',
          security: SIGNED_IN,
          response: { 200: DataExportSchema, ...problems(401) },
        },
      },
      async (request, reply) => {
        const data = await service.exportFor(request.principal!);
        reply.header(
          'content-disposition',
          `attachment; filename="emporium-data-${data.exportedAt.slice(0, 10)}.json"`,
        );
        reply.header('cache-control', 'no-store');
        return data;
      },
    );
  };
}
