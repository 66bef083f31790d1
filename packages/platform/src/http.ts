import { createHash } from 'node:crypto';
import { IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import { AppError, NotFoundError } from '@mela/core';
import type { Health, ReadinessReport } from './health.js';
import { requestLogging, type PinoLogger } from './logging.js';
import { measureRequests, type HttpMetrics } from './metrics.js';
import { traceRequests } from './request-tracing.js';
import { requestContext } from './request-context.js';
import { canonicalPaths, problemMediaType } from './router.js';
import { ApiRouter, methodNotAllowed, openApiDocument, operation, type Operation } from './api.js';

export interface HttpAppOptions {
  readonly logger: PinoLogger;
  readonly metrics: HttpMetrics;
  readonly health: Health;
  /** Largest accepted JSON body. @default 102400 */
  readonly bodyLimitBytes?: number;
  /** Reverse-proxy hops whose X-Forwarded-For is trusted for `req.ip`. @default 0 */
  readonly trustProxyHops?: number;
  /**
   * Strong ETags on GET responses, with 304 for a matching If-None-Match (for cacheable,
   * anonymous data). @default false
   */
  readonly etag?: boolean;
  /** What `/openapi.json` calls the API. */
  readonly title: string;
  /**
   * Mounts the service's routes; called after the body parser, before the 404 handler.
   * `mount` adds an {@link ApiRouter}: its operations are served and documented.
   */
  readonly routes: (app: Express, mount: (api: ApiRouter) => void) => void;
}

/**
 * The version of the API contract (not of the software): it changes when a client would have
 * to, and `/openapi.json` says it.
 */
export const apiVersion = '1.0.0';

const noStore = 'no-store';

const readinessReport = z
  .object({
    status: z.enum(['ready', 'degraded', 'not_ready', 'shutting_down']),
    checks: z.record(
      z.string(),
      z.object({
        status: z.enum(['up', 'down']),
        critical: z.boolean(),
        durationMs: z.number(),
        error: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'ReadinessReport' }) satisfies z.ZodType<ReadinessReport>;

const insideOnly = 'Inside only: the public edge does not route it.';

/** The operations endpoints: never routed by the public edge, in any spelling. */
const opsOperations = {
  livez: operation({
    method: 'get',
    path: '/livez',
    operationId: 'livez',
    summary: 'Liveness: the process answers',
    description: insideOnly,
    tag: 'operations',
    responses: {
      200: { description: 'Alive.', body: z.object({ status: z.literal('alive') }) },
    },
  }),
  readyz: operation({
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: what would make this replica useless, checked now',
    description: insideOnly,
    tag: 'operations',
    responses: {
      200: {
        description: 'Ready, or degraded (a non-critical check fails).',
        body: readinessReport,
      },
      503: { description: 'Not ready, or draining.', body: readinessReport },
    },
  }),
  metrics: operation({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics (RED histograms, business counters)',
    description: insideOnly,
    tag: 'operations',
    responses: {
      200: {
        description:
          "OpenMetrics text (Prometheus asks for it first): the latency histogram's buckets carry exemplars, the trace id of a request they counted.",
        content: { 'application/openmetrics-text': z.string() },
      },
    },
  }),
  openApi: operation({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApi',
    summary: 'This document',
    description: 'Through the edge: /api/docs/<service>.json, and the reference at /api/docs/.',
    tag: 'operations',
    responses: {
      200: { description: 'OpenAPI 3.1.', body: z.record(z.string(), z.unknown()) },
    },
  }),
};

export { createRouter, problemMediaType } from './router.js';

/**
 * Builds the express app every service runs: security headers, request ids and logs, RED
 * metrics, `/livez`, `/readyz`, `/metrics`, a bounded JSON body parser, the service's routes,
 * then problem+json for unknown routes and for every error.
 */
export function createHttpApp(options: HttpAppOptions): Express {
  const { health, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', canonicalPaths.caseSensitive);
  app.set('strict routing', canonicalPaths.strict);
  app.set('trust proxy', options.trustProxyHops ?? 0);
  app.set('etag', options.etag === true ? 'strong' : false);

  // Probes and scrapes, every few seconds: nobody wants their traces.
  const { livez, readyz, metrics: scrape } = opsOperations;
  const tracing = traceRequests(new Set([livez.path, readyz.path, scrape.path]));
  app.use(
    inOneLayer([
      securityHeaders(),
      requestLogging(options.logger),
      requestContext,
      ...(tracing ? [tracing] : []),
      measureRequests(metrics),
      (_req, res, next) => {
        // While draining, ask keep-alive clients to reconnect elsewhere.
        if (health.shuttingDown) res.setHeader('Connection', 'close');
        next();
      },
    ]),
  );

  const ops = new ApiRouter();
  const operations: Operation[] = [];
  const mount = (api: ApiRouter) => {
    api.serveOn(app.router);
    operations.push(...api.operations);
  };
  let document = '';
  ops
    .handle(opsOperations.livez, (_input, _req, res) => {
      res.set('Cache-Control', noStore).json({ status: 'alive' });
    })
    .handle(opsOperations.readyz, async (_input, _req, res) => {
      const report = await health.readiness();
      const ok = report.status === 'ready' || report.status === 'degraded';
      res
        .status(ok ? 200 : 503)
        .set('Cache-Control', noStore)
        .json(report);
    })
    .handle(opsOperations.metrics, async (_input, _req, res) => {
      res
        .set('Content-Type', metrics.registry.contentType)
        .set('Cache-Control', noStore)
        .send(await metrics.registry.metrics());
    })
    .handle(opsOperations.openApi, (_input, _req, res) => {
      res.set('Cache-Control', 'no-cache').type('application/json').send(document);
    });
  mount(ops);

  app.use(
    express.json({
      limit: options.bodyLimitBytes ?? 100 * 1024,
      type: ['application/json', 'application/*+json'],
      strict: true,
    }),
  );
  options.routes(app, mount);
  app.use(methodNotAllowed(operations));
  // Worked out once the operations are all known, at start: a schema zod-openapi cannot
  // render fails the service's start, not a request.
  document = JSON.stringify(
    openApiDocument({ title: options.title, version: apiVersion }, operations),
  );

  app.use((req: Request) => {
    throw new NotFoundError(`No route for ${req.method} ${req.path}.`, 'route_not_found');
  });
  app.use(problemHandler(options.logger, metrics));
  return app;
}

/**
 * Middleware that runs `handlers` one after the other, as one layer of express's router: what
 * every request goes through pays the router's per-layer work once, not once each (a profile of
 * the cache-hit product page put express's router at 6.7 % of the catalog's CPU samples).
 */
export function inOneLayer(handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let at = 0;
    const step = (error?: unknown): void => {
      const handler = handlers[at];
      at += 1;
      if (error !== undefined || handler === undefined) {
        next(error);
        return;
      }
      // As express does for a handler of its own: a rejected promise is the request's error.
      const result: unknown = handler(req, res, step);
      if (result instanceof Promise) result.catch(step);
    };
    step();
  };
}

/**
 * What helmet sets on an API's responses: OWASP's REST Security Cheat Sheet's headers (a CSP
 * that lets nothing load or frame the response, no framing, no sniffing, HTTPS only) and that
 * other origins may not embed them. The rest of helmet's defaults govern HTML pages.
 */
const apiHeaderOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
} as const satisfies Parameters<typeof helmet>[0];

/**
 * helmet's security headers, worked out once: they are the same for every response, and one
 * `setHeaders` per request replaces helmet's middleware calls (a profile of the cache-hit
 * product page put them at 3–4 % of the catalog's CPU). `api` (every response gets these):
 * the headers an API's JSON needs; `page` (the routes that serve a browser HTML, scripts and
 * styles add these): helmet's defaults. Five headers instead of twelve on every API response
 * was 5 % more product pages a second, side by side.
 */
export function securityHeaders(kind: 'api' | 'page' = 'api'): RequestHandler {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: () => undefined,
  };
  const helmetRan = { next: false };
  helmet(kind === 'api' ? apiHeaderOptions : undefined)(
    new IncomingMessage(new Socket()),
    recorder as unknown as ServerResponse,
    () => {
      helmetRan.next = true;
    },
  );
  if (!helmetRan.next || headers.size === 0) throw new Error('helmet did not run synchronously');
  return (_req, res, next) => {
    res.setHeaders(headers);
    next();
  };
}

interface Serialised {
  /**
   * The JSON text, kept as a string: Node writes a string body in one write with the headers,
   * a Buffer as a second chunk through writev (on the product page 8 % fewer requests a
   * second, side by side).
   */
  readonly body: string;
  /** Its length in UTF-8 bytes. */
  readonly bytes: number;
  readonly etag: string;
}

/** JSON text and ETags of the values {@link sendJson} answered, while those values live. */
const serialised = new WeakMap<object, Serialised>();

/**
 * Answers `value` as JSON with a strong ETag (304 for a matching If-None-Match), serialising
 * each object once: the same object answered again — an entry a near cache holds — reuses its
 * bytes and ETag. The value must not change after it was sent.
 */
export function sendJson(req: Request, res: Response, value: object): void {
  let done = serialised.get(value);
  if (done === undefined) {
    const body = JSON.stringify(value);
    const bytes = Buffer.byteLength(body);
    const hash = createHash('sha1').update(body).digest('base64url');
    done = { body, bytes, etag: `"${bytes.toString(16)}-${hash}"` };
    serialised.set(value, done);
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('ETag', done.etag);
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  res.setHeader('Content-Length', done.bytes);
  res.end(req.method === 'HEAD' ? undefined : done.body);
}

/** Errors raised by express's body parser (via http-errors) carry a `type` and a `status`. */
interface HttpParserError {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly expose?: unknown;
  readonly message: string;
}

/** Maps anything thrown by a route or a middleware to an {@link AppError}. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof Error) {
    const parserError = error as Error & HttpParserError;
    switch (parserError.type) {
      case 'entity.parse.failed':
        return new AppError('malformed_json', 400, 'Malformed JSON', {
          detail: 'The request body is not valid JSON.',
          cause: error,
        });
      case 'entity.too.large':
        return new AppError('payload_too_large', 413, 'Payload too large', {
          detail: 'The request body is larger than this endpoint accepts.',
          cause: error,
        });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new AppError('unsupported_encoding', 415, 'Unsupported encoding', {
          detail: parserError.message,
          cause: error,
        });
      case 'request.aborted':
      case 'request.size.invalid':
        return new AppError('bad_request', 400, 'Bad request', {
          detail: parserError.message,
          cause: error,
        });
      default:
        break;
    }
    if (
      typeof parserError.status === 'number' &&
      parserError.status >= 400 &&
      parserError.status < 500 &&
      parserError.expose === true
    ) {
      return new AppError('bad_request', parserError.status, 'Bad request', {
        detail: parserError.message,
        cause: error,
      });
    }
  }
  return new AppError('internal_error', 500, 'Internal server error', {
    detail: 'Something went wrong on our side; the request id identifies it in our logs.',
    cause: error,
  });
}

/**
 * Where a service's domain errors become HTTP problems: `problem` gives the {@link AppError}
 * for the errors it knows (keeping the original as its cause) and undefined for the rest,
 * which pass on unchanged. Mounted after a router's routes.
 */
export function domainProblems(
  problem: (error: unknown) => AppError | undefined,
): ErrorRequestHandler {
  return (error: unknown, _req: Request, _res: Response, next: NextFunction): void => {
    next(problem(error) ?? error);
  };
}

/** The one error handler: renders RFC 9457 problem+json and counts errors by code. */
export function problemHandler(logger: PinoLogger, metrics: HttpMetrics): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    const problem = toAppError(error);
    metrics.errors.inc({ code: problem.code });
    // req.log is absent when the failure happened before the request logger ran.
    const log = (req as Partial<Pick<Request, 'log'>>).log ?? logger;
    if (problem.status >= 500) log.error({ err: error, code: problem.code }, 'request failed');
    if (res.headersSent) {
      next(error);
      return;
    }
    res.status(problem.status).set(problem.headers).type(problemMediaType);
    res.set('Cache-Control', 'no-store');
    res.send(
      JSON.stringify({
        ...problem.extensions,
        type: `/problems/${problem.code}`,
        title: problem.title,
        status: problem.status,
        detail: problem.detail ?? problem.title,
        instance: req.originalUrl.split('?')[0],
        code: problem.code,
        requestId: (req as Request & { id?: unknown }).id,
      }),
    );
  };
}
