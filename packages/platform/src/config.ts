import { envBool, envInt, envPort } from '@mela/core';
import { tracingEnv } from './tracing-config.js';
import { z } from 'zod';
import { defaultRateLimitRules } from './rate-limit.js';

/** A new limit for a rule: so many requests per window. */
export interface RateLimitOverride {
  readonly points: number;
  readonly windowSeconds: number;
}

/** `rule=requests/seconds` pairs, comma-separated: `orders=10/60,products=500/60`. */
export const envRateLimits = () =>
  z.string().transform((raw, ctx) => {
    const overrides: Record<string, RateLimitOverride> = {};
    for (const entry of raw.split(',').map((e) => e.trim())) {
      if (entry === '') continue;
      const match = /^([a-z][a-z0-9-]*)=(\d{1,9})\/(\d{1,7})$/.exec(entry);
      if (!match?.[1] || !match[2] || !match[3] || Number(match[2]) < 1 || Number(match[3]) < 1) {
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not rule=requests/seconds (e.g. orders=5/60)`,
        });
        return z.NEVER;
      }
      overrides[match[1]] = { points: Number(match[2]), windowSeconds: Number(match[3]) };
    }
    return overrides;
  });

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The variables every service reads, with their documented defaults. Services spread this into
 * their own schema and turn it into a {@link PlatformConfig} with {@link platformConfigFrom}.
 */
export const platformEnv = {
  /** Where spans go and how many are kept (`@mela/platform/tracing` starts the SDK). */
  ...tracingEnv,
  /** `development` enables nothing by itself; `production` forbids dev tokens. */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** pino level. */
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /** HTTP port; 0 picks a free one. */
  PORT: envPort().default(3000),
  /** Interface to bind. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Largest accepted JSON body, in bytes. */
  HTTP_BODY_LIMIT_BYTES: envInt({ min: 1, max: 10 * 1024 * 1024 }).default(100 * 1024),
  /** Hops of trusted reverse proxies in front (X-Forwarded-For); 0 trusts none. */
  TRUST_PROXY_HOPS: envInt({ min: 0, max: 10 }).default(0),
  /** After SIGTERM, how long readiness is reported false before the listener closes. */
  SHUTDOWN_DRAIN_DELAY_MS: envInt({ min: 0, max: 120_000 }).default(0),
  /** After SIGTERM, how long in-flight requests may take before connections are cut. */
  SHUTDOWN_TIMEOUT_MS: envInt({ min: 100, max: 300_000 }).default(10_000),
  /** Per-check timeout of /readyz. */
  READINESS_TIMEOUT_MS: envInt({ min: 10, max: 60_000 }).default(1_000),
  /** Expected `iss` of bearer tokens. */
  AUTH_JWT_ISSUER: z.string().min(1).default('mela-dev'),
  /** Expected `aud` of bearer tokens. */
  AUTH_JWT_AUDIENCE: z.string().min(1).default('mela'),
  /** HS256 shared secret (local/dev); at least 32 characters. */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** JWKS endpoint of the identity provider (production). */
  AUTH_JWKS_URL: z.url().optional(),
  /** Per-endpoint, per-identity rate limits shared through Redis (off: for benchmarks of the rest). */
  RATE_LIMIT: envBool().default(true),
  /**
   * Changes to the default limits (see `defaultRateLimitRules`), by rule name:
   * `orders=10/60,products=500/60` — requests per window in seconds, per user, client or address.
   */
  RATE_LIMITS: envRateLimits().default({}),
  /**
   * Signs the first-party ids the limiter gives anonymous clients (at least 32 characters; the
   * same in every replica). Unset: anonymous clients are limited by their address alone.
   */
  RATE_LIMIT_CLIENT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Prefix of the limiter's Redis keys (tests and side-by-side stacks keep theirs apart). */
  RATE_LIMIT_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only, at most 64')
    .default('ratelimit:'),
  /** Enables `POST /api/auth/dev-token`; refused when NODE_ENV=production. */
  AUTH_DEV_TOKENS: envBool().default(false),
} as const;

const platformEnvObject = z.object(platformEnv);
export type PlatformEnv = z.output<typeof platformEnvObject>;

/** The platform part of every service's configuration. */
export interface PlatformConfig {
  readonly env: PlatformEnv['NODE_ENV'];
  readonly logLevel: PlatformEnv['LOG_LEVEL'];
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly bodyLimitBytes: number;
    readonly trustProxyHops: number;
  };
  readonly shutdown: { readonly drainDelayMs: number; readonly timeoutMs: number };
  readonly readinessTimeoutMs: number;
  readonly rateLimit: {
    readonly enabled: boolean;
    readonly overrides: Readonly<Record<string, RateLimitOverride>>;
    readonly keyPrefix: string;
    readonly clientSecret: string | undefined;
  };
  readonly auth: {
    readonly issuer: string;
    readonly audience: string;
    readonly secret: string | undefined;
    readonly jwksUrl: string | undefined;
    readonly devTokens: boolean;
  };
}

/**
 * Cross-variable rules of the platform variables; pass to `.superRefine` of the service schema so
 * they are reported in the same {@link ConfigError}.
 */
export function checkPlatformEnv(env: PlatformEnv, ctx: z.RefinementCtx): void {
  if (env.AUTH_JWT_SECRET === undefined && env.AUTH_JWKS_URL === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_JWT_SECRET'],
      message: 'set AUTH_JWT_SECRET or AUTH_JWKS_URL so bearer tokens can be verified',
    });
  }
  const ruleNames = defaultRateLimitRules.map((rule) => rule.name);
  for (const name of Object.keys(env.RATE_LIMITS)) {
    if (!ruleNames.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['RATE_LIMITS'],
        message: `no rate-limit rule "${name}"; the rules are ${ruleNames.join(', ')}`,
      });
    }
  }
  if (env.AUTH_DEV_TOKENS && env.NODE_ENV === 'production') {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_DEV_TOKENS'],
      message: 'dev tokens cannot be enabled when NODE_ENV=production',
    });
  }
  if (env.AUTH_DEV_TOKENS && env.AUTH_JWT_SECRET === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_DEV_TOKENS'],
      message: 'dev tokens are signed with AUTH_JWT_SECRET, which is not set',
    });
  }
}

/** Shapes the validated platform variables into a {@link PlatformConfig}. */
export function platformConfigFrom(env: PlatformEnv): PlatformConfig {
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: {
      port: env.PORT,
      host: env.HOST,
      bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
      trustProxyHops: env.TRUST_PROXY_HOPS,
    },
    shutdown: { drainDelayMs: env.SHUTDOWN_DRAIN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS },
    readinessTimeoutMs: env.READINESS_TIMEOUT_MS,
    rateLimit: {
      enabled: env.RATE_LIMIT,
      overrides: env.RATE_LIMITS,
      keyPrefix: env.RATE_LIMIT_KEY_PREFIX,
      clientSecret: env.RATE_LIMIT_CLIENT_SECRET,
    },
    auth: {
      issuer: env.AUTH_JWT_ISSUER,
      audience: env.AUTH_JWT_AUDIENCE,
      secret: env.AUTH_JWT_SECRET,
      jwksUrl: env.AUTH_JWKS_URL,
      devTokens: env.AUTH_DEV_TOKENS,
    },
  };
}

/** A schema of just the platform variables, for a service (or test) with no others. */
export const platformConfigSchema = platformEnvObject
  .superRefine(checkPlatformEnv)
  .transform(platformConfigFrom);
