import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type FieldError, titleFromCode } from '../errors.ts';

export const PROBLEM_BASE = 'https://emporium.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemType(code: string): string {
  return PROBLEM_BASE + code.toLowerCase().replaceAll('_', '-');
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string | undefined,
  extra: {
    title?: string;
    errors?: FieldError[];
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
  } = {},
): FastifyReply {
  const problem: Problem = {
    ...extra.extensions,
    type: problemType(code),
    title: extra.title ?? titleFromCode(code),
    status,
    code,
    detail,
    instance: request.url.split('?')[0],
  };
  if (extra.errors?.length) problem.errors = extra.errors;
  // With tracing on, a client reporting a failure can quote the id that finds its trace.
  if (request.trace) problem.traceId = request.trace.span.spanContext().traceId;
  if (extra.headers) reply.headers(extra.headers);
  return reply.code(status).type('application/problem+json').send(problem);
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Ajv issues become JSON-pointer paths into the part of the request that was wrong. */
export function fieldErrors(issues: AjvIssue[], part: string | undefined): FieldError[] {
  return issues.map((issue) => {
    let path = issue.instancePath;
    if (issue.keyword === 'required') path += `/${String(issue.params.missingProperty)}`;
    if (issue.keyword === 'additionalProperties') path += `/${String(issue.params.additionalProperty)}`;
    const message =
      issue.keyword === 'additionalProperties' ? 'is not a known field' : (issue.message ?? 'is invalid');
    return { path: part && part !== 'body' ? `/${part}${path}` : path || '/', message };
  });
}

const FASTIFY_CODES: Record<string, { status: number; code: string; detail?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'MALFORMED_JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  // @fastify/multipart, on an upload route
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The file is larger than 10 MB' },
  FST_FILES_LIMIT: { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'Send one file at a time' },
  FST_PARTS_LIMIT: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    detail: 'The form has more fields than this takes',
  },
  FST_FIELDS_LIMIT: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    detail: 'The form has more fields than this takes',
  },
  FST_PROTO_VIOLATION: {
    status: 400,
    code: 'BAD_REQUEST',
    detail: 'A form field has a name that is not allowed',
  },
  FST_MP_PREMATURE_CLOSE: {
    status: 400,
    code: 'BAD_REQUEST',
    detail: 'The form ended before it was complete',
  },
};

/**
 * Constraint violations are the database's last line of defence against bad input: they answer
 * 4xx without naming tables or columns, never 500.
 */
const DATABASE_CODES: Record<string, { status: number; code: string; detail: string }> = {
  '23505': { status: 409, code: 'CONFLICT', detail: 'This conflicts with something that already exists' },
  '23514': {
    status: 409,
    code: 'CONSTRAINT_VIOLATION',
    detail: 'This change would break a rule of the data',
  },
  '23503': {
    status: 409,
    code: 'CONSTRAINT_VIOLATION',
    detail: 'This refers to something that does not exist',
  },
  '22P02': { status: 400, code: 'BAD_REQUEST', detail: 'A value has the wrong format' },
  '22003': { status: 400, code: 'BAD_REQUEST', detail: 'A number is out of range' },
  '22001': { status: 400, code: 'BAD_REQUEST', detail: 'A value is too long' },
  '22021': { status: 400, code: 'BAD_REQUEST', detail: 'A value is not valid text' },
  '22P05': { status: 400, code: 'BAD_REQUEST', detail: 'A value holds a character that cannot be stored' },
  // Raised by a trigger guarding a state machine (orders): the change is not allowed now.
  EM001: { status: 409, code: 'INVALID_STATE', detail: 'This cannot change that way in its current state' },
  '22007': { status: 400, code: 'BAD_REQUEST', detail: 'A date or time has the wrong format' },
  '22008': { status: 400, code: 'BAD_REQUEST', detail: 'A date or time is out of range' },
  '22009': { status: 400, code: 'BAD_REQUEST', detail: 'A time zone is not valid' },
};

/**
 * The single error handler: domain errors carry their own status and code; framework errors are
 * mapped to stable codes; anything else is a 500 whose details stay in the log, never the answer.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DomainError) {
    if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, error.status, error.code, error.message, {
      title: error.title,
      errors: error.errors,
      headers: error.headers,
      extensions: error.extensions,
    });
  }
  if (error.validation) {
    return sendProblem(request, reply, 400, 'VALIDATION_FAILED', 'The request does not match its schema', {
      errors: fieldErrors(error.validation as AjvIssue[], error.validationContext),
    });
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return sendProblem(request, reply, mapped.status, mapped.code, mapped.detail ?? error.message);
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return sendProblem(request, reply, 400, 'MALFORMED_JSON', 'The body is not valid JSON');
  }
  const database = error.code ? DATABASE_CODES[error.code] : undefined;
  if (database) {
    request.log.warn({ err: error }, 'database refused the change');
    return sendProblem(request, reply, database.status, database.code, database.detail);
  }
  if (error.message === 'timeout exceeded when trying to connect') {
    request.log.warn({ err: error }, 'database pool exhausted');
    return sendProblem(request, reply, 503, 'DATABASE_BUSY', 'The database is busy; try again shortly', {
      headers: { 'retry-after': '1' },
    });
  }
  if (error.name === 'TimeoutError' || error.name === 'AbortError') {
    return sendProblem(
      request,
      reply,
      503,
      'DEADLINE_EXCEEDED',
      'The request did not finish within its deadline',
      {
        headers: { 'retry-after': '1' },
      },
    );
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return sendProblem(
      request,
      reply,
      status,
      status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST',
      error.message,
    );
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(
    request,
    reply,
    500,
    'INTERNAL',
    'Something went wrong on our side; it has been logged',
    {
      title: 'Internal server error',
    },
  );
}
