import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metricTotal, startShopBehindEdge, until, type ShopBehindEdge } from '@mela/testkit';

const phone = { id: 501, name: 'Edge Phone', priceCents: 1_999_900, stock: 5 };

/** How many requests for `route` reached the catalog replicas (their RED histograms). */
function originRequests(shop: ShopBehindEdge, route: string): Promise<number> {
  return metricTotal(shop.replicas.catalog, 'http_request_duration_seconds_count', { route });
}

describe('the CDN edge in front of the catalog (real nginx, two catalog replicas)', () => {
  let shop: ShopBehindEdge;
  before(async () => {
    shop = await startShopBehindEdge({
      products: [phone],
      services: ['catalog'],
      env: { STOREFRONT_MAX_AGE_SECONDS: '1' },
    });
  });
  after(() => shop.close());

  const imageRoute = '/static/img/products/:file';
  async function imageUrl(): Promise<string> {
    const response = await fetch(`${shop.url}/api/catalog/products/${String(phone.id)}`);
    return ((await response.json()) as { imageUrl: string }).imageUrl;
  }
  async function token(userId: string, roles: string[]): Promise<string> {
    const response = await fetch(`${shop.url}/api/auth/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, roles }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { token: string }).token;
  }

  it('when an image is fetched twice, then the second is X-Cache HIT and does not reach the origin', async () => {
    const url = `${shop.url}${await imageUrl()}`;
    const before = await originRequests(shop, imageRoute);

    const first = await fetch(url);
    const firstBody = await first.text();
    const afterFirst = await originRequests(shop, imageRoute);
    const second = await fetch(url);

    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    assert.equal(afterFirst, before + 1);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.equal(second.headers.get('content-type'), 'image/svg+xml');
    assert.equal(second.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(await second.text(), firstBody);
    assert.equal(await originRequests(shop, imageRoute), afterFirst);
  });

  it('when an admin purges a cached image, then the next fetch is a MISS from the origin; others may not purge', async () => {
    const path = await imageUrl();
    await (await fetch(`${shop.url}${path}`)).text();
    const purgeUrl = `${shop.url}/_edge/purge${path}`;
    const user = await token('edge-user', ['user']);
    const admin = await token('edge-admin', ['user', 'admin']);
    const purge = (bearer?: string) =>
      fetch(purgeUrl, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});

    assert.equal((await purge()).status, 401);
    assert.equal((await purge(user)).status, 403);
    assert.equal((await fetch(`${shop.url}${path}`)).headers.get('x-cache'), 'HIT');
    const before = await originRequests(shop, imageRoute);
    assert.equal((await purge(admin)).status, 200);
    assert.equal((await purge(admin)).status, 404, 'nothing left to purge');

    const next = await fetch(`${shop.url}${path}`);
    assert.equal(next.status, 200);
    assert.equal(next.headers.get('x-cache'), 'MISS');
    assert.equal(await originRequests(shop, imageRoute), before + 1);
  });

  it('when the storefront is loaded, then its hashed assets are immutable and cached at the edge', async () => {
    const page = await (await fetch(`${shop.url}/`)).text();
    const assets = [...page.matchAll(/(\/static\/assets\/[a-z]+\.[0-9a-f]{16}\.(?:js|css))/g)].map(
      (m) => m[1] ?? '',
    );
    assert.equal(assets.length, 2, page);

    for (const asset of assets) {
      const first = await fetch(`${shop.url}${asset}`);
      await first.arrayBuffer();
      const second = await fetch(`${shop.url}${asset}`);
      await second.arrayBuffer();
      assert.equal(first.headers.get('x-cache'), 'MISS', asset);
      assert.equal(second.headers.get('x-cache'), 'HIT', asset);
      assert.equal(second.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    const unknown = await fetch(`${shop.url}/static/assets/app.0000000000000000.js`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });

  const productRoute = '/api/catalog/products/:id';
  /** A returning anonymous shopper: the cookie the shop signed on its first visit. */
  async function returningShopper(): Promise<string> {
    const first = await fetch(`${shop.url}/api/catalog/products/${String(phone.id)}`);
    await first.body?.cancel();
    return (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  }

  it("when forty anonymous shoppers read a product at once, then the edge asks the origin about once and they all get the same JSON, without anyone's budget", async () => {
    const cookie = await returningShopper();
    const product = `${shop.url}/api/catalog/products/${String(phone.id)}?stampede`;
    const before = await originRequests(shop, productRoute);

    const answers = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await fetch(product, { headers: { cookie } });
        return { response, body: await response.text() };
      }),
    );

    // One request fills the entry while the rest wait for it; if the one-second entry expired
    // during the burst, one background refresh more.
    const asked = (await originRequests(shop, productRoute)) - before;
    assert.ok(asked >= 1 && asked <= 2, `the origin was asked ${String(asked)} times`);
    assert.equal(new Set(answers.map((a) => a.body)).size, 1);
    for (const { response } of answers) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('ratelimit'), null);
      assert.equal(response.headers.get('set-cookie'), null);
      assert.match(response.headers.get('cache-control') ?? '', /s-maxage=1\b/);
    }
    assert.ok(answers.filter((a) => a.response.headers.get('x-cache') !== 'MISS').length >= 38);
  });

  it('when the origin says s-maxage=1, then a second later the edge asks the origin again', async () => {
    const cookie = await returningShopper();
    const product = `${shop.url}/api/catalog/products/${String(phone.id)}?fresh`;
    const read = async () => {
      const response = await fetch(product, { headers: { cookie } });
      await response.body?.cancel();
      return response.headers.get('x-cache');
    };
    assert.equal(await read(), 'MISS');
    assert.equal(await read(), 'HIT');
    const before = await originRequests(shop, productRoute);

    // Its max-age (for browsers) is 30 s: only s-maxage can end the edge's copy this soon.
    await until(async () => (await read()) !== 'HIT', 'the edge copy to expire', 5000);
    await until(
      async () => (await originRequests(shop, productRoute)) > before,
      'the origin to be asked again',
      5000,
    );
  });

  it('when a signed-in shopper reads the catalog, then the edge neither serves nor keeps a copy', async () => {
    const bearer = `Bearer ${await token('edge-reader', ['user'])}`;
    const product = `${shop.url}/api/catalog/products/${String(phone.id)}?signed-in`;
    const before = await originRequests(shop, productRoute);

    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(product, { headers: { authorization: bearer } });
      await response.body?.cancel();
      assert.equal(response.headers.get('x-cache'), 'MISS');
    }
    assert.equal(await originRequests(shop, productRoute), before + 3);
    const cookie = await returningShopper();
    const anonymous = await fetch(product, { headers: { cookie } });
    await anonymous.body?.cancel();
    assert.equal(
      anonymous.headers.get('x-cache'),
      'MISS',
      'nothing was kept from the signed-in reads',
    );
  });

  it('when every catalog replica is down, then the page is served STALE (the origin allows stale-if-error) and the API answers 503', async () => {
    const fresh = await fetch(`${shop.url}/`);
    const body = await fresh.text();
    assert.match(fresh.headers.get('cache-control') ?? '', /stale-if-error=86400/);

    await Promise.all(shop.replicas.catalog.map((replica) => replica.kill()));

    // The page's max-age is 1 s here: once it has expired, the edge serves it stale.
    await until(async () => {
      const response = await fetch(`${shop.url}/`);
      await response.body?.cancel();
      return response.headers.get('x-cache') === 'STALE';
    }, 'the page to be served stale');
    const stale = await fetch(`${shop.url}/`);
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-cache'), 'STALE');
    assert.equal(await stale.text(), body);
    const api = await fetch(`${shop.url}/api/catalog/products/${String(phone.id)}`);
    assert.equal(api.status, 503);
    assert.equal(((await api.json()) as { code: string }).code, 'upstream_unavailable');
  });
});
