import { CacheAside, cacheRedisOptions } from '@mela/cache';
import {
  createHttpService,
  createPlatform,
  serviceRateLimit,
  runService,
  type HttpService,
  type Platform,
  systemClock,
} from '@mela/platform';
import type { Tracing } from '@mela/platform/tracing';
import { openShardedDatabase, type ShardedDatabase } from '@mela/sharding';
import { StockChangeListener, StockLedger, announceStockChanges } from '@mela/stock';
import { Redis } from 'ioredis';
import { CatalogRepository } from './adapters/catalog.repository.js';
import { createApp } from './app.js';
import { loadCatalogConfig, type CatalogConfig } from './config.js';
import { loadApiDocs } from './routes/api-docs.routes.js';
import { loadStorefront } from './routes/storefront.routes.js';
import { CatalogService } from './domain/catalog.service.js';

/** A wired catalog: the HTTP service and the clients it owns. */
export interface Catalog {
  readonly platform: Platform;
  readonly service: HttpService;
  readonly catalog: CatalogService;
  readonly cache: CacheAside;
  readonly db: ShardedDatabase;
  readonly redis: Redis;
}

/**
 * Builds the real clients (Redis, the sharded database) and the service from a configuration.
 * The tests call it too, with their own databases and cache key prefixes.
 */
export function buildCatalog(config: CatalogConfig): Catalog {
  const platform = createPlatform('catalog', config.platform);
  const redis = new Redis(config.redisUrl, cacheRedisOptions);
  redis.on('error', (error: Error) =>
    platform.logger.debug({ err: error }, 'redis connection error'),
  );
  const db = openShardedDatabase(config.sharding, platform.metrics.registry);
  const cache = new CacheAside({
    name: 'catalog',
    redis,
    registry: platform.metrics.registry,
    keyPrefix: config.cacheKeyPrefix,
    timeoutMs: config.redisTimeoutMs,
    onError: (error) => platform.logger.debug({ err: error }, 'cache degraded'),
    // A hot product from memory; every replica hears the invalidations on a connection of its
    // own that waits for Redis and subscribes again after a drop.
    near:
      config.nearCache.maxEntries > 0
        ? {
            ...config.nearCache,
            subscriber: new Redis(config.redisUrl, { maxRetriesPerRequest: null }),
          }
        : undefined,
  });
  const debug = (message: string) => (error: unknown) =>
    platform.logger.debug({ err: error }, message);
  const stock = new StockLedger({
    db,
    clock: systemClock,
    onChange: announceStockChanges(redis, config.stockChangesChannel, debug('not announced')),
  });
  const catalog = new CatalogService({
    store: new CatalogRepository(db),
    cache,
    stock,
    ttls: config.ttls,
  });
  // Orders, releases and other replicas' restocks move stock: drop the cached counts. A
  // subscriber connection of its own that waits for Redis and subscribes again after a drop.
  const stockChanges = new StockChangeListener({
    subscriber: new Redis(config.redisUrl, { maxRetriesPerRequest: null }),
    channel: config.stockChangesChannel,
    onChanged: (ids) => catalog.stockChanged(ids),
    onError: debug('stock change not applied to the cache'),
  });

  for (const check of db.healthChecks(['commerce']))
    platform.health.register(check.name, check.probe, { critical: check.critical });
  // The catalog answers from MySQL when Redis is gone: slower, not down.
  platform.health.register('redis cache', () => cache.probe(), { critical: false });

  const app = createApp({
    platform,
    catalog,
    publicCacheControl: config.publicCacheControl,
    storefront: { files: loadStorefront(), maxAgeSeconds: config.storefrontMaxAgeSeconds },
    apiDocs: loadApiDocs(),
    rateLimit: serviceRateLimit(platform, redis),
  });
  const service = createHttpService(
    platform,
    app,
    [
      { name: 'stock changes', close: () => stockChanges.stop() },
      { name: 'cache', close: () => cache.settled().finally(() => cache.shutdown()) },
      { name: 'redis', close: () => redis.quit() },
      { name: 'mysql', close: () => db.close() },
    ],
    [
      {
        name: 'stock changes',
        start: () => void stockChanges.start().catch(debug('cannot hear stock changes')),
      },
      {
        name: 'near cache',
        start: () => void cache.start().catch(debug('cannot hear cache invalidations')),
      },
    ],
  );
  return { platform, service, catalog, cache, db, redis };
}

/** Serves from the environment's configuration until a signal, then drains and flushes `tracing`. */
export function run(tracing: Tracing): Promise<void> {
  return runService(buildCatalog(loadCatalogConfig(process.env)), tracing);
}
