import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startOwnRedis, until, type OwnRedis } from '@mela/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { CacheAside, cacheRedisOptions, type CachePolicy } from '../src/index.js';

const fiveMinutes: CachePolicy = { ttlSeconds: 300, jitter: 0 };

/** Calls of one command Redis has served, from its own counters. */
async function calls(redis: Redis, command: string): Promise<number> {
  const info = await redis.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return Number(match?.[1] ?? 0);
}

async function metric(registry: Registry, name: string, result?: string): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => result === undefined || v.labels['result'] === result)
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * Two replicas' caches on one private Redis (its command counters are this test's alone), each
 * with a near cache that lives far longer than the test: only an invalidation empties it.
 */
describe('the near cache in front of Redis', () => {
  let own: OwnRedis;
  let admin: Redis;
  const replicas: { cache: CacheAside; registry: Registry; redis: Redis }[] = [];

  async function replica(maxEntries = 100): Promise<(typeof replicas)[number]> {
    const redis = new Redis(own.url, cacheRedisOptions);
    redis.on('error', () => undefined);
    if (redis.status !== 'ready') await once(redis, 'ready');
    const registry = new Registry();
    const subscriber = new Redis(own.url, { maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    if (subscriber.status !== 'ready') await once(subscriber, 'ready');
    const cache = new CacheAside({
      name: 'test',
      redis,
      registry,
      keyPrefix: 'near:',
      timeoutMs: 1000,
      near: { maxEntries, ttlMs: 600_000, subscriber },
    });
    await cache.start();
    const made = { cache, registry, redis };
    replicas.push(made);
    return made;
  }

  before(async () => {
    own = await startOwnRedis();
    admin = new Redis(own.url);
  });
  after(async () => {
    for (const { cache, redis } of replicas) {
      cache.shutdown();
      redis.disconnect();
    }
    admin.disconnect();
    await own.stop();
  });

  it('when a hot key is read again and again, then Redis is asked once and memory answers the rest', async () => {
    const { cache, registry } = await replica();
    const load = () => Promise.resolve({ name: 'phone' });
    await cache.get('product:hot', fiveMinutes, load);
    await cache.settled();
    const mgetsBefore = await calls(admin, 'mget');

    for (let i = 0; i < 100; i += 1) {
      assert.deepEqual(await cache.get('product:hot', fiveMinutes, load), { name: 'phone' });
    }
    const many = await cache.getMany(['product:hot'], fiveMinutes, () =>
      Promise.resolve(new Map()),
    );

    assert.deepEqual(many.get('product:hot'), { name: 'phone' });
    // The first read after the load fetched the entry from Redis; the other 100 did not.
    assert.equal((await calls(admin, 'mget')) - mgetsBefore, 1);
    assert.equal(await metric(registry, 'cache_requests_total', 'near'), 100);
  });

  it('when memory holds every key asked, then fromMemory answers them at once (a "not found" too); when it lacks one, then nothing, and nothing is counted', async () => {
    const { cache, registry } = await replica();
    await cache.getMany(['product:1', 'product:2'], fiveMinutes, () =>
      Promise.resolve(new Map([['product:1', { name: 'kettle' }]])),
    );
    await cache.settled();
    await cache.getMany(['product:1', 'product:2'], fiveMinutes, () => Promise.resolve(new Map()));
    const near = await metric(registry, 'cache_requests_total', 'near');

    assert.deepEqual(cache.fromMemory(['product:1', 'product:2']), [{ name: 'kettle' }, undefined]);
    assert.equal(cache.fromMemory(['product:1', 'product:3']), undefined);
    assert.equal(await metric(registry, 'cache_requests_total', 'near'), near + 2);
  });

  it('when another replica invalidates a key, then this replica stops serving its copy', async () => {
    const a = await replica();
    const b = await replica();
    let version = 1;
    const load = () => Promise.resolve(version);
    await a.cache.get('price:7', fiveMinutes, load);
    await a.cache.settled();
    assert.equal(await a.cache.get('price:7', fiveMinutes, load), 1);
    assert.equal(await a.cache.get('price:7', fiveMinutes, load), 1);
    assert.ok((await metric(a.registry, 'cache_requests_total', 'near')) >= 1);

    version = 2;
    await b.cache.invalidate(['price:7'], { repeatAfterMs: 0 });

    await until(
      async () => (await a.cache.get('price:7', fiveMinutes, load)) === 2,
      'replica a to read the new price',
      5000,
    );
  });

  it('when the invalidations cannot be heard for a moment, then everything held is forgotten', async () => {
    const { cache } = await replica();
    let version = 1;
    const load = () => Promise.resolve(version);
    await cache.get('price:8', fiveMinutes, load);
    await cache.settled();
    await cache.get('price:8', fiveMinutes, load);
    assert.equal(await cache.get('price:8', fiveMinutes, load), 1);

    // A write whose invalidation this replica misses: its subscriber connection is cut while
    // the entry changes in Redis.
    version = 2;
    await admin.client('KILL', 'TYPE', 'pubsub');
    await admin.set('near:price:8', JSON.stringify({ v: 2, f: Date.now() + 300_000 }));

    // Forgotten once the cut is noticed (the entry would otherwise live ten minutes).
    await until(
      async () => (await cache.get('price:8', fiveMinutes, load)) === 2,
      'the replica to read the changed price',
      5000,
    );
  });

  it('when more keys are read than it holds, then the least recently read are dropped', async () => {
    const { cache, registry } = await replica(2);
    const load = (n: number) => () => Promise.resolve(n);
    for (const n of [1, 2, 3]) {
      await cache.get(`p:${String(n)}`, fiveMinutes, load(n));
    }
    await cache.settled();
    for (const n of [1, 2, 3]) await cache.get(`p:${String(n)}`, fiveMinutes, load(n));

    assert.equal(await metric(registry, 'cache_near_entries'), 2);
  });
});
