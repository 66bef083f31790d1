import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { verifyRequest, type TokenVerifier } from './auth.js';
import { AppError, DependencyUnavailableError } from './errors.js';

/** One limit: so many requests per window, per identity (user id, else client IP). */
export interface RateLimitRule {
  /** Stable name: the metric label and the `RateLimit-Policy` name. */
  readonly name: string;
  readonly method: string;
  /** Path pattern; `:param` matches one segment. */
  readonly path: string;
  /** Only when this holds too (e.g. a search: `q` is present). */
  readonly when?: (req: Request) => boolean;
  readonly points: number;
  readonly windowSeconds: number;
  /**
   * When Redis cannot be reached: `open` keeps serving under an in-process limit of the same
   * size (per replica), `closed` answers 503 (for what must never be over-served, such as orders).
   */
  readonly onStoreFailure: 'open' | 'closed';
}

/** What a sale needs, per identity: browsing generous, buying and signing in strict. */
export const defaultRateLimitRules: readonly RateLimitRule[] = [
  {
    name: 'search',
    method: 'GET',
    path: '/api/catalog/products',
    when: (req) => typeof req.query['q'] === 'string',
    points: 60,
    windowSeconds: 60,
    onStoreFailure: 'open',
  },
  {
    name: 'products',
    method: 'GET',
    path: '/api/catalog/products',
    points: 100,
    windowSeconds: 60,
    onStoreFailure: 'open',
  },
  {
    name: 'product',
    method: 'GET',
    path: '/api/catalog/products/:id',
    points: 100,
    windowSeconds: 60,
    onStoreFailure: 'open',
  },
  {
    name: 'cart-add',
    method: 'POST',
    path: '/api/cart/items',
    points: 30,
    windowSeconds: 60,
    onStoreFailure: 'open',
  },
  {
    name: 'orders',
    method: 'POST',
    path: '/api/orders',
    points: 5,
    windowSeconds: 60,
    onStoreFailure: 'closed',
  },
  {
    name: 'login',
    method: 'POST',
    path: '/api/auth/dev-token',
    points: 5,
    windowSeconds: 15 * 60,
    onStoreFailure: 'closed',
  },
];

export interface RateLimiterOptions {
  /** An ioredis client shared by every replica (fail fast: `enableOfflineQueue: false`). */
  readonly redis: unknown;
  readonly registry: Registry;
  readonly tokens: TokenVerifier;
  /** The first matching rule applies. @default defaultRateLimitRules */
  readonly rules?: readonly RateLimitRule[];
  /** @default 'ratelimit:' */
  readonly keyPrefix?: string;
}

const privateAddress =
  /^(?:::ffff:)?(?:127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)|^::1$|^f[cd][0-9a-f]{2}:/i;

function isInternal(address: string | undefined): boolean {
  return address !== undefined && privateAddress.test(address);
}

function matcher(path: string): RegExp {
  const pattern = path
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  // Exactly the spelling express serves (see createRouter): case-sensitive, no trailing slash.
  return new RegExp(`^${pattern}$`);
}

/**
 * Express middleware enforcing the rules with counters in Redis, so the limit holds across all
 * replicas; answers 429 with `Retry-After` and the IETF `RateLimit-Policy`/`RateLimit` headers.
 */
export function rateLimiter(options: RateLimiterOptions): RequestHandler {
  const prefix = options.keyPrefix ?? 'ratelimit:';
  const limited = new Counter({
    name: 'rate_limited_total',
    help: 'Requests refused with 429, by rule',
    labelNames: ['rule'] as const,
    registers: [options.registry],
  });
  const fallbacks = new Counter({
    name: 'rate_limit_store_failures_total',
    help: 'Rate-limit checks Redis could not answer, by rule and what happened (open: in-process limit, closed: 503)',
    labelNames: ['rule', 'policy'] as const,
    registers: [options.registry],
  });
  // Every rule exported from the start, so "429s per rule" shows 0 rather than no data.
  for (const rule of options.rules ?? defaultRateLimitRules) {
    limited.inc({ rule: rule.name }, 0);
    fallbacks.inc({ rule: rule.name, policy: rule.onStoreFailure }, 0);
  }
  const rules = (options.rules ?? defaultRateLimitRules).map((rule) => ({
    rule,
    pattern: matcher(rule.path),
    shared: new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: `${prefix}${rule.name}`,
      points: rule.points,
      duration: rule.windowSeconds,
      rejectIfRedisNotReady: true,
      // A client over its limit is refused from memory until its window ends: a bot's flood of
      // retries costs this replica no Redis round trips.
      inMemoryBlockOnConsumed: rule.points + 1,
    }),
    local: new RateLimiterMemory({
      keyPrefix: `${prefix}${rule.name}`,
      points: rule.points,
      duration: rule.windowSeconds,
    }),
  }));

  /** The user, else the client's address; undefined for a service calling another from inside. */
  async function identity(req: Request): Promise<string | undefined> {
    if (req.headers.authorization !== undefined) {
      const principal = await verifyRequest(req, options.tokens).catch(() => undefined);
      if (principal) return `user:${principal.userId}`;
    }
    // Shoppers arrive through the edge, which always sets X-Forwarded-For; an anonymous request
    // without it from a private address is another Mela service (the cart asking the catalog).
    if (req.headers['x-forwarded-for'] === undefined && isInternal(req.socket.remoteAddress))
      return undefined;
    return `ip:${req.ip ?? 'unknown'}`;
  }

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const match = rules.find(
      (r) =>
        r.rule.method === req.method && r.pattern.test(req.path) && (r.rule.when?.(req) ?? true),
    );
    if (!match) {
      next();
      return;
    }
    const { rule } = match;
    const key = await identity(req);
    if (key === undefined) {
      next();
      return;
    }
    let outcome: RateLimiterRes;
    let allowed: boolean;
    try {
      outcome = await match.shared.consume(key);
      allowed = true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        outcome = rejection;
        allowed = false;
      } else if (rule.onStoreFailure === 'closed') {
        fallbacks.inc({ rule: rule.name, policy: 'closed' });
        throw new DependencyUnavailableError('rate limiter', rejection);
      } else {
        fallbacks.inc({ rule: rule.name, policy: 'open' });
        try {
          outcome = await match.local.consume(key);
          allowed = true;
        } catch (local) {
          outcome = local as RateLimiterRes;
          allowed = false;
        }
      }
    }
    const resetSeconds = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
    res.set('RateLimit-Policy', `"${rule.name}";q=${rule.points};w=${rule.windowSeconds}`);
    res.set(
      'RateLimit',
      `"${rule.name}";r=${Math.max(0, outcome.remainingPoints)};t=${resetSeconds}`,
    );
    if (allowed) {
      next();
      return;
    }
    limited.inc({ rule: rule.name });
    throw new AppError('rate_limited', 429, 'Too many requests', {
      detail: `At most ${rule.points} requests per ${rule.windowSeconds} s for this; retry in ${resetSeconds} s.`,
      headers: { 'Retry-After': String(resetSeconds) },
      extensions: { rule: rule.name },
    });
  };
}
