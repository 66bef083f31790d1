import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { until, type OwnMariaDb } from '@mela/testkit';
import { ownCustomerShard, startCheckout, userOn, type Checkout } from './support.js';

const phone = { id: 301, name: 'Shard Phone', priceCents: 999_900, stock: 50 };
describe('when one customer shard is stopped', () => {
  let shop: Checkout;
  let shard80: OwnMariaDb;
  let order: Awaited<ReturnType<Checkout['startOrder']>>;

  const place = async (userId: string) => {
    await shop.addToCart(userId, phone.id);
    return fetch(`${order.url}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await shop.token(userId)}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: '{}',
    });
  };
  const readiness = async () => {
    const res = await fetch(`${order.url}/readyz`);
    return {
      status: res.status,
      report: (await res.json()) as { status: string; checks: Record<string, { status: string }> },
    };
  };

  before(async () => {
    shop = await startCheckout([phone]);
    const own = await ownCustomerShard(shop);
    shard80 = own.server;
    order = await shop.startOrder({ SHARD_MAP: own.shardMap });
    const before = await place(userOn('80-'));
    assert.equal(before.status, 201, await before.text());
    await shard80.kill();
  });
  after(async () => {
    await shop.close();
    await shard80.stop();
  });

  it('then the replica stays ready (degraded), reporting the shard down', async () => {
    const { status, report } = await readiness();

    assert.equal(status, 200, JSON.stringify(report));
    assert.equal(report.status, 'degraded');
    assert.equal(report.checks['mysql customer/80-']?.status, 'down');
    assert.equal(report.checks['mysql customer/-80']?.status, 'up');
    assert.equal(report.checks['mysql commerce/0']?.status, 'up');
  });

  it('then users on the other shard still order, and users on it get 503 with Retry-After', async () => {
    const served = await place(userOn('-80'));
    const refused = await place(userOn('80-'));

    assert.equal(served.status, 201, await served.text());
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const problem = (await refused.json()) as Record<string, unknown>;
    assert.equal(problem['code'], 'dependency_unavailable');
  });

  it('then the metrics say which shard is down, for the alert', async () => {
    const metrics = await (await fetch(`${order.url}/metrics`)).text();

    assert.match(metrics, /dependency_up\{dependency="mysql customer\/80-"[^}]*\} 0/);
    assert.match(metrics, /dependency_up\{dependency="mysql customer\/-80"[^}]*\} 1/);
  });

  it('when the shard comes back, then its users order again', async () => {
    await shard80.start();
    await until(
      async () => (await readiness()).report.status === 'ready',
      'the shard back',
      30_000,
    );

    const placed = await place(userOn('80-'));

    assert.equal(placed.status, 201, await placed.text());
  });
});
