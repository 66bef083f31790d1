import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cartRedisUrl, localTopology, redisUrl } from '@mela/topology';
import { Redis } from 'ioredis';
import { redisArguments } from '../src/index.js';

/** `--flag value` pairs of redis-server's arguments. */
function flags(args: readonly string[]): Map<string, string> {
  const pairs = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) pairs.set(String(args[i]), String(args[i + 1]));
  return pairs;
}

describe('the two local Redis servers', () => {
  const topology = localTopology();

  it('when the cache fills up, then it evicts; the carts never evict and log every write before acknowledging it; both need the password', () => {
    const cache = flags(redisArguments(topology, 'cache', '/d'));
    const carts = flags(redisArguments(topology, 'carts', '/d'));

    assert.equal(cache.get('--maxmemory-policy'), 'allkeys-lru');
    assert.equal(cache.get('--appendonly'), 'no');
    assert.equal(carts.get('--maxmemory-policy'), 'noeviction');
    assert.equal(carts.get('--appendonly'), 'yes');
    assert.equal(carts.get('--appendfsync'), 'always');
    assert.equal(cache.get('--requirepass'), topology.redis.password);
    assert.equal(carts.get('--requirepass'), topology.redis.password);
    assert.notEqual(cache.get('--port'), carts.get('--port'));
  });

  it('when the stack is up, then each server runs its role, and a client without the password is refused', async () => {
    const cache = new Redis(redisUrl(topology), { maxRetriesPerRequest: 1 });
    const carts = new Redis(cartRedisUrl(topology), { maxRetriesPerRequest: 1 });
    // No password, and no ready check of its own (which the server would refuse first).
    const anonymous = new Redis(topology.redis.port, topology.host, {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      enableReadyCheck: false,
      retryStrategy: () => null,
    });
    anonymous.on('error', () => undefined);
    try {
      assert.deepEqual(await cache.config('GET', 'maxmemory-policy'), [
        'maxmemory-policy',
        'allkeys-lru',
      ]);
      assert.deepEqual(await carts.config('GET', 'maxmemory-policy'), [
        'maxmemory-policy',
        'noeviction',
      ]);
      assert.deepEqual(await carts.config('GET', 'appendfsync'), ['appendfsync', 'always']);
      await anonymous.connect();
      await assert.rejects(anonymous.get('anything'), /NOAUTH/);
    } finally {
      cache.disconnect();
      carts.disconnect();
      anonymous.disconnect();
    }
  });
});
