import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDevTokenIssuer } from '@mela/platform';
import { scratchDatabase, shardServer } from '@mela/schema';
import { freePort, startOwnRedis, stopChild, until } from '@mela/testkit';
import { localShardMap, localTopology, redisUrl } from '@mela/topology';
import { loadCartConfig } from '../src/config.js';
import { buildCart, type Cart } from '../src/service.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const topology = localTopology();
const secret = randomBytes(32).toString('hex');
const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });
const bearer = async (userId: string) =>
  `Bearer ${await issuer.issue({ userId, roles: ['user'] })}`;

interface CartBody {
  items: {
    productId: string;
    quantity: number;
    product?: { priceCents: number };
    lineTotalCents?: number;
  }[];
  itemCount: number;
  subtotalCents?: number;
  degraded: boolean;
}

/** A real catalog service (its own database, seeded) in a process of its own, for the cart to call. */
async function startCatalogProcess() {
  const database = await scratchDatabase(shardServer('commerce', 0, topology), {
    prefix: 't_cart',
    keyspace: 'commerce',
    topology,
  });
  const port = await freePort();
  const env = {
    ...process.env,
    SHARD_MAP: JSON.stringify({
      ...localShardMap(topology),
      commerce: { '0': database.url },
    }),
    REDIS_URL: redisUrl(topology),
    AUTH_JWT_SECRET: secret,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT: 'false',
    CACHE_KEY_PREFIX: `test:cart-catalog:${randomBytes(4).toString('hex')}:`,
  };
  const seed = spawnSync(
    process.execPath,
    [join(root, 'services/catalog/dist/src/seed.cli.js'), '--products', '200'],
    { env, encoding: 'utf8' },
  );
  assert.equal(seed.status, 0, seed.stderr);
  let child: ChildProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(process.execPath, [join(root, 'services/catalog/dist/src/main.js')], {
      env,
      stdio: 'ignore',
    });
    await until(
      async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
      'the catalog to be ready',
    );
  };
  const stop = () => stopChild(child);
  await start();
  return {
    url,
    start,
    stop,
    async drop() {
      await stop();
      await database.drop();
    },
  };
}

describe('the cart service on real Redis, with the real catalog behind it', () => {
  let catalog: Awaited<ReturnType<typeof startCatalogProcess>>;
  let cart: Cart;
  let url: string;
  const keyPrefix = `test:cart:${randomBytes(4).toString('hex')}:`;

  const call = async (user: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: await bearer(user), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** A second cart service over the same catalog, on the Redis servers `redis` names. */
  const anotherCart = async (redis: Record<string, string>) => {
    const other = buildCart(
      loadCartConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        AUTH_JWT_SECRET: secret,
        CATALOG_URL: catalog.url,
        CART_KEY_PREFIX: keyPrefix,
        RATE_LIMIT: 'false',
        ...redis,
      }),
    );
    if (other.carts.status !== 'ready') await once(other.carts, 'ready');
    return { cart: other, url: `http://127.0.0.1:${(await other.service.start()).port}` };
  };

  before(async () => {
    catalog = await startCatalogProcess();
    cart = buildCart(
      loadCartConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        AUTH_JWT_SECRET: secret,
        REDIS_URL: redisUrl(topology),
        CATALOG_URL: catalog.url,
        CART_KEY_PREFIX: keyPrefix,
        CART_TTL_SECONDS: '3600',
        CART_PRODUCT_CACHE_SECONDS: '1',
        RATE_LIMIT: 'false',
      }),
    );
    if (cart.redis.status !== 'ready') await once(cart.redis, 'ready');
    url = `http://127.0.0.1:${(await cart.service.start()).port}`;
  });
  after(async () => {
    const keys = await cart.redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await cart.redis.del(...keys);
    await cart.service.stop();
    await catalog.drop();
  });

  it('when a shopper adds products, then the cart is priced from the catalog and expires after a day of no change', async () => {
    const added = await call('asha', 'POST', '/api/cart/items', { productId: '5', quantity: 2 });
    await call('asha', 'POST', '/api/cart/items', { productId: '9' });
    const view = (await (await call('asha', 'GET', '/api/cart')).json()) as CartBody;
    const product5 = (await (await fetch(`${catalog.url}/api/catalog/products/5`)).json()) as {
      priceCents: number;
    };

    assert.equal(added.status, 201);
    assert.equal(added.headers.get('cache-control'), 'private, no-store');
    assert.deepEqual(
      view.items.map((i) => [i.productId, i.quantity]),
      [
        ['5', 2],
        ['9', 1],
      ],
    );
    assert.equal(view.items[0]?.lineTotalCents, product5.priceCents * 2);
    assert.equal(view.itemCount, 3);
    assert.equal(view.degraded, false);
    const ttl = await cart.redis.ttl(`${keyPrefix}user:asha`);
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  });

  it('when the same product is added again, then quantities add up within the limit', async () => {
    await call('bala', 'POST', '/api/cart/items', { productId: '7', quantity: 6 });
    const over = await call('bala', 'POST', '/api/cart/items', { productId: '7', quantity: 5 });
    const fine = await call('bala', 'POST', '/api/cart/items', { productId: '7', quantity: 4 });

    assert.equal(over.status, 409);
    assert.equal(((await over.json()) as { code: string }).code, 'quantity_limit');
    assert.equal(((await fine.json()) as CartBody).items[0]?.quantity, 10);
  });

  it('when quantities are changed and items removed, then the cart follows and its TTL starts again', async () => {
    await call('chitra', 'POST', '/api/cart/items', { productId: '3', quantity: 1 });
    await call('chitra', 'POST', '/api/cart/items', { productId: '4', quantity: 1 });
    await cart.redis.expire(`${keyPrefix}user:chitra`, 100);

    const patched = (await (
      await call('chitra', 'PATCH', '/api/cart/items/3', { quantity: 5 })
    ).json()) as CartBody;
    const ttl = await cart.redis.ttl(`${keyPrefix}user:chitra`);
    const removed = (await (
      await call('chitra', 'DELETE', '/api/cart/items/4')
    ).json()) as CartBody;
    const missing = await call('chitra', 'DELETE', '/api/cart/items/4');
    const cleared = await call('chitra', 'DELETE', '/api/cart');
    const empty = (await (await call('chitra', 'GET', '/api/cart')).json()) as CartBody;

    assert.equal(patched.items.find((i) => i.productId === '3')?.quantity, 5);
    assert.ok(ttl > 3500, `ttl ${ttl}`);
    assert.deepEqual(
      removed.items.map((i) => i.productId),
      ['3'],
    );
    assert.equal(missing.status, 404);
    assert.equal(cleared.status, 204);
    assert.deepEqual(empty.items, []);
  });

  it("when another shopper looks, then they see their own cart, never someone else's", async () => {
    await call('dev', 'POST', '/api/cart/items', { productId: '11', quantity: 1 });

    const other = (await (await call('esha', 'GET', '/api/cart')).json()) as CartBody;
    const anonymous = await fetch(`${url}/api/cart`);

    assert.deepEqual(other.items, []);
    assert.equal(anonymous.status, 401);
  });

  it('when input is bad, then 4xx problem+json and the cart does not change', async () => {
    await call('farah', 'POST', '/api/cart/items', { productId: '2', quantity: 1 });
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/api/cart/items', { productId: '2', quantity: 0 }, 400, 'validation_failed'],
      [
        'POST',
        '/api/cart/items',
        { productId: '2', quantity: 1_000_000 },
        400,
        'validation_failed',
      ],
      ['POST', '/api/cart/items', { productId: '2', quantity: 1.5 }, 400, 'validation_failed'],
      ['POST', '/api/cart/items', { productId: 'abc' }, 400, 'validation_failed'],
      [
        'POST',
        '/api/cart/items',
        { productId: '2', userId: 'someone-else' },
        400,
        'validation_failed',
      ],
      ['POST', '/api/cart/items', { productId: '99999' }, 422, 'unknown_product'],
      ['PATCH', '/api/cart/items/2', { quantity: 0 }, 400, 'validation_failed'],
      ['PATCH', '/api/cart/items/77', { quantity: 2 }, 404, 'not_in_cart'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await call('farah', method, path, body);
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      assert.equal(((await res.json()) as { code: string }).code, code);
    }
    const malformed = await fetch(`${url}/api/cart/items`, {
      method: 'POST',
      headers: { authorization: await bearer('farah'), 'content-type': 'application/json' },
      body: '{"productId": ',
    });
    assert.equal(malformed.status, 400);

    const view = (await (await call('farah', 'GET', '/api/cart')).json()) as CartBody;
    assert.deepEqual(
      view.items.map((i) => [i.productId, i.quantity]),
      [['2', 1]],
    );
  });

  it('when the catalog is down, then the cart still shows (unpriced, degraded) and adds get a 503', async () => {
    await call('gita', 'POST', '/api/cart/items', { productId: '6', quantity: 1 });
    await catalog.stop();
    try {
      await until(
        async () => ((await (await call('gita', 'GET', '/api/cart')).json()) as CartBody).degraded,
        'the product cache to expire',
      );
      const view = (await (await call('gita', 'GET', '/api/cart')).json()) as CartBody;
      const add = await call('gita', 'POST', '/api/cart/items', { productId: '8', quantity: 1 });
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { status: string };

      assert.deepEqual(view.items, [{ productId: '6', quantity: 1 }]);
      assert.equal(add.status, 503);
      assert.equal(((await add.json()) as { dependency: string }).dependency, 'catalog');
      assert.equal(ready.status, 'degraded');
    } finally {
      await catalog.start();
    }
  });
  it('when Redis is down, then cart reads and writes answer 503 problem+json naming it, and the cart is back with Redis', async () => {
    const own = await startOwnRedis();
    const { cart: alone, url: base } = await anotherCart({ REDIS_URL: own.url });
    const ask = async (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: await bearer('hema'), 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    try {
      await own.kill();

      const read = await ask('GET', '/api/cart');
      const write = await ask('POST', '/api/cart/items', { productId: '6', quantity: 1 });

      for (const answer of [read, write]) {
        assert.equal(answer.status, 503);
        assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.ok(Number(answer.headers.get('retry-after')) >= 1);
        assert.equal(((await answer.json()) as { dependency: string }).dependency, 'redis');
      }
      await own.start();
      await until(async () => (await ask('GET', '/api/cart')).status === 200, 'Redis back', 15_000);
    } finally {
      await alone.service.stop();
      await own.stop();
    }
  });
  it('when the carts’ Redis crashes in the middle of shopping, then every add it acknowledged is still in the cart after it restarts, and nothing answers 500', async () => {
    const durable = await startOwnRedis({ durable: true });
    const { cart: shop, url: base } = await anotherCart({
      REDIS_URL: redisUrl(topology),
      CART_REDIS_URL: durable.url,
    });
    const shoppers = ['ira', 'jai', 'kavi'];
    const products = ['1', '2', '3', '4', '5', '6', '7', '8'];
    const statuses: number[] = [];
    const acknowledged = new Map<string, string[]>(shoppers.map((s) => [s, []]));
    const add = async (user: string, productId: string) => {
      for (;;) {
        const res = await fetch(`${base}/api/cart/items`, {
          method: 'POST',
          headers: { authorization: await bearer(user), 'content-type': 'application/json' },
          body: JSON.stringify({ productId, quantity: 1 }),
        });
        statuses.push(res.status);
        await res.body?.cancel();
        if (res.status === 201) {
          acknowledged.get(user)?.push(productId);
          return;
        }
        // 503 while Redis is away: try again as Retry-After says (a shopper's client would).
        if (res.status !== 503) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const shopFor = (user: string, items: readonly string[]) =>
      (async () => {
        for (const productId of items) await add(user, productId);
      })();
    const [first, rest] = [products.slice(0, 4), products.slice(4)];
    try {
      // Half of each cart acknowledged; then the crash races two shoppers' next adds, and the
      // third shopper carries on only once Redis is gone, so the outage is always seen.
      await Promise.all(shoppers.map((user) => shopFor(user, first)));
      const racing = shoppers.slice(0, 2).map((user) => shopFor(user, rest));
      await durable.kill();
      const after = shopFor(shoppers[2] ?? 'kavi', rest);
      await until(() => statuses.includes(503), 'a refusal while Redis is away', 10_000);
      await durable.start();
      await Promise.all([...racing, after]);

      const views = await Promise.all(
        shoppers.map(async (user) => {
          const res = await fetch(`${base}/api/cart`, {
            headers: { authorization: await bearer(user) },
          });
          return ((await res.json()) as CartBody).items.map((i) => i.productId).sort();
        }),
      );
      assert.deepEqual(
        views,
        shoppers.map((user) => [...(acknowledged.get(user) ?? [])].sort()),
      );
      assert.deepEqual(
        views,
        shoppers.map(() => [...products].sort()),
      );
      assert.deepEqual([...new Set(statuses)].sort(), [201, 503]);
    } finally {
      await shop.service.stop();
      await durable.stop();
    }
  });
});
