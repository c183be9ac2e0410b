import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { IdParams, Page, PageQuery, problems } from '../../platform/http/schemas.ts';
import type { ReviewService } from './service.ts';
import { SIGNED_IN } from '../../platform/http/auth.ts';

export const ReviewSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  productId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  rating: Type.Integer({ minimum: 1, maximum: 5 }),
  title: Type.Optional(Type.String()),
  body: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export function reviewRoutes(service: ReviewService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['reviews'];

    app.get(
      '/products/:id/reviews',
      {
        schema: {
          tags,
          summary: "A product's reviews, newest first",
          params: IdParams,
          querystring: Type.Object(PageQuery),
          response: { 200: Page(ReviewSchema), ...problems(400, 404) },
        },
      },
      async (request) => service.list(request.params.id, request.query.page ?? 1, request.query.size ?? 20),
    );

    app.post(
      '/products/:id/reviews',
      {
        schema: {
          tags,
          security: SIGNED_IN,
          summary: 'Review a product (one review per user and product)',
          params: IdParams,
          body: Type.Object(
            {
              rating: Type.Integer({ minimum: 1, maximum: 5 }),
              title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              body: Type.String({ maxLength: 5000 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: ReviewSchema, ...problems(400, 401, 404, 409) },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await service.create(request.params.id, request.principal!.id, request.body)),
    );
  };
}
