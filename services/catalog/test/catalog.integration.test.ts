import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  asAdmin,
  asShopper,
  conditionalGet,
  counter,
  createCommerceDatabase,
  startCatalog,
  type RunningCatalog,
} from './support.js';

interface ProductBody {
  id: string;
  name: string;
  priceCents: number;
  imageUrl: string;
  category: string;
  stock: number;
  version: number;
}

describe('the catalog service on real Redis and MariaDB', () => {
  let database: Awaited<ReturnType<typeof createCommerceDatabase>>;
  let catalog: RunningCatalog;
  const dbQueries = () =>
    counter(catalog.platform.metrics.registry, 'shard_queries_total', { keyspace: 'commerce' });
  const cacheResults = (result: string) =>
    counter(catalog.platform.metrics.registry, 'cache_requests_total', { result });

  before(async () => {
    database = await createCommerceDatabase(500);
    catalog = await startCatalog(database.shardMap);
  });
  after(async () => {
    await catalog.service.stop();
    await database.drop();
  });

  it('when a product is cold, then it is read from MySQL once and then served from Redis', async () => {
    const queriesBefore = await dbQueries();

    const first = await fetch(`${catalog.url}/api/catalog/products/7`);
    await catalog.cache.settled();
    const afterMiss = await dbQueries();
    const second = await fetch(`${catalog.url}/api/catalog/products/7`);

    assert.equal(first.status, 200);
    assert.deepEqual(await second.json(), await first.json());
    assert.equal(afterMiss - queriesBefore, 2, 'details and price, one query each');
    assert.equal(await dbQueries(), afterMiss, 'the second read did not touch MySQL');
    assert.ok((await cacheResults('hit')) >= 2);
  });

  it('when 40 requests for a cold product arrive together, then MySQL is asked once per kind of data', async () => {
    const queriesBefore = await dbQueries();

    const responses = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`${catalog.url}/api/catalog/products/11`)),
    );

    assert.ok(responses.every((r) => r.status === 200));
    assert.equal((await dbQueries()) - queriesBefore, 2);
  });

  it('when an admin changes a price, then the next read shows it, in the product and in lists', async () => {
    const before = (await (
      await fetch(`${catalog.url}/api/catalog/products/3`)
    ).json()) as ProductBody;
    const listed = await fetch(`${catalog.url}/api/catalog/products?limit=5`);
    await catalog.cache.settled();
    assert.equal(listed.status, 200);

    const put = await fetch(`${catalog.url}/api/catalog/products/3`, {
      method: 'PUT',
      headers: { authorization: await asAdmin(), 'content-type': 'application/json' },
      body: JSON.stringify({ version: before.version, priceCents: before.priceCents + 1000 }),
    });
    const after = (await (
      await fetch(`${catalog.url}/api/catalog/products/3`)
    ).json()) as ProductBody;
    const list = (await (await fetch(`${catalog.url}/api/catalog/products?limit=5`)).json()) as {
      items: ProductBody[];
    };

    assert.equal(put.status, 200);
    assert.equal(put.headers.get('cache-control'), 'no-store');
    assert.equal(after.priceCents, before.priceCents + 1000);
    assert.equal(list.items.find((p) => p.id === '3')?.priceCents, before.priceCents + 1000);
  });

  it('when someone without the admin role writes, then 401 or 403, and nothing changes', async () => {
    const body = JSON.stringify({ version: 1, priceCents: 1 });
    const anonymous = await fetch(`${catalog.url}/api/catalog/products/4`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const shopper = await fetch(`${catalog.url}/api/catalog/products/4`, {
      method: 'PUT',
      headers: { authorization: await asShopper(), 'content-type': 'application/json' },
      body,
    });
    const product = (await (
      await fetch(`${catalog.url}/api/catalog/products/4`)
    ).json()) as ProductBody;

    assert.equal(anonymous.status, 401);
    assert.equal(shopper.status, 403);
    assert.notEqual(product.priceCents, 1);
  });

  it('when an admin updates from a stale version, then 409 with the current version, and nothing changes', async () => {
    const read = async () =>
      (await (await fetch(`${catalog.url}/api/catalog/products/5`)).json()) as ProductBody;
    const put = (body: unknown) =>
      fetch(`${catalog.url}/api/catalog/products/5`, {
        method: 'PUT',
        headers: { authorization: adminToken, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const adminToken = await asAdmin();
    const start = await read();
    const first = await put({ version: start.version, name: 'First edit' });

    const stale = await put({ version: start.version, name: 'Lost update' });
    const unversioned = await put({ name: 'No version' });
    const absolute = await put({ version: start.version + 1, stock: 1 });

    assert.equal(first.status, 200);
    assert.equal(stale.status, 409);
    const problem = (await stale.json()) as { code: string; currentVersion: number };
    assert.deepEqual(problem, {
      ...problem,
      code: 'version_conflict',
      currentVersion: start.version + 1,
    });
    assert.equal(unversioned.status, 400);
    assert.equal(absolute.status, 400);
    assert.match(await absolute.text(), /POST \/api\/catalog\/products\/:id\/stock/);
    const now = await read();
    assert.equal(now.name, 'First edit');
    assert.equal(now.stock, start.stock);
    assert.equal(now.version, start.version + 1);
  });

  it('when an admin creates a product, then it can be read at once', async () => {
    const created = await fetch(`${catalog.url}/api/catalog/products`, {
      method: 'POST',
      headers: { authorization: await asAdmin(), 'content-type': 'application/json' },
      body: JSON.stringify({
        sku: 'SKU-NEW-1',
        name: 'Festival Phone',
        category: 'mobiles',
        priceCents: 999900,
        stock: 100,
      }),
    });
    const product = (await created.json()) as ProductBody;
    const again = await fetch(`${catalog.url}/api/catalog/products`, {
      method: 'POST',
      headers: { authorization: await asAdmin(), 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'SKU-NEW-1', name: 'Copy', category: 'mobiles', priceCents: 1 }),
    });

    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), `/api/catalog/products/${product.id}`);
    assert.equal((await fetch(`${catalog.url}/api/catalog/products/${product.id}`)).status, 200);
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: string }).code, 'sku_taken');
  });

  it('when input is bad, then 400 problem+json names it, and unknown things are 404', async () => {
    const cases: [string, number, string][] = [
      ['/api/catalog/products/abc', 400, 'params.id'],
      ['/api/catalog/products/0', 400, 'params.id'],
      ['/api/catalog/products/-5', 400, 'params.id'],
      ['/api/catalog/products?limit=1000000000', 400, 'query.limit'],
      ['/api/catalog/products?limit=-1', 400, 'query.limit'],
      ['/api/catalog/products?limit=0', 400, 'query.limit'],
      ['/api/catalog/products?cursor=-10', 400, 'query.cursor'],
      ['/api/catalog/products?cursor=bm9wZQ', 400, 'query.cursor'],
      ['/api/catalog/products?cursor=i0', 400, 'query.cursor'],
      ['/api/catalog/products?cursor=o1001', 400, 'query.cursor'],
      [`/api/catalog/products?q=${encodeURIComponent('a . &')}`, 400, 'query.q'],
      ['/api/catalog/products?offset=5', 400, 'query'],
      [`/api/catalog/products?q=${'a'.repeat(101)}`, 400, 'query.q'],
      [`/api/catalog/products?q=${encodeURIComponent("x' OR 1=1--")}`, 400, 'query.q'],
      [
        `/api/catalog/products?q=${encodeURIComponent('phone; DROP TABLE products')}`,
        400,
        'query.q',
      ],
      ['/api/catalog/products?q=a&q=b', 400, 'query.q'],
    ];
    for (const [path, status, field] of cases) {
      const res = await fetch(`${catalog.url}${path}`);
      assert.equal(res.status, status, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, path);
      const problem = (await res.json()) as { errors?: { path: string }[] };
      assert.ok(
        problem.errors?.some((e) => e.path.startsWith(field)),
        `${path}: ${JSON.stringify(problem.errors)}`,
      );
    }
    assert.equal((await fetch(`${catalog.url}/api/catalog/products/99999999`)).status, 404);
    assert.equal(
      (await fetch(`${catalog.url}/api/catalog/products?category=no-such-thing`)).status,
      404,
    );
  });

  it('when searching and paging, then results match the words and pages never repeat a product', async () => {
    const search = (await (
      await fetch(`${catalog.url}/api/catalog/products?q=phone&limit=5`)
    ).json()) as { items: ProductBody[] };
    assert.ok(search.items.length > 0);
    assert.ok(search.items.every((p) => /phone/i.test(p.name)));
    const withinMobiles = (await (
      await fetch(`${catalog.url}/api/catalog/products?q=phone&category=mobiles&limit=100`)
    ).json()) as { items: ProductBody[] };
    assert.ok(withinMobiles.items.length > 0);
    assert.ok(withinMobiles.items.every((p) => p.category === 'mobiles' && /phone/i.test(p.name)));
    const elsewhere = (await (
      await fetch(`${catalog.url}/api/catalog/products?q=phone&limit=100`)
    ).json()) as { items: ProductBody[] };
    assert.deepEqual(
      withinMobiles.items.map((p) => p.id),
      elsewhere.items.filter((p) => p.category === 'mobiles').map((p) => p.id),
      'a search within a category is the search, narrowed to it',
    );

    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let page = 0; page < 4; page += 1) {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const body = (await (
        await fetch(`${catalog.url}/api/catalog/products?category=mobiles&limit=7${query}`)
      ).json()) as { items: ProductBody[]; nextCursor: string | null };
      for (const product of body.items) {
        assert.equal(product.category, 'mobiles');
        assert.ok(!seen.has(product.id), `product ${product.id} repeated`);
        seen.add(product.id);
      }
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    assert.ok(seen.size > 7);
  });

  it('then the homepage has featured products and bestsellers by popularity, and categories are listed', async () => {
    const home = (await (await fetch(`${catalog.url}/api/catalog/home`)).json()) as {
      featured: ProductBody[];
      bestsellers: ProductBody[];
    };
    const categories = (await (await fetch(`${catalog.url}/api/catalog/categories`)).json()) as {
      items: { slug: string }[];
    };

    assert.ok(home.featured.length > 0);
    assert.equal(home.bestsellers.length, 12);
    assert.equal(categories.items.length, 24);
  });

  it('then anonymous reads are publicly cacheable with a strong ETag, and a matching If-None-Match gets 304', async () => {
    const res = await fetch(`${catalog.url}/api/catalog/products/9`);
    const etag = res.headers.get('etag') ?? '';

    assert.equal(
      res.headers.get('cache-control'),
      'public, max-age=30, s-maxage=1, stale-while-revalidate=60',
    );
    assert.match(etag, /^"[^"]+"$/);
    assert.equal(await conditionalGet(`${catalog.url}/api/catalog/products/9`, etag), 304);
  });

  it('then product images are immutable, content-addressed and revalidate with 304', async () => {
    const product = (await (
      await fetch(`${catalog.url}/api/catalog/products/12`)
    ).json()) as ProductBody;
    const image = await fetch(`${catalog.url}${product.imageUrl}`);
    const hash = /\.([0-9a-f]{16})\.svg$/.exec(product.imageUrl)?.[1] ?? '';

    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/svg+xml');
    assert.equal(image.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(image.headers.get('etag'), `"${hash}"`);
    assert.match(await image.text(), /^<svg /);
    assert.equal(await conditionalGet(`${catalog.url}${product.imageUrl}`, `"${hash}"`), 304);
    assert.equal(
      (await fetch(`${catalog.url}/static/img/products/12.0000000000000000.svg`)).status,
      404,
    );
    assert.equal(
      (await fetch(`${catalog.url}/static/img/products/..%2f..%2fetc%2fpasswd`)).status,
      404,
    );
  });
});

describe('the catalog with rate limiting on', () => {
  it('then an allowed product read carries no single client’s budget (a shared cache may keep it), and a refusal does', async () => {
    const database = await createCommerceDatabase(20);
    const limited = await startCatalog(database.shardMap, {
      RATE_LIMIT: 'true',
      RATE_LIMITS: 'product=2/60',
    });
    try {
      const read = () =>
        fetch(`${limited.url}/api/catalog/products/1`, {
          headers: { 'x-forwarded-for': '198.51.100.1' },
        });
      const allowed = [await read(), await read()];
      const refused = await read();

      for (const res of allowed) {
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('ratelimit'), null);
        assert.match(res.headers.get('cache-control') ?? '', /^public, /);
      }
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('ratelimit-policy'), '"product";q=2;w=60');
      assert.match(refused.headers.get('ratelimit') ?? '', /^"product";r=0;t=\d+$/);
    } finally {
      await limited.service.stop();
      await database.drop();
    }
  });
});
