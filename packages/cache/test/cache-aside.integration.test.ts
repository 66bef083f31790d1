import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startOwnRedis, until, type OwnRedis } from '@mela/testkit';
import { localTopology, redisUrl } from '@mela/topology';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { CacheAside, cacheRedisOptions, type CachePolicy } from '../src/index.js';

/** A clock the test moves, so expiry is tested without sleeping. */
function testClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

async function counts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('cache_requests_total')?.get();
  return Object.fromEntries(
    (metric?.values ?? []).map((v) => [String(v.labels['result']), v.value]),
  );
}

const fiveMinutes: CachePolicy = { ttlSeconds: 300, jitter: 0 };

describe('cache-aside on the real Redis', () => {
  const redis = new Redis(redisUrl(localTopology()), cacheRedisOptions);
  const prefix = `test:cache:${randomBytes(4).toString('hex')}:`;
  let registry: Registry;
  let clock: ReturnType<typeof testClock>;
  const caches: CacheAside[] = [];

  before(async () => {
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  after(async () => {
    for (const cache of caches) cache.shutdown();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  function fresh(): CacheAside {
    registry = new Registry();
    clock = testClock();
    const cache = new CacheAside({
      name: 'test',
      redis,
      registry,
      keyPrefix: `${prefix}${randomBytes(3).toString('hex')}:`,
      now: clock.now,
      timeoutMs: 1000,
    });
    caches.push(cache);
    return cache;
  }

  it('when a key is cold, then it is loaded once and served from Redis afterwards', async () => {
    const cache = fresh();
    let loads = 0;
    const load = () => Promise.resolve({ name: `phone ${++loads}` });

    const first = await cache.get('product:1', fiveMinutes, load);
    await cache.settled();
    const second = await cache.get('product:1', fiveMinutes, load);

    assert.deepEqual(first, { name: 'phone 1' });
    assert.deepEqual(second, { name: 'phone 1' });
    assert.equal(loads, 1);
    assert.deepEqual(await counts(registry), { near: 0, miss: 1, hit: 1, stale: 0, error: 0 });
  });

  it('when the TTL passes, then the entry is a miss and is loaded again', async () => {
    const cache = fresh();
    let version = 0;
    const load = () => Promise.resolve(++version);
    await cache.get('price:1', { ttlSeconds: 60, jitter: 0 }, load);
    await cache.settled();
    assert.equal(await cache.get('price:1', { ttlSeconds: 60, jitter: 0 }, load), 1);

    clock.advance(61_000);

    assert.equal(await cache.get('price:1', { ttlSeconds: 60, jitter: 0 }, load), 2);
    assert.equal((await counts(registry))['miss'], 2);
  });

  it('when 50 requests miss the same key at once, then the database is asked once', async () => {
    const cache = fresh();
    let loads = 0;
    let release: (value: string) => void = () => undefined;
    const gate = new Promise<string>((resolve) => (release = resolve));
    const load = () => {
      loads += 1;
      return gate;
    };

    const waiting = Array.from({ length: 50 }, () => cache.get('home', fiveMinutes, load));
    await until(() => loads === 1, 'the one load to start');
    release('homepage');
    const values = await Promise.all(waiting);

    assert.equal(loads, 1);
    assert.ok(values.every((v) => v === 'homepage'));
  });

  it('when something does not exist, then "not found" is remembered for the negative TTL', async () => {
    const cache = fresh();
    let loads = 0;
    const load = (): Promise<string | undefined> => {
      loads += 1;
      return Promise.resolve(undefined);
    };
    const policy = { ttlSeconds: 300, negativeTtlSeconds: 10, jitter: 0 };

    assert.equal(await cache.get('product:404', policy, load), undefined);
    await cache.settled();
    assert.equal(await cache.get('product:404', policy, load), undefined);
    assert.equal(loads, 1);
    assert.equal((await counts(registry))['hit'], 1);

    clock.advance(11_000);
    await cache.get('product:404', policy, load);
    assert.equal(loads, 2);
  });

  it('when a key is invalidated after a write, then the next read loads the new value', async () => {
    const cache = fresh();
    let price = 100;
    const load = () => Promise.resolve(price);
    await cache.get('price:7', fiveMinutes, load);
    await cache.settled();

    price = 80;
    await cache.invalidate(['price:7'], { repeatAfterMs: 0 });

    assert.equal(await cache.get('price:7', fiveMinutes, load), 80);
  });

  it('when a key is invalidated while its old value is loading, then that value is neither written nor served, and nothing is left tracked', async () => {
    const cache = fresh();
    const { promise: slow, resolve: release } = Promise.withResolvers<number>();
    const { promise: loadStarted, resolve: started } = Promise.withResolvers<undefined>();
    const loading = cache.get('price:9', fiveMinutes, () => {
      started(undefined);
      return slow;
    });
    await loadStarted;

    await cache.invalidate(['price:9'], { repeatAfterMs: 0 });
    assert.equal(cache.fencedKeys, 1, 'the load in flight is fenced');
    release(100);
    assert.equal(await loading, 100, 'its own caller still gets what it loaded');
    await cache.settled();

    assert.equal(cache.fencedKeys, 0);
    assert.equal(await cache.get('price:9', fiveMinutes, () => Promise.resolve(80)), 80);
    // Writes to keys nobody is loading leave nothing behind (it used to keep one per key): the
    // load just made is still writing back, so wait until nobody is loading.
    await cache.settled();
    await cache.invalidate(
      Array.from({ length: 5000 }, (_, i) => `price:${String(i)}`),
      { repeatAfterMs: 0 },
    );
    assert.equal(cache.fencedKeys, 0);
  });

  it('when many keys are written with one TTL, then jitter spreads their expiry', async () => {
    const registry = new Registry();
    const keyPrefix = `${prefix}jitter:`;
    const cache = new CacheAside({ name: 'test', redis, registry, keyPrefix, timeoutMs: 1000 });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await cache.getMany(keys, { ttlSeconds: 100, jitter: 0.1 }, (missing) =>
      Promise.resolve(new Map(missing.map((k) => [k, k]))),
    );
    await cache.settled();

    const ttls = await Promise.all(keys.map((k) => redis.ttl(keyPrefix + k)));
    cache.shutdown();

    assert.ok(
      ttls.every((t) => t >= 89 && t <= 111),
      ttls.join(','),
    );
    assert.ok(new Set(ttls).size > 5, `expiries are spread: ${ttls.join(',')}`);
  });

  it('when stale-while-revalidate is on, then a stale entry is served at once and refreshed in the background', async () => {
    const cache = fresh();
    let version = 0;
    const load = () => Promise.resolve(++version);
    const policy = { ttlSeconds: 120, staleSeconds: 60, jitter: 0 };
    await cache.get('search:phones', policy, load);
    await cache.settled();

    clock.advance(130_000);
    const served = await cache.get('search:phones', policy, load);

    assert.equal(served, 1);
    assert.equal((await counts(registry))['stale'], 1);
    await cache.settled();
    assert.equal(await cache.get('search:phones', policy, load), 2);
    assert.equal(version, 2);
  });

  it('when several keys are read at once, then the hits come from one MGET and only the misses are loaded together', async () => {
    const cache = fresh();
    await cache.getMany(['a', 'b'], fiveMinutes, (keys) =>
      Promise.resolve(new Map(keys.map((k) => [k, k.toUpperCase()]))),
    );
    await cache.settled();
    const asked: string[][] = [];

    const values = await cache.getMany(['a', 'b', 'c', 'd'], fiveMinutes, (keys) => {
      asked.push([...keys]);
      return Promise.resolve(
        new Map(keys.filter((k) => k !== 'd').map((k) => [k, k.toUpperCase()])),
      );
    });

    assert.deepEqual(asked, [['c', 'd']]);
    assert.deepEqual(
      [...values],
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
    );
  });
});

describe('cache-aside when Redis dies and comes back', () => {
  let own: OwnRedis;
  let redis: Redis;
  before(async () => {
    own = await startOwnRedis();
    redis = new Redis(own.url, cacheRedisOptions);
    redis.on('error', () => undefined);
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  after(async () => {
    redis.disconnect();
    await own.stop();
  });

  it('then reads keep working from the loader, the breaker opens, and hits resume once Redis is back', async () => {
    const registry = new Registry();
    const cache = new CacheAside({
      name: 'test',
      redis,
      registry,
      keyPrefix: 'p:',
      timeoutMs: 200,
      resetTimeoutMs: 300,
      volumeThreshold: 3,
    });
    let loads = 0;
    const load = () => Promise.resolve(`value ${++loads}`);
    await cache.get('k', fiveMinutes, load);
    await cache.settled();
    await cache.get('k', fiveMinutes, load);
    assert.equal((await counts(registry))['hit'], 1);

    await own.kill();
    const duringOutage = await Promise.all(
      Array.from({ length: 10 }, () => cache.get('k', fiveMinutes, load)),
    );

    assert.ok(duringOutage.every((v) => v?.startsWith('value ') === true));
    assert.ok(((await counts(registry))['error'] ?? 0) >= 1);
    assert.equal(cache.state, 'open');
    await assert.rejects(cache.probe(), /circuit open/);

    await own.start();
    await until(
      async () => {
        await cache.get('k', fiveMinutes, load);
        return cache.state === 'closed';
      },
      'the breaker to close again',
      10_000,
    );
    const hitsBefore = (await counts(registry))['hit'] ?? 0;
    await until(
      async () => {
        await cache.get('k', fiveMinutes, load);
        return ((await counts(registry))['hit'] ?? 0) > hitsBefore;
      },
      'hits to resume',
      10_000,
    );
    cache.shutdown();
  });
});
