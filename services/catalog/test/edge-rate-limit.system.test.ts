import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  httpRequest,
  metricTotal,
  startShopBehindEdge,
  until,
  type ShopBehindEdge,
} from '@mela/testkit';

const phone = { id: 701, name: 'Limited Phone', priceCents: 999_900, stock: 5 };

describe('rate limits through the edge, shared by two catalog replicas in Redis', () => {
  let shop: ShopBehindEdge;
  before(async () => {
    shop = await startShopBehindEdge({
      products: [phone],
      services: ['catalog'],
      // Budgets per client are what this file checks: the edge's micro-cache, which serves
      // public reads without spending anyone's, is off (edge-cache.system.test.ts covers it).
      env: { RATE_LIMITS: 'product=10/60,login=3/900', HTTP_EDGE_MAX_AGE_SECONDS: '0' },
    });
  });
  after(() => shop.close());

  const product = () => `${shop.url}/api/catalog/products/${String(phone.id)}`;

  it('when one client asks 12 times, then 10 pass over both replicas, the rest get 429 with Retry-After and RateLimit headers', async () => {
    const answers = [];
    for (let i = 0; i < 12; i += 1)
      answers.push(await httpRequest(product(), { localAddress: '127.0.0.2' }));

    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array<number>(10).fill(200), 429, 429],
    );
    // nginx logs a request after answering it: wait for all twelve lines of this client.
    const logged = () => shop.edge.log().filter((entry) => entry.client === '127.0.0.2');
    await until(() => logged().length === 12, 'the access log');
    const replicasServing = new Set(
      logged()
        .filter((entry) => entry.status === 200)
        .flatMap((entry) => entry.upstreams),
    );
    assert.equal(replicasServing.size, 2, 'both replicas served, yet the total is the limit');
    const refused = answers[11];
    assert.ok(refused);
    assert.equal(refused.headers['ratelimit-policy'], '"product";q=10;w=60');
    assert.match(String(refused.headers['ratelimit']), /^"product";r=0;t=\d+$/);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(retryAfter)}`);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.deepEqual(
      {
        ...(JSON.parse(refused.body) as Record<string, unknown>),
        detail: undefined,
        requestId: undefined,
        instance: undefined,
      },
      {
        type: '/problems/rate_limited',
        title: 'Too many requests',
        status: 429,
        code: 'rate_limited',
        rule: 'product',
        detail: undefined,
        requestId: undefined,
        instance: undefined,
      },
    );
    assert.equal(
      await metricTotal(shop.replicas.catalog, 'rate_limited_total', { rule: 'product' }),
      2,
    );
    // An allowed public read may be kept by a shared cache: it carries no one client's budget.
    assert.equal(answers[0]?.headers['ratelimit'], undefined);
  });

  it('when the limited client claims another address in X-Forwarded-For, then the edge replaces it and the limit still holds', async () => {
    const spoofed = await httpRequest(product(), {
      localAddress: '127.0.0.2',
      headers: { 'X-Forwarded-For': '203.0.113.77' },
    });

    assert.equal(spoofed.status, 429);
  });

  it('when another client asks, then it has its own budget', async () => {
    const other = await httpRequest(product(), { localAddress: '127.0.0.3' });

    assert.equal(other.status, 200);
    const more = [];
    for (let i = 0; i < 10; i += 1)
      more.push((await httpRequest(product(), { localAddress: '127.0.0.3' })).status);
    assert.deepEqual(more, [...Array<number>(9).fill(200), 429]);
  });

  it('when two shoppers share an address, then through the edge each keeps the id the shop signed for it and its own budget', async () => {
    const shopper = '127.0.0.5';
    const idOf = (answer: { headers: Record<string, unknown> }) =>
      String([answer.headers['set-cookie']].flat()[0]).split(';')[0] ?? '';
    const firstVisits = [
      await httpRequest(product(), { localAddress: shopper }),
      await httpRequest(product(), { localAddress: shopper }),
    ];
    const ids = firstVisits.map(idOf);

    assert.match(ids[0] ?? '', /^mela_client=[\w-]{22}\.[\w-]{22}$/);
    assert.notEqual(ids[0], ids[1]);
    assert.deepEqual(
      firstVisits.map((a) => a.headers['cache-control']),
      ['private, no-store', 'private, no-store'],
    );
    const statuses: number[] = [];
    for (const cookie of ids) {
      for (let i = 0; i < 10; i += 1)
        statuses.push(
          (await httpRequest(product(), { localAddress: shopper, headers: { cookie } })).status,
        );
    }
    const over = await httpRequest(product(), {
      localAddress: shopper,
      headers: { cookie: ids[0] ?? '' },
    });

    // Twenty served to one address whose own budget is ten (two spent on the first visits).
    assert.deepEqual(statuses, Array<number>(20).fill(200));
    assert.equal(over.status, 429);
  });

  it('when one client signs in four times against a 3 per 15 min limit, then the fourth is refused', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) {
      const answer = await httpRequest(`${shop.url}/api/auth/dev-token`, {
        method: 'POST',
        localAddress: '127.0.0.4',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: `login-${String(i)}` }),
      });
      statuses.push(answer.status);
    }

    assert.deepEqual(statuses, [201, 201, 201, 429]);
  });
});
