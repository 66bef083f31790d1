import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { shardOf, startCheckout, type Checkout } from './support.js';

const mug = { id: 401, name: 'Case Mug', priceCents: 29_900, stock: 100 };

/**
 * Two user ids that differ only in case and land on the same shard, where a case-insensitive
 * collation would make them one user.
 */
function sameShardPair(): [string, string] {
  for (;;) {
    const lower = `alice-${randomUUID().slice(0, 8)}`;
    const upper = lower.toUpperCase();
    if (shardOf(lower) === shardOf(upper)) return [lower, upper];
  }
}

describe('user ids that differ only in case', () => {
  let shop: Checkout;
  before(async () => {
    shop = await startCheckout([mug]);
  });
  after(() => shop.close());

  const asUser = async (userId: string, path: string) => {
    const res = await fetch(`${shop.order.url}${path}`, {
      headers: { authorization: `Bearer ${await shop.token(userId)}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('then each sees only their own orders, by list and by id', async () => {
    const [alice, ALICE] = sameShardPair();
    await shop.addToCart(alice, mug.id, 2);
    const placed = await shop.placeOrder(alice);
    assert.equal(placed.status, 201, JSON.stringify(placed.body));

    const theirList = await asUser(ALICE, '/api/orders');
    const theirGet = await asUser(ALICE, `/api/orders/${String(placed.body['id'])}`);
    const ownList = await asUser(alice, '/api/orders');

    assert.deepEqual(theirList.body['orders'], []);
    assert.equal(theirGet.status, 404);
    assert.equal((ownList.body['orders'] as unknown[]).length, 1);
  });

  it('then the same Idempotency-Key places two orders, one for each', async () => {
    const [alice, ALICE] = sameShardPair();
    const key = randomUUID();
    await shop.addToCart(alice, mug.id, 1);
    await shop.addToCart(ALICE, mug.id, 3);

    const first = await shop.placeOrder(alice, key);
    const second = await shop.placeOrder(ALICE, key);

    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.notEqual(second.body['id'], first.body['id']);
    assert.equal(second.body['totalCents'], 3 * mug.priceCents);
  });

  it('then Idempotency-Keys that differ only in case are two keys', async () => {
    const user = `bob-${randomUUID().slice(0, 8)}`;
    const key = `Key-${randomUUID()}`;
    await shop.addToCart(user, mug.id, 1);
    const first = await shop.placeOrder(user, key);
    await shop.addToCart(user, mug.id, 2);

    const second = await shop.placeOrder(user, key.toLowerCase());

    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.notEqual(second.body['id'], first.body['id']);
  });
});
