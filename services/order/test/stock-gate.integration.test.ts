import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { localTopology, redisUrl } from '@mela/topology';
import { Redis } from 'ioredis';
import { RedisStockGate } from '../src/adapters/stock.gate.js';

describe('the stock gate on a real Redis', () => {
  const prefix = `test:gate:${randomBytes(4).toString('hex')}:`;
  const ledger = new Map<string, number>([
    ['1', 5],
    ['2', 1],
    ['3', 3],
  ]);
  const ledgerReads: string[] = [];
  let redis: Redis;
  let gate: RedisStockGate;
  const alice = (key: string) => ({ userId: 'alice', key });
  const units = async (id: string) => {
    const value = await redis.get(`${prefix}${id}`);
    return value === null ? undefined : Number(value);
  };

  before(() => {
    redis = new Redis(redisUrl(localTopology()));
    gate = new RedisStockGate({
      redis,
      keyPrefix: prefix,
      ttlSeconds: 60,
      attemptsKeptMs: 3_600_000,
      stockOf: (id) => {
        ledgerReads.push(id);
        return Promise.resolve(ledger.get(id));
      },
    });
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('when a cart of several lines passes, then each counter starts from the ledger once and every line is taken', async () => {
    const taken = await gate.take(
      [
        { productId: '1', quantity: 2 },
        { productId: '3', quantity: 1 },
      ],
      alice('key-1'),
    );

    assert.equal(taken, 'ok');
    assert.deepEqual([await units('1'), await units('3')], [3, 2]);
    assert.deepEqual(ledgerReads.sort(), ['1', '3']);
  });

  it('when one line has too few units, then no line is taken and that line is named', async () => {
    const taken = await gate.take(
      [
        { productId: '1', quantity: 1 },
        { productId: '2', quantity: 2 },
        { productId: '3', quantity: 1 },
      ],
      alice('key-2'),
    );

    assert.deepEqual(taken, { soldOut: '2', tookBefore: false });
    assert.deepEqual([await units('1'), await units('2'), await units('3')], [3, 1, 2]);
  });

  it('when a product is not in the ledger, then the gate says it is unknown and no counter is invented', async () => {
    assert.deepEqual(await gate.take([{ productId: '404', quantity: 1 }], alice('key-3')), {
      unknown: '404',
    });
    assert.equal(await units('404'), undefined);
  });

  it('when Redis has forgotten the script (a restart, SCRIPT FLUSH), then the gate sends it again', async () => {
    await redis.script('FLUSH');

    assert.equal(await gate.take([{ productId: '3', quantity: 2 }], alice('key-4')), 'ok');
    assert.equal(await units('3'), 0);
  });

  it('when an attempt that took units asks again once too few are left, then the gate says it took before (it may be a replay); anyone else is plainly sold out', async () => {
    // Product 3 has no units left (the test before took the last two).
    assert.deepEqual(await gate.take([{ productId: '3', quantity: 1 }], alice('key-4')), {
      soldOut: '3',
      tookBefore: true,
    });
    assert.deepEqual(
      await gate.take([{ productId: '3', quantity: 1 }], { userId: 'bob', key: 'key-4' }),
      { soldOut: '3', tookBefore: false },
      'the same key of another user is another attempt',
    );
    const records = await redis.keys(`${prefix}attempt:*`);
    assert.equal(records.length, 2, 'one record per attempt that took units (key-1, key-4)');
    assert.ok(
      records.every((r) => !r.includes('alice')),
      'no user id spelled out',
    );
    const ttl = await redis.pttl(records[0] ?? '');
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `kept as long as the key (${String(ttl)} ms)`);
  });

  it('when units are given back, then only counters that exist grow', async () => {
    await gate.giveBack([
      { productId: '3', quantity: 2 },
      { productId: '405', quantity: 7 },
    ]);

    assert.equal(await units('3'), 2);
    assert.equal(await units('405'), undefined);
  });
});
