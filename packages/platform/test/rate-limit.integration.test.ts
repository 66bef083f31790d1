import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startOwnRedis, type OwnRedis } from '@mela/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import {
  clientIdCookie,
  type RateLimiterOptions,
  createClientIds,
  createDevTokenIssuer,
  createTokenVerifier,
  rateLimiter,
  serviceRateLimit,
  type RateLimitRule,
} from '../src/index.js';
import { sample, startApp, testSecret, type RunningApp } from './support.js';

const products: RateLimitRule = {
  name: 'products',
  method: 'GET',
  path: '/products',
  points: 10,
  windowSeconds: 60,
  onStoreFailure: 'open',
};
const rules: readonly RateLimitRule[] = [
  products,
  {
    name: 'orders',
    method: 'POST',
    path: '/orders',
    points: 3,
    windowSeconds: 60,
    onStoreFailure: 'closed',
  },
];
/** The tokens these tests sign and the limiters verify. */
const auth = { issuer: 'mela-dev', audience: 'mela', secret: testSecret };
const issuer = createDevTokenIssuer(auth);

/** A private Redis (the tests take it down) and a fail-fast client of it, once connected. */
async function ownRedisClient(): Promise<{ own: OwnRedis; redis: Redis }> {
  const own = await startOwnRedis();
  const redis = new Redis(own.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  });
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await once(redis, 'ready');
  return { own, redis };
}

/** An app behind the rate limiter over `redis` (the client's address from one trusted hop). */
function limitedApp(
  routes: Parameters<typeof startApp>[0],
  redis: Redis,
  options: Omit<RateLimiterOptions, 'redis' | 'registry' | 'tokens'>,
): Promise<RunningApp> {
  return startApp(routes, { TRUST_PROXY_HOPS: '1' }, undefined, (platform) =>
    rateLimiter({
      ...options,
      redis,
      registry: platform.metrics.registry,
      tokens: platform.tokens,
    }),
  );
}

/** The scripts `redis` has run (each limiter call is one; the commands inside it are not calls). */
async function scriptsRun(redis: Redis): Promise<number> {
  return [
    ...(await redis.info('commandstats')).matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm),
  ].reduce((sum, [, calls]) => sum + Number(calls), 0);
}

/** Two replicas of one service sharing a Redis, as behind a load balancer. */
async function replicas(redis: Redis, keyPrefix: string): Promise<RunningApp[]> {
  return Promise.all(
    [0, 1].map(() =>
      limitedApp(
        (app) => {
          app.get('/products', (_req, res) => {
            res.json({ ok: true });
          });
          app.post('/orders', (_req, res) => {
            res.status(201).json({ ok: true });
          });
        },
        redis,
        { rules, keyPrefix },
      ),
    ),
  );
}

describe('rate limiting shared by replicas through Redis', () => {
  let own: OwnRedis;
  let redis: Redis;
  let apps: RunningApp[];

  before(async () => {
    ({ own, redis } = await ownRedisClient());
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

/** The `mela_client` cookie a response sets, as the next request's Cookie header. */
function clientCookie(res: Response): string | undefined {
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${clientIdCookie}=`));
  return set?.split(';')[0];
}

describe('anonymous clients behind one address (carrier-grade NAT)', () => {
  let own: OwnRedis;
  let redis: Redis;
  let app: RunningApp;
  const secret = randomBytes(32).toString('base64url');

  before(async () => {
    ({ own, redis } = await ownRedisClient());
    app = await limitedApp(
      (a) => {
        a.get('/products', (_req, res) => {
          res.set('Cache-Control', 'public, max-age=60').json({ ok: true });
        });
        a.post('/login', (req, res) => {
          const body = req.body as { password?: unknown };
          res.status(body.password === 'right' ? 201 : 401).json({});
        });
      },
      redis,
      {
        clientIds: createClientIds(secret),
        keyPrefix: `rl:${randomBytes(3).toString('hex')}:`,
        rules: [
          { ...products, clientsPerAddress: 2 },
          {
            name: 'login-failures',
            method: 'POST',
            path: '/login',
            per: 'account',
            account: (req) => (req.body as { user?: string }).user,
            counts: 'failures',
            points: 3,
            windowSeconds: 60,
            onStoreFailure: 'closed',
          },
          {
            name: 'login',
            method: 'POST',
            path: '/login',
            per: 'address',
            points: 12,
            windowSeconds: 60,
            onStoreFailure: 'closed',
          },
        ],
      },
    );
  });
  after(async () => {
    await app.service.stop();
    redis.disconnect();
    await own.stop();
  });

  const browse = (address: string, cookie?: string) =>
    fetch(`${app.url}/products`, {
      headers: { 'x-forwarded-for': address, ...(cookie ? { cookie } : {}) },
    });

  it('when shoppers share an address, then each keeps its own budget under the address ceiling, and a first visit gets a signed id on a private response', async () => {
    const address = '198.51.100.20';
    const first = await browse(address);
    const second = await browse(address);
    const [alice, bob] = [clientCookie(first), clientCookie(second)];

    assert.ok(alice && bob && alice !== bob);
    assert.equal(first.headers.get('cache-control'), 'private, no-store');
    assert.match(first.headers.getSetCookie()[0] ?? '', /HttpOnly; SameSite=Lax/i);
    const statuses = async (cookie: string, n: number) => {
      const seen: number[] = [];
      for (let i = 0; i < n; i += 1) seen.push((await browse(address, cookie)).status);
      return seen;
    };
    // Once known, the route's own caching applies again.
    const known = await browse(address, alice);
    assert.equal(known.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(clientCookie(known), undefined);
    // 10 each: twice the old per-address budget from one address, and their own ids are kept.
    assert.deepEqual(await statuses(alice, 10), [...Array<number>(9).fill(200), 429]);
    const bobs = await statuses(bob, 10);
    assert.deepEqual(bobs, Array<number>(10).fill(200));

    // The ceiling (2 clients' worth) is spent: a third id from the address is refused by it.
    const carol = clientCookie(await browse(address));
    const refused = await browse(address, carol);
    const problem = (await refused.json()) as { rule: string };
    assert.equal(refused.status, 429);
    assert.equal(problem.rule, 'products');
    assert.match(refused.headers.get('ratelimit') ?? '', /"products-address";r=0/);
    // Another address is untouched.
    assert.equal((await browse('198.51.100.21')).status, 200);
  });

  it('when a client makes up or tampers with its id, then it is known by its address alone and given a real one', async () => {
    const address = '198.51.100.30';
    const real = clientCookie(await browse(address)) ?? '';
    const [id = '', tag = ''] = real.slice(clientIdCookie.length + 1).split('.');
    const forged = [
      `${clientIdCookie}=${'A'.repeat(22)}.${'B'.repeat(22)}`,
      `${clientIdCookie}=${id.replace(/^./, id.startsWith('A') ? 'B' : 'A')}.${tag}`,
      `${clientIdCookie}=${id}`,
      `${clientIdCookie}=${'%'.repeat(60)}`,
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const res = await browse(address, forged[i % forged.length]);
      statuses.push(res.status);
      if (res.status === 200) assert.ok(clientCookie(res), 'a fresh id is offered');
    }
    // One address budget (10, one of it spent above) whatever id each request claimed.
    assert.equal(statuses.filter((s) => s === 200).length, 9);
  });

  it('when sign-ins fail for one account, then that account is refused while others and successes go on, under a per-address total', async () => {
    const login = (user: string, password: string, address = '198.51.100.40') =>
      fetch(`${app.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
        body: JSON.stringify({ user, password }),
      });

    const successes: number[] = [];
    for (let i = 0; i < 5; i += 1) successes.push((await login('alice', 'right')).status);
    const failures: number[] = [];
    for (let i = 0; i < 3; i += 1) failures.push((await login('bob', 'wrong')).status);
    const bobNow = await login('bob', 'right');
    const bobElsewhere = await login('bob', 'right', '198.51.100.41');

    assert.deepEqual(successes, [201, 201, 201, 201, 201]);
    assert.deepEqual(failures, [401, 401, 401]);
    assert.equal(bobNow.status, 429);
    assert.equal(((await bobNow.json()) as { rule: string }).rule, 'login-failures');
    assert.equal(bobElsewhere.status, 429, 'the account is locked, not the address');
    assert.equal((await login('carol', 'right')).status, 201);
    // 10 attempts from the address so far (bob's from elsewhere counts there): 2 more, then no.
    const rest: number[] = [];
    for (let i = 0; i < 3; i += 1) rest.push((await login(`dave${i}`, 'right')).status);
    assert.deepEqual(rest, [201, 201, 429]);
  });
});

describe('the default rules (a newcomer signing in from one address)', () => {
  let own: OwnRedis;
  let redis: Redis;
  let app: RunningApp;

  before(async () => {
    ({ own, redis } = await ownRedisClient());
    app = await startApp(
      () => undefined,
      {
        TRUST_PROXY_HOPS: '1',
        AUTH_DEV_TOKENS: 'true',
        RATE_LIMIT_CLIENT_SECRET: randomBytes(32).toString('base64url'),
      },
      undefined,
      (platform) => serviceRateLimit(platform, redis) ?? assert.fail('rate limiting is on'),
    );
  });
  after(async () => {
    await app.service.stop();
    redis.disconnect();
    await own.stop();
  });

  it('when a script mints twenty dev users, then none is refused, while one account failing five times is', async () => {
    const mint = (body: unknown) =>
      fetch(`${app.url}/api/auth/dev-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.50' },
        body: JSON.stringify(body),
      });

    const minted: number[] = [];
    for (let i = 0; i < 20; i += 1) minted.push((await mint({ userId: `script-${i}` })).status);
    const failed: number[] = [];
    for (let i = 0; i < 5; i += 1)
      failed.push((await mint({ userId: 'mallory', roles: ['root'] })).status);
    const locked = await mint({ userId: 'mallory' });

    assert.deepEqual(minted, Array<number>(20).fill(201));
    assert.deepEqual(failed, [400, 400, 400, 400, 400]);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal((await mint({ userId: 'script-20' })).status, 201);
  });

  it('when a limiter with the default rules is built, then its stores take memory only as clients come', () => {
    // Thirteen stores of up to 100,000 keys: allocated up front they took 34 MB (docs/performance.md).
    const used = () => {
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = used();
    const limiter = rateLimiter({
      redis,
      registry: new Registry(),
      tokens: createTokenVerifier(auth),
      clientIds: createClientIds(randomBytes(32).toString('hex')),
    });
    const grown = used() - before;

    assert.equal(typeof limiter, 'function');
    assert.ok(grown < 4 * 2 ** 20, `building the limiter took ${String(grown)} bytes`);
  });
});

describe('a budget of a hundred over two replicas', () => {
  const browse: RateLimitRule = { ...products, name: 'browse', points: 100 };
  let own: OwnRedis;
  let redis: Redis;
  let apps: RunningApp[];

  let keyPrefix: string;

  before(async () => {
    ({ own, redis } = await ownRedisClient());
    keyPrefix = `rl:${randomBytes(3).toString('hex')}:`;
    apps = await Promise.all(
      [0, 1].map(() =>
        limitedApp(
          (app) => {
            app.get('/products', (_req, res) => {
              res.json({ ok: true });
            });
          },
          redis,
          { rules: [browse], keyPrefix },
        ),
      ),
    );
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.service.stop()));
    redis.disconnect();
    await own.stop();
  });

  it('when one client asks 110 times over both replicas, then exactly 100 are served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 110; i += 1) {
      const res = await fetch(`${apps[i % 2]?.url ?? ''}/products`, {
        headers: { 'x-forwarded-for': '198.51.100.2' },
      });
      statuses.push(res.status);
    }

    assert.equal(statuses.filter((s) => s === 200).length, 100);
    assert.deepEqual(statuses.slice(100), Array<number>(10).fill(429));
  });

  it('when one client sends bursts of concurrent requests to both replicas, then never more than 100 are served, and almost all of them are', async () => {
    const statuses: number[] = [];
    for (let burst = 0; burst < 8; burst += 1) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const res = await fetch(`${apps[i % 2]?.url ?? ''}/products`, {
            headers: { 'x-forwarded-for': '198.51.100.5' },
          });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      statuses.push(...answers);
    }

    const served = statuses.filter((s) => s === 200).length;
    assert.ok(served <= 100, `${String(served)} served`);
    // Points leased to one replica and not asked for there again are the only ones lost.
    assert.ok(served >= 90, `${String(served)} served`);
    assert.ok(statuses.every((s) => s === 200 || s === 429));
  });

  /** Asks replica `i` as the client at `address`, `times` times; the answers' statuses. */
  async function ask(i: number, address: string, times: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let n = 0; n < times; n += 1) {
      const res = await fetch(`${apps[i]?.url ?? ''}/products`, {
        headers: { 'x-forwarded-for': address },
      });
      statuses.push(res.status);
    }
    return statuses;
  }

  it('when all requests of a client reach one replica, then Redis is asked once per lease, not per request, and exactly 100 are served', async () => {
    const before = await scriptsRun(redis);

    const statuses = await ask(0, '198.51.100.3', 110);

    const asked = (await scriptsRun(redis)) - before;
    assert.deepEqual(statuses, [...Array<number>(100).fill(200), ...Array<number>(10).fill(429)]);
    assert.ok(asked < 50, `${String(asked)} Redis commands for 110 requests`);
  });

  it('when replicas of the previous version count in the same Redis (rate-limiter-flexible), then the limit holds across both', async () => {
    const previous = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}browse`,
      points: 100,
      duration: 60,
    });
    for (let n = 0; n < 60; n += 1) await previous.consume('ip:198.51.100.4');

    const statuses = await ask(1, '198.51.100.4', 45);

    assert.deepEqual(statuses, [...Array<number>(40).fill(200), ...Array<number>(5).fill(429)]);
    await assert.rejects(previous.consume('ip:198.51.100.4'));
  });
});

describe('a budget much larger than a client uses (an address ceiling)', () => {
  let own: OwnRedis;
  let redis: Redis;
  let app: RunningApp;

  before(async () => {
    ({ own, redis } = await ownRedisClient());
    app = await limitedApp(
      (express) => {
        express.get('/wide', (_req, res) => res.json({ ok: true }));
        express.get('/narrow', (_req, res) => res.json({ ok: true }));
      },
      redis,
      {
        rules: [
          { ...products, name: 'wide', path: '/wide', points: 5000 },
          { ...products, name: 'narrow', path: '/narrow', points: 100 },
        ],
        keyPrefix: `rl:${randomBytes(3).toString('hex')}:`,
      },
    );
  });
  after(async () => {
    await app.service.stop();
    redis.disconnect();
    await own.stop();
  });

  /** How many limiter calls Redis answered while one client asked `path` `times` times. */
  async function callsFor(path: string, address: string, times: number): Promise<number> {
    const before = await scriptsRun(redis);
    for (let n = 0; n < times; n += 1) {
      const res = await fetch(`${app.url}${path}`, { headers: { 'x-forwarded-for': address } });
      assert.equal(res.status, 200);
    }
    return (await scriptsRun(redis)) - before;
  }

  it('when a key is new, then its first lease is a 256th of the budget: 16 of 5,000 points in one call, one point of 100', async () => {
    assert.equal(await callsFor('/wide', '198.51.100.20', 16), 1);
    assert.equal(await callsFor('/wide', '198.51.100.20', 1), 1);
    // 1, 2, 4 and 8 points: the 1st, 2nd, 4th and 8th requests, then 16 at the 16th.
    assert.equal(await callsFor('/narrow', '198.51.100.21', 16), 5);
  });
});
