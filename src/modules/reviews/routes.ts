import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { SIGNED_IN, STAFF } from '../../platform/http/auth.ts';
import { problems } from '../../platform/http/openapi.ts';
import { IdParams, Page, PageQuery, PlainText, Uuid } from '../../platform/http/schemas.ts';
import type { ReviewService } from './service.ts';

export const ReviewSchema = Type.Object({
  id: Uuid,
  productId: Uuid,
  userId: Uuid,
  rating: Type.Integer({ minimum: 1, maximum: 5 }),
  title: Type.Optional(Type.String()),
  body: Type.String(),
  verifiedPurchase: Type.Boolean({ description: 'written by someone who bought the product' }),
  hidden: Type.Optional(
    Type.Object(
      { at: Type.String({ format: 'date-time' }), reason: Type.String() },
      { description: 'staff hid it: in no listing and not in the rating (moderation views only)' },
    ),
  ),
  createdAt: Type.String({ format: 'date-time' }),
});

const Status = Type.Union([Type.Literal('visible'), Type.Literal('hidden')]);

export function reviewRoutes(service: ReviewService) {
  return (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['reviews'];

    app.get(
      '/products/:id/reviews',
      {
        schema: {
          operationId: 'listReviews',
          tags,
          summary: "A product's visible reviews, newest first",
          params: IdParams,
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(ReviewSchema), ...problems(404) },
        },
      },
      async (request) => service.list(request.params.id, request.query.page ?? 1, request.query.size ?? 20),
    );

    app.post(
      '/products/:id/reviews',
      {
        schema: {
          operationId: 'createReview',
          tags,
          security: SIGNED_IN,
          summary: 'Review a product you bought (one review per customer and product)',
          params: IdParams,
          body: Type.Object(
            {
              rating: Type.Integer({ minimum: 1, maximum: 5 }),
              title: Type.Optional(PlainText({ minLength: 1, maxLength: 200 })),
              body: PlainText({ maxLength: 5000, lines: true }),
            },
            { additionalProperties: false },
          ),
          response: { 201: ReviewSchema, ...problems(403, 404, 409) },
        },
      },
      async (request, reply) => {
        const review = await service.create(request.params.id, request.principal!.id, request.body);
        return reply.code(201).header('location', `/v1/reviews/${review.id}`).send(review);
      },
    );

    app.get(
      '/reviews/:id',
      {
        schema: {
          operationId: 'getReview',
          tags,
          summary: 'A visible review',
          params: IdParams,
          response: { 200: ReviewSchema, ...problems(404) },
        },
      },
      async (request) => service.get(request.params.id, false),
    );

    app.get(
      '/reviews',
      {
        schema: {
          operationId: 'listReviewsToModerate',
          tags,
          security: STAFF,
          summary: 'Every review, newest first, to moderate (staff); filter by status or product',
          querystring: Type.Object(
            { ...PageQuery, status: Type.Optional(Status), productId: Type.Optional(Uuid) },
            { additionalProperties: false },
          ),
          response: { 200: Page(ReviewSchema) },
        },
      },
      async (request) =>
        service.moderationList({
          page: request.query.page ?? 1,
          size: request.query.size ?? 20,
          status: request.query.status,
          productId: request.query.productId,
        }),
    );

    app.post(
      '/reviews/:id/hide',
      {
        schema: {
          operationId: 'hideReview',
          tags,
          security: STAFF,
          summary: "Hide a review: out of every listing and out of the product's rating (staff)",
          params: IdParams,
          body: Type.Object(
            {
              reason: PlainText({
                minLength: 1,
                maxLength: 500,
                description: 'kept with the review, for staff',
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: ReviewSchema, ...problems(409) },
        },
      },
      async (request) => service.hide(request.params.id, request.principal!.id, request.body.reason),
    );

    app.post(
      '/reviews/:id/show',
      {
        schema: {
          operationId: 'showReview',
          tags,
          security: STAFF,
          summary: 'Show a hidden review again; its rating counts again (staff)',
          params: IdParams,
          response: { 200: ReviewSchema, ...problems(409) },
        },
      },
      async (request) => service.show(request.params.id),
    );
  };
}
