import type { FastifyRequest, RouteOptions } from 'fastify';
import { badRequest, DomainError } from '../errors.ts';
import { requiredPermission, takesBearer } from './auth.ts';
import { ProblemRef } from './schemas.ts';

/**
 * The OpenAPI document is generated from the route schemas; this completes it the same way for
 * every operation, from what the platform itself does to every request (limits, authentication,
 * the body gate below), so the document lists every status an operation can answer.
 */

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or invalid: path, query, headers or body (VALIDATION_FAILED, MALFORMED_JSON, BODY_NOT_ALLOWED, …)',
  401: 'No access token, or one that is invalid, expired or revoked',
  402: 'The payment was declined or failed; nothing was charged',
  403: 'Signed in, but without a role this needs',
  404: 'Not found, or not yours',
  409: 'Conflicts with the current state',
  412: 'If-Match does not match the current ETag',
  413: 'The body is larger than BODY_LIMIT_BYTES',
  415: 'This content type is not accepted here',
  422: 'The Idempotency-Key was used with another request',
  426: 'Connect with a WebSocket upgrade',
  428: 'If-Match is required',
  429: 'Too many requests',
  500: 'Something failed on the server; it is logged, and the answer says no more',
  503: 'Not available now (deadline passed, database busy, a provider down); retry after Retry-After',
};

const RETRY_AFTER = {
  'retry-after': { type: 'integer', description: 'seconds to wait before trying again' },
};
const RATE_LIMIT_HEADERS = {
  ...RETRY_AFTER,
  'ratelimit-limit': { type: 'integer', description: 'requests allowed in the window' },
  'ratelimit-remaining': { type: 'integer', description: 'requests left in the window' },
  'ratelimit-reset': { type: 'integer', description: 'seconds until the window resets' },
  'ratelimit-policy': { type: 'string', description: 'the limit and its window, e.g. "100;w=60"' },
};

/** A problem+json response (RFC 9457) for the status, with the headers that come with it. */
export function problemResponse(status: number) {
  const headers =
    status === 429
      ? RATE_LIMIT_HEADERS
      : status === 503
        ? RETRY_AFTER
        : status === 401
          ? { 'www-authenticate': { type: 'string', description: 'Bearer' } }
          : undefined;
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem details (RFC 9457)',
    ...(headers ? { headers } : {}),
    content: { 'application/problem+json': { schema: ProblemRef } },
  };
}

/** Error responses a route may give besides those every route may (see documentOperation). */
export function problems(...statuses: number[]): Record<number, ReturnType<typeof problemResponse>> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status)]));
}

type Schema = Record<string, unknown>;

/** The media types an operation's body may have; undefined when it takes no body. */
function acceptedMediaTypes(schema: Schema | undefined): string[] | undefined {
  const body = schema?.body as Schema | undefined;
  if (!body) return undefined;
  const content = body.content as Record<string, unknown> | undefined;
  return content ? Object.keys(content) : ['application/json'];
}

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * A preParsing hook that refuses a body the operation does not take before it is read: any body
 * of an operation without one (400 BODY_NOT_ALLOWED), or a media type other than those it
 * documents (415), so what the document says is what the server accepts.
 */
export function bodyGate(route: RouteOptions) {
  const accepted = acceptedMediaTypes(route.schema as Schema | undefined);
  return async (request: FastifyRequest, _reply: unknown, payload: unknown) => {
    if (!hasBody(request)) return payload;
    if (!accepted) throw badRequest('BODY_NOT_ALLOWED', `${request.method} ${route.url} takes no body`);
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!accepted.includes(mediaType)) {
      throw new DomainError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported media type',
        `This operation takes ${accepted.join(' or ')}`,
      );
    }
    return payload;
  };
}

/**
 * Completes an operation's documentation (the swagger `transform`; the route itself is unchanged):
 * `security: []` when it needs no token; the problems every operation may answer (400 for any
 * malformed request, 429 from the per-address limit, 500, 503), 401/403 from its security, 404
 * when a path names something, 413/415 when it takes a body; the Location of a 201, and the ETag
 * of a 200 where the operation takes conditional headers.
 */
export function documentOperation(schema: Schema, url: string): Schema {
  const secured = takesBearer(schema.security);
  const responses: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
  const add = (...statuses: number[]) => {
    for (const status of statuses) responses[status] ??= problemResponse(status);
  };
  add(400, 429, 500, 503);
  if (secured) add(401);
  if (requiredPermission(schema.security)) add(403);
  if (url.includes(':')) add(404);
  if (acceptedMediaTypes(schema)) add(413, 415);
  const withHeaders = (status: number, description: string, headers: Schema) => {
    const response = responses[status] as Schema | undefined;
    if (!response || response.content) return;
    responses[status] = {
      description: (response.description as string | undefined) ?? description,
      headers,
      content: { 'application/json': { schema: response } },
    };
  };
  withHeaders(201, 'Created', { location: { type: 'string', description: 'the path of what was created' } });
  // A resource that takes conditional requests says its version in every full answer.
  const requestHeaders = (schema.headers as Schema | undefined)?.properties as Schema | undefined;
  if (requestHeaders && ('if-match' in requestHeaders || 'if-none-match' in requestHeaders)) {
    withHeaders(200, 'OK', {
      etag: { type: 'string', description: 'the strong entity tag of this version' },
    });
  }
  return { ...schema, security: schema.security ?? [], response: responses };
}
