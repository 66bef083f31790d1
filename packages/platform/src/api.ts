import type { ErrorRequestHandler, Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { AppError, ValidationError, type FieldIssue } from '@mela/core';
import { requireRole, requireUserPrivately, type TokenVerifier } from './auth.js';
import { createRouter, problemMediaType } from './router.js';
import { fieldIssues } from './validation.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A response an operation gives, other than a problem. */
export interface ApiResponse {
  readonly description: string;
  /** The JSON body; none when absent. */
  readonly body?: z.ZodType;
  /** Other media types, each with the schema of its body (a string for text). */
  readonly content?: Readonly<Record<string, z.ZodType>>;
  readonly headers?: z.ZodObject;
  /**
   * Operations this answer leads to, with where their parameters come from (OpenAPI links,
   * runtime expressions such as `$request.body#/productId`): clients and fuzzers follow them.
   */
  readonly links?: Readonly<
    Record<string, { readonly operationId: string; readonly parameters: Record<string, string> }>
  >;
}

/** An error an operation may answer with (problem+json), beyond those every operation has. */
export type ProblemStatus = 402 | 403 | 404 | 409 | 422 | 503;

/**
 * One HTTP operation: what it accepts and what it answers. The route serves it and the
 * OpenAPI document describes it from this one value, so the two cannot drift apart: the same
 * schemas validate the request and document it, and the `auth` that is documented is the one
 * that is enforced.
 */
export interface Operation<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  readonly method: Method;
  /** Express syntax: `/api/catalog/products/:id`. */
  readonly path: `/${string}`;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** A bearer token of a user (answers are `private, no-store`), or of an admin. */
  readonly auth?: 'user' | 'admin';
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** The body may be left out (parsed as `{}`). @default false */
  readonly bodyOptional?: boolean;
  /**
   * Request headers the handler reads and checks itself (with its own problem codes); the
   * document shows them with these schemas.
   */
  readonly headers?: z.ZodObject;
  readonly responses: Readonly<Partial<Record<200 | 201 | 204 | 304 | 503, ApiResponse>>>;
  readonly problems?: readonly ProblemStatus[];
}

/** What a handler gets: the request's parts as the operation's schemas parsed them. */
export interface ApiInput<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly params: z.output<P>;
  readonly query: z.output<Q>;
  readonly body: z.output<B>;
}

export type ApiHandler<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> = (
  input: ApiInput<P, Q, B>,
  req: Request,
  res: Response,
) => unknown;

/** Declares an operation (typed, so that its handler's input is). */
export function operation<
  P extends z.ZodType = z.ZodUndefined,
  Q extends z.ZodType = z.ZodUndefined,
  B extends z.ZodType = z.ZodUndefined,
>(op: Operation<P, Q, B>): Operation<P, Q, B> {
  return op;
}

/** One route an {@link ApiRouter} serves: what express is given for it. */
interface ApiRoute {
  readonly method: Method;
  readonly path: string;
  readonly handlers: readonly RequestHandler[];
}

/**
 * Operations and their handlers: the app serves them (`mount`, on its own router: a request
 * finds its route in one list, not by entering a router per group) and documents them.
 */
export class ApiRouter {
  readonly #routes: ApiRoute[] = [];
  readonly #errorHandlers: ErrorRequestHandler[] = [];
  readonly #operations: Operation[] = [];
  readonly #tokens: TokenVerifier | undefined;

  /** `tokens` verify the bearer of operations with `auth`; a router without them has none. */
  constructor(tokens?: TokenVerifier) {
    this.#tokens = tokens;
  }

  get operations(): readonly Operation[] {
    return this.#operations;
  }

  /** Serves `op` with `handler`, after its authentication and the parsing of its input. */
  handle<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
    op: Operation<P, Q, B>,
    handler: ApiHandler<P, Q, B>,
  ): this {
    const before: RequestHandler[] = [];
    if (op.auth !== undefined) {
      if (this.#tokens === undefined) throw new Error(`${op.operationId} needs a token verifier`);
      before.push(requireUserPrivately(this.#tokens));
    }
    if (op.auth === 'admin') before.push(requireRole('admin'));
    // The parts this operation parses, worked out once; each request only runs the schemas.
    const parts: (readonly ['params' | 'query' | 'body', z.ZodType])[] = [];
    if (op.params !== undefined) parts.push(['params', op.params]);
    if (op.query !== undefined) parts.push(['query', op.query]);
    if (op.body !== undefined) parts.push(['body', op.body]);
    this.#routes.push({
      method: op.method,
      path: op.path,
      handlers: [
        ...before,
        async (req: Request, res: Response) => {
          const input: Record<string, unknown> = {};
          // Every part is parsed, so that one 400 names every bad field, wherever it is.
          let issues: FieldIssue[] | undefined;
          for (const [where, schema] of parts) {
            const sent: unknown =
              where === 'body' && op.bodyOptional === true
                ? ((req.body as unknown) ?? {})
                : req[where];
            const result = schema.safeParse(sent);
            if (result.success) input[where] = result.data;
            else (issues ??= []).push(...fieldIssues(result.error, where));
          }
          if (issues !== undefined) throw new ValidationError(issues);
          await handler(input as unknown as ApiInput<P, Q, B>, req, res);
        },
      ],
    });
    this.#operations.push(op);
    return this;
  }

  /**
   * Handles what this router's operations throw before the app's problem handler does (a
   * service's domain errors, mapped to problems: see `domainProblems`).
   */
  onError(handler: ErrorRequestHandler): this {
    this.#errorHandlers.push(handler);
    return this;
  }

  /** Serves the operations on `router`, each route followed by this router's error handlers. */
  serveOn(router: Router): void {
    for (const { method, path, handlers } of this.#routes)
      router[method](path, ...handlers, ...this.#errorHandlers);
  }
}

/**
 * After every router: a path an operation serves, asked with a method none serves, answers
 * 405 with `Allow` (HEAD goes with GET), not the 404 of a path that does not exist.
 */
export function methodNotAllowed(operations: readonly Operation[]): Router {
  const router = createRouter();
  const methods = new Map<string, Set<string>>();
  for (const op of operations) {
    const set = methods.get(op.path) ?? new Set<string>();
    set.add(op.method.toUpperCase());
    if (op.method === 'get') set.add('HEAD');
    methods.set(op.path, set);
  }
  for (const [path, allowed] of methods) {
    const allow = [...allowed].join(', ');
    router.all(path, (req) => {
      throw new AppError('method_not_allowed', 405, 'Method not allowed', {
        detail: `${openApiPath(path)} answers ${allow}, not ${req.method}.`,
        headers: { Allow: allow },
      });
    });
  }
  return router;
}

/** An RFC 9457 problem, as every error is answered. */
export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z.string(),
    code: z.string().meta({ description: 'Stable and machine-readable: what went wrong.' }),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'With `validation_failed`: each bad field and what is wrong with it.' }),
  })
  .meta({ id: 'Problem', description: 'An error (RFC 9457 problem details).' });

const retryAfter = z
  .string()
  .regex(/^\d+$/)
  .meta({ description: 'Seconds to wait before asking again.' });

/** The IETF draft's rate-limit headers, sent while a client's budget is being spent. */
const rateLimitHeaders = {
  'RateLimit-Policy': z
    .string()
    .optional()
    .meta({ description: 'Each limit that applies: its name, quota and window.' }),
  RateLimit: z
    .string()
    .optional()
    .meta({ description: 'What is left of each limit, and when it resets.' }),
};

function problem(description: string, headers?: z.ZodObject): ZodOpenApiResponseObject {
  return {
    description,
    content: { [problemMediaType]: { schema: problemSchema } },
    ...(headers === undefined ? {} : { headers }),
  };
}

const problemDescriptions: Record<ProblemStatus, string> = {
  402: 'The payment was declined.',
  403: 'The token does not allow this.',
  404: 'Not found (someone else’s resource answers the same).',
  409: 'Conflicts with the current state.',
  422: 'Cannot be done as asked.',
  503: 'A dependency is unavailable; try again after Retry-After.',
};

function responsesOf(op: Operation): ZodOpenApiResponsesObject {
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, response] of Object.entries(op.responses)) {
    const content: Record<string, { schema: z.ZodType }> = {};
    if (response.body !== undefined) content['application/json'] = { schema: response.body };
    for (const [type, schema] of Object.entries(response.content ?? {})) content[type] = { schema };
    responses[status as '200'] = {
      description: response.description,
      ...(Object.keys(content).length > 0 ? { content } : {}),
      headers: z.object({ ...rateLimitHeaders, ...response.headers?.shape }),
      ...(response.links === undefined ? {} : { links: response.links }),
    };
  }
  const hasInput = op.params !== undefined || op.query !== undefined || op.body !== undefined;
  if (hasInput || op.headers !== undefined)
    responses['400'] = problem('The request is not valid: `errors` says which fields.');
  if (op.auth !== undefined)
    responses['401'] = problem(
      'No valid bearer token.',
      z.object({ 'WWW-Authenticate': z.literal('Bearer') }),
    );
  if (op.auth === 'admin') responses['403'] = problem('The token lacks the admin role.');
  for (const status of op.problems ?? [])
    responses[String(status) as '404'] = problem(
      problemDescriptions[status],
      status === 503 ? z.object({ 'Retry-After': retryAfter.optional() }) : undefined,
    );
  if (op.body !== undefined) {
    responses['413'] = problem('The body is larger than the service accepts.');
    responses['415'] = problem('The body is not JSON in UTF-8.');
  }
  responses['429'] = problem(
    'Too many requests: wait for Retry-After.',
    z.object({ 'Retry-After': retryAfter, ...rateLimitHeaders }),
  );
  return responses;
}

/** `/api/orders/:id` → `/api/orders/{id}`. */
function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

/** The OpenAPI 3.1 document of a service's operations. */
export function openApiDocument(
  info: { readonly title: string; readonly version: string; readonly description?: string },
  operations: readonly Operation[],
): object {
  const paths: ZodOpenApiPathsObject = {};
  for (const op of operations) {
    const described: ZodOpenApiOperationObject = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description === undefined ? {} : { description: op.description }),
      tags: [op.tag],
      requestParams: {
        ...(op.params === undefined ? {} : { path: op.params as z.ZodObject }),
        ...(op.query === undefined ? {} : { query: op.query as z.ZodObject }),
        ...(op.headers === undefined ? {} : { header: op.headers }),
      },
      ...(op.body === undefined
        ? {}
        : {
            requestBody: {
              required: op.bodyOptional !== true,
              content: { 'application/json': { schema: op.body } },
            },
          }),
      ...(op.auth === undefined ? {} : { security: [{ bearer: [] }] }),
      responses: responsesOf(op),
    };
    const path = openApiPath(op.path);
    paths[path] = { ...paths[path], [op.method]: described };
  }
  return createDocument({
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A token of the identity provider (locally, POST /api/auth/dev-token).',
        },
      },
    },
  });
}
