import type { Express, RequestHandler } from 'express';
import type { ApiRouter } from './api.js';
import { Gauge, type Registry } from 'prom-client';
import type { DestinationStream } from 'pino';
import type { Redis } from 'ioredis';
import {
  createDevTokenIssuer,
  createTokenVerifier,
  devTokenRouter,
  whoAmIRouter,
  type TokenIssuer,
  type TokenVerifier,
} from './auth.js';
import type { PlatformConfig } from './config.js';
import { Health } from './health.js';
import { createHttpApp } from './http.js';
import { HttpService, type Closer, type Worker } from './lifecycle.js';
import { createLogger, type PinoLogger } from './logging.js';
import { createClientIds } from './client-id.js';
import { defaultRateLimitRules, rateLimiter } from './rate-limit.js';
import { createHttpMetrics, type HttpMetrics } from './metrics.js';

/** What a service's `main.ts` builds once and injects everywhere. */
export interface Platform {
  readonly service: string;
  readonly config: PlatformConfig;
  readonly logger: PinoLogger;
  readonly metrics: HttpMetrics;
  readonly health: Health;
  readonly tokens: TokenVerifier;
  /** Present only when dev tokens are enabled in the configuration. */
  readonly devTokens: TokenIssuer | undefined;
}

/** Builds logger, metrics registry, health registry and token verification from the config. */
export function createPlatform(
  service: string,
  config: PlatformConfig,
  options: { readonly logDestination?: DestinationStream } = {},
): Platform {
  const { auth } = config;
  const metrics = createHttpMetrics({ service });
  const health = new Health({ timeoutMs: config.readinessTimeoutMs });
  exportDependencyHealth(health, metrics.registry);
  return {
    service,
    config,
    logger: createLogger({
      service,
      level: config.logLevel,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    }),
    metrics,
    health,
    tokens: createTokenVerifier(auth),
    devTokens:
      auth.devTokens && auth.secret !== undefined
        ? createDevTokenIssuer({
            issuer: auth.issuer,
            audience: auth.audience,
            secret: auth.secret,
          })
        : undefined,
  };
}

/**
 * The service's express app on the platform: its routes plus `GET /api/auth/me` and, when
 * enabled, the dev-token route.
 */
export function createServiceApp(
  platform: Platform,
  routes: (app: Express, mount: (api: ApiRouter) => void) => void,
  options: {
    readonly etag?: boolean;
    /** Rate limiting (see {@link rateLimiter}), applied before every route. */
    readonly rateLimit?: RequestHandler;
  } = {},
): Express {
  const { devTokens } = platform;
  return createHttpApp({
    logger: platform.logger,
    metrics: platform.metrics,
    health: platform.health,
    bodyLimitBytes: platform.config.http.bodyLimitBytes,
    trustProxyHops: platform.config.http.trustProxyHops,
    etag: options.etag ?? false,
    title: `Mela ${platform.service}`,
    routes: (app, mount) => {
      if (options.rateLimit) app.use(options.rateLimit);
      mount(whoAmIRouter(platform.tokens));
      if (devTokens !== undefined) mount(devTokenRouter(devTokens));
      routes(app, mount);
    },
  });
}

/** An {@link HttpService} for the app with the configured port and shutdown timings. */
export function createHttpService(
  platform: Platform,
  app: Express,
  closers: readonly Closer[] = [],
  workers: readonly Worker[] = [],
): HttpService {
  const { http, shutdown } = platform.config;
  return new HttpService({
    handler: app,
    health: platform.health,
    logger: platform.logger,
    port: http.port,
    host: http.host,
    drainDelayMs: shutdown.drainDelayMs,
    shutdownTimeoutMs: shutdown.timeoutMs,
    closers,
    workers,
  });
}

/**
 * The service's rate limiter over `redis`: the default rules with the configured changes
 * (`RATE_LIMITS`), or undefined when the configuration turns rate limiting off (`RATE_LIMIT`).
 */
export function serviceRateLimit(platform: Platform, redis: Redis): RequestHandler | undefined {
  const { enabled, overrides, keyPrefix, clientSecret } = platform.config.rateLimit;
  if (!enabled) return undefined;
  return rateLimiter({
    redis,
    clientIds: clientSecret === undefined ? undefined : createClientIds(clientSecret),
    registry: platform.metrics.registry,
    tokens: platform.tokens,
    rules: defaultRateLimitRules.map((rule) => ({ ...rule, ...overrides[rule.name] })),
    keyPrefix,
  });
}

/**
 * `dependency_up{dependency}`: 1 when the readiness check of that dependency (a shard, Redis,
 * Kafka) passes, 0 when it fails — run at scrape time, so an alert sees a shard go down even
 * while no request touches it.
 */
function exportDependencyHealth(health: Health, registry: Registry): void {
  new Gauge({
    name: 'dependency_up',
    help: 'Whether the readiness check of each dependency passes (1) or fails (0), checked at scrape time',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      const report = await health.readiness();
      this.reset();
      for (const [dependency, check] of Object.entries(report.checks)) {
        this.set({ dependency }, check.status === 'up' ? 1 : 0);
      }
    },
  });
}
