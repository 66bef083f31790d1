/** One entry of a validation problem: where the bad value is and what is wrong with it. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export interface AppErrorOptions {
  readonly detail?: string;
  readonly cause?: unknown;
  /** Extra members rendered into the problem document (RFC 9457 extensions). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Response headers that belong with this error, such as Retry-After. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The one error model of Mela. Every error a client may see has a stable `code`, an HTTP status
 * and a title; the error handler renders it as RFC 9457 problem+json.
 */
export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, status: number, title: string, options: AppErrorOptions = {}) {
    super(options.detail ?? title, { cause: options.cause });
    this.code = code;
    this.status = status;
    this.title = title;
    this.detail = options.detail;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed or fails validation; `issues` says which fields. */
export class ValidationError extends AppError {
  override readonly name: string = 'ValidationError';
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[], detail = 'The request is not valid.') {
    super('validation_failed', 400, 'Invalid request', { detail, extensions: { errors: issues } });
    this.issues = issues;
  }
}

/** 401: no credentials, or credentials that do not verify. */
export class UnauthorizedError extends AppError {
  override readonly name: string = 'UnauthorizedError';
  constructor(detail = 'A valid bearer token is required.', cause?: unknown) {
    super('unauthorized', 401, 'Unauthorized', {
      detail,
      cause,
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
}

/** 403: the caller is known but may not do this. */
export class ForbiddenError extends AppError {
  override readonly name: string = 'ForbiddenError';
  constructor(detail = 'You may not do this.') {
    super('forbidden', 403, 'Forbidden', { detail });
  }
}

/** 404: the resource does not exist, or exists but is someone else's. */
export class NotFoundError extends AppError {
  override readonly name: string = 'NotFoundError';
  constructor(detail = 'The resource does not exist.', code = 'not_found') {
    super(code, 404, 'Not found', { detail });
  }
}

/** 409: the request conflicts with the current state (sold out, idempotency key reuse, ...). */
export class ConflictError extends AppError {
  override readonly name: string = 'ConflictError';
  constructor(code: string, detail: string, extensions?: Readonly<Record<string, unknown>>) {
    super(code, 409, 'Conflict', { detail, ...(extensions ? { extensions } : {}) });
  }
}

/** 429: too many requests; `retryAfterSeconds` becomes the Retry-After header. */
export class TooManyRequestsError extends AppError {
  override readonly name: string = 'TooManyRequestsError';
  constructor(retryAfterSeconds: number, detail = 'Too many requests; slow down.') {
    super('rate_limited', 429, 'Too many requests', {
      detail,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

/** 503: a dependency the request needs is down; the client may retry later. */
export class DependencyUnavailableError extends AppError {
  override readonly name: string = 'DependencyUnavailableError';
  constructor(dependency: string, cause?: unknown, retryAfterSeconds = 1) {
    super('dependency_unavailable', 503, 'Service unavailable', {
      detail: `A dependency is unavailable: ${dependency}.`,
      cause,
      extensions: { dependency },
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}
