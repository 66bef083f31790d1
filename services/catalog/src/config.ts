import {
  checkPlatformEnv,
  envInt,
  loadConfig,
  platformConfigFrom,
  platformEnv,
  type PlatformConfig,
} from '@mela/platform';
import { shardingConfigFrom, shardingEnv, type ShardingConfig } from '@mela/sharding';
import { stockChangesEnv } from '@mela/stock';
import { z } from 'zod';
import { defaultTtls, type CatalogTtls } from './domain/cache-policy.js';

const seconds = (fallback: number) => envInt({ min: 1, max: 86_400 }).default(fallback);

const catalogEnv = {
  ...platformEnv,
  ...shardingEnv,
  ...stockChangesEnv,
  PORT: platformEnv.PORT.default(3001),
  /** Redis for the cache. */
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** Prefix of every cache key; change it to start from a cold cache. */
  CACHE_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('catalog:v2:'),
  /** Bound on each Redis call; past it the read goes to MySQL. */
  CACHE_REDIS_TIMEOUT_MS: envInt({ min: 5, max: 5000 }).default(100),
  CACHE_TTL_PRODUCT_SECONDS: seconds(defaultTtls.product),
  CACHE_TTL_PRICE_SECONDS: seconds(defaultTtls.price),
  CACHE_TTL_SEARCH_SECONDS: seconds(defaultTtls.search),
  CACHE_TTL_HOME_SECONDS: seconds(defaultTtls.home),
  CACHE_TTL_CATEGORY_SECONDS: seconds(defaultTtls.category),
  CACHE_TTL_NOT_FOUND_SECONDS: seconds(defaultTtls.notFound),
  /** Lists may be served this long past their TTL while one request refreshes them; 0 disables. */
  CACHE_STALE_WHILE_REVALIDATE_SECONDS: envInt({ min: 0, max: 3600 }).default(
    defaultTtls.staleWhileRevalidate,
  ),
  /** Entries each replica keeps in memory in front of Redis (the hottest products); 0 turns it off. */
  CACHE_NEAR_MAX_ENTRIES: envInt({ min: 0, max: 1_000_000 }).default(10_000),
  /** The longest a replica serves an entry from memory; every invalidation drops it sooner. */
  CACHE_NEAR_TTL_MS: envInt({ min: 1, max: 60_000 }).default(1000),
  /** ±fraction of each TTL, at random. */
  CACHE_TTL_JITTER_PERCENT: envInt({ min: 0, max: 50 }).default(defaultTtls.jitter * 100),
  /** How long browsers keep anonymous catalog reads. */
  HTTP_PUBLIC_MAX_AGE_SECONDS: envInt({ min: 0, max: 3600 }).default(30),
  /**
   * How long shared caches (the edge's micro-cache) keep them (`s-maxage`): a stampede on one
   * product reaches the origin about once a second; 0 keeps them out of shared caches.
   */
  HTTP_EDGE_MAX_AGE_SECONDS: envInt({ min: 0, max: 3600 }).default(1),
  /** How long the edge and browsers keep the storefront page (its assets are immutable). */
  STOREFRONT_MAX_AGE_SECONDS: envInt({ min: 1, max: 3600 }).default(60),
};

/** Every variable the catalog reads: the manifests' environment is checked against it. */
export const catalogVariables: readonly string[] = Object.keys(catalogEnv);

export interface CatalogConfig {
  readonly platform: PlatformConfig;
  readonly sharding: ShardingConfig;
  readonly redisUrl: string;
  readonly redisTimeoutMs: number;
  readonly cacheKeyPrefix: string;
  /** The near cache in each replica (none when `maxEntries` is 0). */
  readonly nearCache: { readonly maxEntries: number; readonly ttlMs: number };
  readonly ttls: CatalogTtls;
  readonly publicCacheControl: string;
  readonly storefrontMaxAgeSeconds: number;
  /** Where stock changes are announced: the catalog drops its cached counts when it hears one. */
  readonly stockChangesChannel: string;
}

const catalogConfig = z.object(catalogEnv).transform((e, ctx): CatalogConfig => {
  checkPlatformEnv(e, ctx);
  const sharding = shardingConfigFrom(e, ctx);
  return {
    platform: platformConfigFrom(e),
    sharding,
    redisUrl: e.REDIS_URL,
    redisTimeoutMs: e.CACHE_REDIS_TIMEOUT_MS,
    cacheKeyPrefix: e.CACHE_KEY_PREFIX,
    nearCache: { maxEntries: e.CACHE_NEAR_MAX_ENTRIES, ttlMs: e.CACHE_NEAR_TTL_MS },
    stockChangesChannel: e.STOCK_CHANGES_CHANNEL,
    ttls: {
      product: e.CACHE_TTL_PRODUCT_SECONDS,
      price: e.CACHE_TTL_PRICE_SECONDS,
      search: e.CACHE_TTL_SEARCH_SECONDS,
      home: e.CACHE_TTL_HOME_SECONDS,
      category: e.CACHE_TTL_CATEGORY_SECONDS,
      notFound: e.CACHE_TTL_NOT_FOUND_SECONDS,
      staleWhileRevalidate: e.CACHE_STALE_WHILE_REVALIDATE_SECONDS,
      jitter: e.CACHE_TTL_JITTER_PERCENT / 100,
    },
    publicCacheControl: `public, max-age=${e.HTTP_PUBLIC_MAX_AGE_SECONDS}, s-maxage=${e.HTTP_EDGE_MAX_AGE_SECONDS}, stale-while-revalidate=${e.HTTP_PUBLIC_MAX_AGE_SECONDS * 2}`,
    storefrontMaxAgeSeconds: e.STOREFRONT_MAX_AGE_SECONDS,
  };
});

/** The catalog's configuration from the environment; every bad variable is reported at once. */
export function loadCatalogConfig(
  env: Readonly<Record<string, string | undefined>>,
): CatalogConfig {
  return loadConfig(catalogConfig, env);
}
