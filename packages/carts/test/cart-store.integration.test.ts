import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cartRedisUrl, localTopology } from '@mela/topology';
import { Redis } from 'ioredis';
import { RedisCartStore } from '../src/index.js';

describe('carts in the carts’ Redis (real Redis)', () => {
  const prefix = `test:carts:${randomBytes(4).toString('hex')}:`;
  const limits = { maxItems: 3, maxQuantity: 5 };
  let redis: Redis;
  let store: RedisCartStore;

  before(() => {
    redis = new Redis(cartRedisUrl(localTopology()));
    store = new RedisCartStore(redis, { keyPrefix: prefix, ttlSeconds: 600 });
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('when a shopper adds and sets quantities, then another store over the same prefix (the order service’s) reads the same cart, and clears it', async () => {
    assert.equal(await store.change('alice', '7', 2, 'add', limits), 2);
    assert.equal(await store.change('alice', '7', 1, 'add', limits), 3);
    assert.equal(await store.change('alice', '12', 1, 'add', limits), 1);
    assert.ok((await redis.ttl(`${prefix}user:alice`)) > 590, 'a change renews the cart’s life');

    const checkout = new RedisCartStore(redis, { keyPrefix: prefix });
    assert.deepEqual(
      await checkout.quantities('alice'),
      new Map([
        ['7', 3],
        ['12', 1],
      ]),
    );
    await checkout.clear('alice');
    assert.deepEqual(await store.quantities('alice'), new Map());
  });

  it('when user ids differ only in case, then they are two carts', async () => {
    await store.change('bob', '7', 1, 'add', limits);
    assert.deepEqual(await store.quantities('BOB'), new Map());
    assert.deepEqual(await store.quantities('bob'), new Map([['7', 1]]));
  });

  it('when a change would pass the limits, then it is refused and the cart is unchanged', async () => {
    await store.change('carol', '1', 5, 'add', limits);
    assert.equal(await store.change('carol', '1', 1, 'add', limits), 'quantity_limit');
    await store.change('carol', '2', 1, 'add', limits);
    await store.change('carol', '3', 1, 'add', limits);
    assert.equal(await store.change('carol', '4', 1, 'add', limits), 'too_many_items');
    assert.equal(await store.change('carol', '9', 1, 'set', limits), 'not_in_cart');
    assert.equal((await store.quantities('carol')).size, 3);
  });
});
