import { cartsConnection, RedisCartStore } from '@mela/carts';
import { CacheAside, cacheRedisOptions } from '@mela/cache';
import {
  createHttpService,
  createPlatform,
  serviceRateLimit,
  runService,
  type HttpService,
  type Platform,
} from '@mela/platform';
import type { Tracing } from '@mela/platform/tracing';
import { Redis } from 'ioredis';
import { CatalogClient } from './adapters/catalog.client.js';
import { createApp } from './app.js';
import { loadCartConfig, type CartConfig } from './config.js';
import { CartService } from './domain/cart.service.js';

export interface Cart {
  readonly platform: Platform;
  readonly service: HttpService;
  /** The Redis of the product cache and the rate limiter. */
  readonly redis: Redis;
  /** The Redis the carts live in (the same client when one URL serves both). */
  readonly carts: Redis;
}

/** Builds the real clients and the service from a configuration (the tests call it too). */
export function buildCart(config: CartConfig): Cart {
  const platform = createPlatform('cart', config.platform);
  const redisOptions = { ...cacheRedisOptions, maxRetriesPerRequest: 1, commandTimeout: 1000 };
  const redis = new Redis(config.redisUrl, redisOptions);
  redis.on('error', (error: Error) =>
    platform.logger.debug({ err: error }, 'redis connection error'),
  );
  const { redis: store, own: separate } = cartsConnection(
    config.carts.redisUrl,
    { url: config.redisUrl, redis, options: redisOptions },
    (error) => platform.logger.debug({ err: error }, 'cart redis connection error'),
  );
  const productCache = new CacheAside({
    name: 'cart-products',
    redis,
    registry: platform.metrics.registry,
    keyPrefix: `${config.carts.keyPrefix}product:`,
    onError: (error) => platform.logger.debug({ err: error }, 'product cache degraded'),
  });
  const catalog = new CatalogClient({
    baseUrl: config.catalogUrl,
    cache: productCache,
    ttlSeconds: config.productCacheSeconds,
    timeoutMs: config.catalogTimeoutMs,
  });
  const carts = new CartService(
    new RedisCartStore(store, {
      ttlSeconds: config.ttlSeconds,
      keyPrefix: config.carts.keyPrefix,
    }),
    catalog,
    config.limits,
  );

  // Carts are the cart service: without their Redis the replica is useless. The cache's Redis
  // only speeds up product checks (and holds the limiter, which then limits per replica).
  if (separate) {
    platform.health.register('redis carts', () => store.ping());
    platform.health.register('redis cache', () => redis.ping(), { critical: false });
  } else {
    platform.health.register('redis', () => redis.ping());
  }
  // Without the catalog, carts still show (unpriced) and can be changed; only adds need it.
  platform.health.register(
    'catalog',
    (signal) =>
      fetch(`${config.catalogUrl}/livez`, { signal }).then((r) =>
        r.ok ? r : Promise.reject(new Error(`catalog answered ${r.status}`)),
      ),
    {
      critical: false,
    },
  );

  const app = createApp({
    platform,
    carts,
    limits: config.limits,
    rateLimit: serviceRateLimit(platform, redis),
  });
  const service = createHttpService(platform, app, [
    {
      name: 'product cache',
      close: () => productCache.settled().finally(() => productCache.shutdown()),
    },
    { name: 'redis', close: () => redis.quit() },
    ...(separate ? [{ name: 'cart redis', close: () => store.quit() }] : []),
  ]);
  return { platform, service, redis, carts: store };
}

/** Serves from the environment's configuration until a signal, then drains and flushes `tracing`. */
export function run(tracing: Tracing): Promise<void> {
  return runService(buildCart(loadCartConfig(process.env)), tracing);
}
