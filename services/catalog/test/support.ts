import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { get } from 'node:http';
import { createDevTokenIssuer } from '@mela/platform';
import { scratchDatabase, shardServer } from '@mela/schema';
import { localShardMap, localTopology, redisUrl } from '@mela/topology';
import { Registry } from 'prom-client';
import { openShardedDatabase, loadShardingConfig } from '@mela/sharding';
import { seedCatalog } from '../src/adapters/catalog.seeder.js';
import { loadCatalogConfig } from '../src/config.js';
import { buildCatalog, type Catalog } from '../src/service.js';

const topology = localTopology();
const secret = randomBytes(32).toString('hex');
const tokens = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });

/** Bearer tokens for the test catalog. */
export const asAdmin = async () =>
  `Bearer ${await tokens.issue({ userId: 'admin-1', roles: ['admin'] })}`;
export const asShopper = async () =>
  `Bearer ${await tokens.issue({ userId: 'shopper-1', roles: ['user'] })}`;

/** A commerce database of the test's own on the real shard server, migrated and seeded. */
export async function createCommerceDatabase(products: number) {
  const database = await scratchDatabase(shardServer('commerce', 0, topology), {
    prefix: 't_catalog',
    keyspace: 'commerce',
    topology,
  });
  const shardMap = JSON.stringify({ ...localShardMap(topology), commerce: { '0': database.url } });
  const db = openShardedDatabase(loadShardingConfig({ SHARD_MAP: shardMap }), new Registry());
  await seedCatalog(db, { products });
  await db.close();
  return { shardMap, drop: () => database.drop() };
}

export interface RunningCatalog extends Catalog {
  readonly url: string;
  readonly keyPrefix: string;
}

/** The catalog service on a free port, over the given database and Redis, with its own key prefix. */
export async function startCatalog(
  shardMap: string,
  env: Record<string, string> = {},
): Promise<RunningCatalog> {
  const keyPrefix = `test:catalog:${randomBytes(4).toString('hex')}:`;
  const config = loadCatalogConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    AUTH_JWT_SECRET: secret,
    REDIS_URL: redisUrl(topology),
    SHARD_MAP: shardMap,
    CACHE_REDIS_TIMEOUT_MS: '1000',
    CACHE_KEY_PREFIX: keyPrefix,
    // The test's own limiter counters: a run within a window of the last one starts afresh.
    RATE_LIMIT_KEY_PREFIX: `${keyPrefix}rl:`,
    // These tests send far more than a shopper's budget from one address; limits are tested on their own.
    RATE_LIMIT: 'false',
    ...env,
  });
  const catalog = buildCatalog(config);
  if (catalog.redis.status !== 'ready') await once(catalog.redis, 'ready');
  const address = await catalog.service.start();
  return { ...catalog, url: `http://127.0.0.1:${address.port}`, keyPrefix };
}

/** Sum of a counter's samples whose labels include `labels`. */
export async function counter(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * A conditional GET with node:http: fetch adds `Cache-Control: no-cache` to conditional
 * requests (as the Fetch standard says), which asks servers not to answer 304.
 */
export function conditionalGet(url: string, etag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'if-none-match': etag } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}
