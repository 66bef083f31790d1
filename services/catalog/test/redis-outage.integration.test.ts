import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOwnRedis, until, type OwnRedis } from '@mela/testkit';
import { counter, createCommerceDatabase, startCatalog, type RunningCatalog } from './support.js';

describe('the catalog when its Redis is killed and comes back', () => {
  let database: Awaited<ReturnType<typeof createCommerceDatabase>>;
  let redis: OwnRedis;
  let catalog: RunningCatalog;

  before(async () => {
    database = await createCommerceDatabase(100);
    redis = await startOwnRedis();
    catalog = await startCatalog(database.shardMap, {
      REDIS_URL: redis.url,
      CACHE_REDIS_TIMEOUT_MS: '200',
    });
    await until(
      async () =>
        (await fetch(`${catalog.url}/readyz`)).status === 200 && catalog.redis.status === 'ready',
      'the catalog to be ready',
    );
  });
  after(async () => {
    await catalog.service.stop();
    await redis.stop();
    await database.drop();
  });

  it('then reads keep working from MySQL, readiness says degraded, and cache hits resume afterwards', async () => {
    await fetch(`${catalog.url}/api/catalog/products/5`);
    await catalog.cache.settled();

    await redis.kill();
    const during = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${catalog.url}/api/catalog/products/5`)),
    );
    const readiness = await fetch(`${catalog.url}/readyz`);
    const report = (await readiness.json()) as {
      status: string;
      checks: Record<string, { status: string }>;
    };

    assert.ok(
      during.every((r) => r.status === 200),
      'no 5xx while Redis is down',
    );
    assert.equal(readiness.status, 200);
    assert.equal(report.status, 'degraded');
    assert.equal(report.checks['redis cache']?.status, 'down');
    assert.ok(
      (await counter(catalog.platform.metrics.registry, 'cache_requests_total', {
        result: 'error',
      })) > 0,
    );

    await redis.start();
    const hits = () =>
      counter(catalog.platform.metrics.registry, 'cache_requests_total', { result: 'hit' });
    const hitsBefore = await hits();
    await until(async () => {
      const res = await fetch(`${catalog.url}/api/catalog/products/5`);
      assert.equal(res.status, 200);
      return (await hits()) > hitsBefore;
    }, 'cache hits to resume');
    assert.equal((await fetch(`${catalog.url}/readyz`)).status, 200);
  });
});
