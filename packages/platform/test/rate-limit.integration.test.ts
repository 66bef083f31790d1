import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startOwnRedis, type OwnRedis } from '@mela/testkit';
import { Redis } from 'ioredis';
import { createDevTokenIssuer, rateLimiter, type RateLimitRule } from '../src/index.js';
import { sample, startApp, testSecret, type RunningApp } from './support.js';

const rules: readonly RateLimitRule[] = [
  {
    name: 'products',
    method: 'GET',
    path: '/products',
    points: 10,
    windowSeconds: 60,
    onStoreFailure: 'open',
  },
  {
    name: 'orders',
    method: 'POST',
    path: '/orders',
    points: 3,
    windowSeconds: 60,
    onStoreFailure: 'closed',
  },
];
const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret: testSecret });

/** Two replicas of one service sharing a Redis, as behind a load balancer. */
async function replicas(redis: Redis, keyPrefix: string): Promise<RunningApp[]> {
  return Promise.all(
    [0, 1].map(() =>
      startApp(
        (app) => {
          app.get('/products', (_req, res) => {
            res.json({ ok: true });
          });
          app.post('/orders', (_req, res) => {
            res.status(201).json({ ok: true });
          });
        },
        { TRUST_PROXY_HOPS: '1' },
        undefined,
        (platform) =>
          rateLimiter({
            redis,
            registry: platform.metrics.registry,
            tokens: platform.tokens,
            rules,
            keyPrefix,
          }),
      ),
    ),
  );
}

describe('rate limiting shared by replicas through Redis', () => {
  let own: OwnRedis;
  let redis: Redis;
  let apps: RunningApp[];

  before(async () => {
    own = await startOwnRedis();
    redis = new Redis(own.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 100,
    });
    redis.on('error', () => undefined);
    if (redis.status !== 'ready') await once(redis, 'ready');
    apps = await replicas(redis, `rl:${randomBytes(3).toString('hex')}:`);
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.service.stop()));
    redis.disconnect();
    await own.stop();
  });

  const get = (i: number, headers: Record<string, string>) =>
    fetch(`${apps[i % 2]?.url ?? ''}/products`, { headers });

  it('when one client spreads requests over both replicas, then the total allowed is the limit, not twice it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i += 1)
      statuses.push((await get(i, { 'x-forwarded-for': '203.0.113.7' })).status);

    assert.equal(statuses.filter((s) => s === 200).length, 10);
    assert.deepEqual(statuses.slice(10), [429, 429, 429, 429]);
  });

  it('when the limit is hit, then 429 carries Retry-After and the RateLimit headers, and it is counted', async () => {
    const res = await get(0, { 'x-forwarded-for': '203.0.113.7' });
    const problem = (await res.json()) as { code: string; rule: string };

    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal(res.headers.get('ratelimit-policy'), '"products";q=10;w=60');
    assert.match(res.headers.get('ratelimit') ?? '', /^"products";r=0;t=\d+$/);
    assert.deepEqual([problem.code, problem.rule], ['rate_limited', 'products']);
    const metrics = await (await fetch(`${apps[0]?.url ?? ''}/metrics`)).text();
    assert.ok((sample(metrics, 'rate_limited_total', { rule: 'products' }) ?? 0) >= 1);
  });

  it('when a client is over its limit, then no other spelling of the path is served either', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    for (const spelling of ['/PRODUCTS', '/Products', '/products/', '/products//', '/%70roducts']) {
      const res = await fetch(`${apps[0]?.url ?? ''}${spelling}`, { headers });

      assert.equal(res.status, 404, spelling);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
    assert.equal((await get(0, headers)).status, 429);
  });

  it('when clients differ, then each has its own budget: users by token, others by client IP', async () => {
    const alice = `Bearer ${await issuer.issue({ userId: 'alice', roles: [] })}`;
    const ok = await get(1, { 'x-forwarded-for': '203.0.113.8' });
    const user = await get(0, { 'x-forwarded-for': '203.0.113.7', authorization: alice });

    assert.equal(ok.status, 200);
    assert.equal(user.status, 200);
    assert.match(user.headers.get('ratelimit') ?? '', /^"products";r=9;/);
  });

  it('when another service calls from inside (no X-Forwarded-For, a private address, no token), then it is not limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i += 1) statuses.push((await get(i, {})).status);

    assert.ok(statuses.every((s) => s === 200));
  });

  it('when a client is over its limit, then both replicas refuse it from memory without asking Redis', async () => {
    const commands = async () =>
      Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1]);
    const before = await commands();

    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1)
      statuses.push((await get(i, { 'x-forwarded-for': '203.0.113.7' })).status);

    assert.deepEqual(statuses, [429, 429, 429, 429, 429, 429]);
    // The only command Redis saw meanwhile is the first INFO itself.
    assert.equal((await commands()) - before, 1);
  });

  it('when Redis is unreachable, then reads fall back to a per-replica limit and order placement fails closed', async () => {
    await own.kill();
    const bob = `Bearer ${await issuer.issue({ userId: 'bob', roles: [] })}`;

    const reads: number[] = [];
    for (let i = 0; i < 12; i += 1)
      reads.push(
        (await fetch(`${apps[0]?.url ?? ''}/products`, { headers: { authorization: bob } })).status,
      );
    const order = await fetch(`${apps[0]?.url ?? ''}/orders`, {
      method: 'POST',
      headers: { authorization: bob },
    });

    assert.equal(reads.filter((s) => s === 200).length, 10);
    assert.deepEqual(reads.slice(10), [429, 429]);
    assert.equal(order.status, 503);
    assert.equal(((await order.json()) as { dependency: string }).dependency, 'rate limiter');
    await own.start();
  });
});
