export interface FieldError {
  path: string;
  message: string;
}

export interface DomainErrorOptions {
  cause?: unknown;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members for the problem body (RFC 9457 extension members). */
  extensions?: Record<string, unknown>;
}

/**
 * The one error type business code throws. The HTTP layer alone turns it into problem+json;
 * `code` is the stable identifier clients switch on.
 */
export class DomainError extends Error {
  override name = 'DomainError';
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly extensions?: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    title: string,
    detail?: string,
    options: DomainErrorOptions = {},
  ) {
    super(detail ?? title, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.title = title;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }
}

export const badRequest = (code: string, detail: string, options?: DomainErrorOptions) =>
  new DomainError(400, code, 'Bad request', detail, options);

export const unauthorized = (detail = 'Authentication is required', code = 'UNAUTHENTICATED') =>
  new DomainError(401, code, 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer' } });

export const forbidden = (detail = 'You are not allowed to do this', code = 'FORBIDDEN') =>
  new DomainError(403, code, 'Forbidden', detail);

export const notFound = (what: string) =>
  new DomainError(404, 'NOT_FOUND', 'Not found', `${what} was not found`);

export const conflict = (code: string, detail: string, options?: DomainErrorOptions) =>
  new DomainError(409, code, titleFromCode(code), detail, options);

export function titleFromCode(code: string): string {
  const words = code.toLowerCase().split('_').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
