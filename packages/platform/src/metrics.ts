import type { NextFunction, Request, Response } from 'express';
import {
  Counter,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type OpenMetricsContentType,
} from 'prom-client';
import { currentTraceId } from '@mela/core';

/** Route label for requests no route matched, so unknown URLs never become label values. */
export const unmatchedRoute = '(unmatched)';

type RedLabel = 'method' | 'route' | 'status_code';

/** The metrics every Mela HTTP service exports, on a registry of its own. */
export interface HttpMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly errors: Counter<'code'>;
}

export interface HttpMetricsOptions {
  /** Added as `service` to every series. */
  readonly service: string;
  /** Collect Node.js process metrics (event loop lag, heap, GC, ...). @default true */
  readonly defaultMetrics?: boolean;
}

/**
 * Creates a registry with the RED histogram `http_request_duration_seconds{method,route,status_code}`
 * and `http_errors_total{code}`; never the global registry, so two apps in one process do not mix.
 */
export function createHttpMetrics(options: HttpMetricsOptions): HttpMetrics {
  // OpenMetrics, the text format that carries exemplars (Prometheus asks for it first). The
  // registry's type parameter names the format; every consumer here takes the plain type.
  const openMetrics = new Registry<OpenMetricsContentType>();
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const registry = openMetrics as unknown as Registry;
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
      // Each bucket keeps its latest traced request's trace id: a p99 spike links to a trace.
      enableExemplars: true,
    }),
    errors: new Counter({
      name: 'http_errors_total',
      help: 'Error responses by stable problem code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
  };
}

/**
 * The route pattern a request matched (`/api/orders/:id`), never its URL. Routers must be
 * mounted at literal prefixes for the pattern to stay bounded: `req.baseUrl` is the matched text.
 */
export function routePattern(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (route === undefined || typeof route.path !== 'string') return unmatchedRoute;
  return `${req.baseUrl}${route.path}` || '/';
}

/** Express middleware observing every request into the RED histogram when it finishes. */
export function measureRequests(metrics: HttpMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    // The request's trace, read here where its span is the active one.
    const traceId = currentTraceId();
    res.once('finish', () => {
      metrics.requestDuration.observe({
        labels: {
          method: req.method,
          route: routePattern(req),
          status_code: String(res.statusCode),
        },
        value: Number(process.hrtime.bigint() - start) / 1e9,
        // prom-client types exemplar labels as the metric's labels; any label set is valid.
        ...(traceId === undefined
          ? {}
          : { exemplarLabels: { trace_id: traceId } as Partial<Record<RedLabel, string>> }),
      });
    });
    next();
  };
}
