import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blackHole } from '@mela/testkit';
import { Registry } from 'prom-client';
import { createConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import {
  CrossShardTransactionError,
  ShardRouter,
  ShardUnavailableError,
  affectedRows,
  keyspaceIdHex,
  parseShardMap,
  rangeFor,
  rowsOf,
  xxhashVindex,
  type Row,
} from '../src/index.js';
import { createTestKeyspaces, testVSchema, usersOn } from './support.js';

async function count(registry: Registry, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric('shard_queries_total')?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('routing over real MariaDB shards', () => {
  let keyspaces: Awaited<ReturnType<typeof createTestKeyspaces>>;
  let router: ShardRouter;
  const registry = new Registry();
  const users = [...usersOn('-80', 20), ...usersOn('80-', 20)];

  before(async () => {
    keyspaces = await createTestKeyspaces('t_route');
    router = new ShardRouter({ vschema: testVSchema, shardMap: keyspaces.shardMap, registry });
    let n = 0;
    for (const user of users) {
      for (let i = 0; i < 3; i += 1) {
        n += 1;
        await router.execute(
          { keyspace: 'customer', table: 'orders', key: user },
          'INSERT INTO orders (id, user_id, total_cents, created_at) VALUES (?, ?, ?, ?)',
          [
            n,
            user,
            n * 100,
            new Date(Date.UTC(2026, 10, 1, 0, 0, n)).toISOString().slice(0, 23).replace('T', ' '),
          ],
        );
      }
    }
  });
  after(async () => {
    await router.close();
    await keyspaces.drop();
  });

  it('when rows are written by user, then each lands on exactly the shard its keyspace ID names', async () => {
    const ranges = router.shards('customer');
    for (const [shard, db] of [
      ['-80', keyspaces.databases.low],
      ['80-', keyspaces.databases.high],
    ] as const) {
      const conn = await createConnection({ uri: db.url });
      const [rows] = await conn.query<RowDataPacket[]>('SELECT DISTINCT user_id FROM orders');
      await conn.end();
      assert.ok(rows.length > 0);
      for (const row of rows) {
        const ksid = xxhashVindex.keyspaceId(String(row['user_id']));
        assert.equal(
          rangeFor(ranges, ksid).name,
          shard,
          `${String(row['user_id'])} (${keyspaceIdHex(ksid)})`,
        );
      }
    }
  });

  it("when a user's orders are read, then only that user's shard is asked", async () => {
    const user = usersOn('80-', 1)[0] ?? '';
    const before = await count(registry, { shard: '-80' });

    const rows = await router.execute(
      { keyspace: 'customer', table: 'orders', key: user },
      'SELECT id FROM orders WHERE user_id = ? ORDER BY id',
      [user],
    );

    assert.equal(rows.length, 3);
    assert.equal(await count(registry, { shard: '-80' }), before);
  });

  it('when an IN list spans users of one shard, then the other shard is not asked', async () => {
    const lowUsers = usersOn('-80', 5);
    const beforeHigh = await count(registry, { shard: '80-' });

    const rows = await router.executeIn<Row>(
      { keyspace: 'customer', table: 'orders' },
      lowUsers,
      (keys) => ({
        sql: 'SELECT user_id, COUNT(*) AS n FROM orders WHERE user_id IN (?) GROUP BY user_id',
        params: [keys],
      }),
    );

    assert.equal(rows.length, 5);
    assert.equal(await count(registry, { shard: '80-' }), beforeHigh);
  });

  it('when an IN list spans both shards, then each shard gets only its own keys', async () => {
    const mixed = [...usersOn('-80', 2), ...usersOn('80-', 2)];
    const seen: string[][] = [];

    const rows = await router.executeIn<Row>(
      { keyspace: 'customer', table: 'orders' },
      mixed,
      (keys) => {
        seen.push(keys.map(String));
        return { sql: 'SELECT DISTINCT user_id FROM orders WHERE user_id IN (?)', params: [keys] };
      },
    );

    assert.equal(rows.length, 4);
    assert.deepEqual(seen.map((keys) => keys.length).sort(), [2, 2]);
  });

  it('when a query spans shards, then scatter-gather merges ORDER BY across shards and applies LIMIT', async () => {
    const rows = await router.scatter<Row>(
      'customer',
      'SELECT id, user_id, created_at FROM orders ORDER BY created_at DESC, id DESC LIMIT 7',
      [],
      {
        orderBy: [
          { column: 'created_at', desc: true },
          { column: 'id', desc: true },
        ],
        limit: 7,
      },
    );

    const everything = await router.scatter<Row>('customer', 'SELECT id FROM orders');
    assert.equal(everything.length, users.length * 3);
    assert.deepEqual(
      rows.map((r) => Number(r['id'])),
      [120, 119, 118, 117, 116, 115, 114],
    );
    assert.ok((await count(registry, { route: 'scatter', shard: '-80' })) > 0);
  });

  it('when a transaction touches a key on another shard, then it is refused and nothing of it is written', async () => {
    const [mine] = usersOn('-80', 1, 'tx');
    const [theirs] = usersOn('80-', 1, 'tx');
    assert.ok(mine && theirs);

    await assert.rejects(
      router.transaction({ keyspace: 'customer', table: 'orders', key: mine }, async (tx) => {
        await tx.execute('INSERT INTO orders VALUES (9001, ?, 1, NOW(3))', [mine], {
          table: 'orders',
          key: mine,
        });
        await tx.execute('INSERT INTO orders VALUES (9002, ?, 1, NOW(3))', [theirs], {
          table: 'orders',
          key: theirs,
        });
      }),
      (error: unknown) =>
        error instanceof CrossShardTransactionError &&
        /transaction on customer\/-80 cannot touch customer\/80-/.test(error.message),
    );

    const left = await router.scatter<Row>(
      'customer',
      'SELECT id FROM orders WHERE id IN (9001, 9002)',
    );
    assert.deepEqual(left, []);
  });

  it('when a transaction stays on its shard, then it commits', async () => {
    const [user] = usersOn('80-', 1, 'tx-ok');
    assert.ok(user);

    const result = await router.transaction(
      { keyspace: 'customer', table: 'orders', key: user },
      (tx) =>
        tx.execute<ResultSetHeader>('INSERT INTO orders VALUES (9100, ?, 5, NOW(3))', [user], {
          table: 'orders',
          key: user,
        }),
    );

    assert.equal(result.affectedRows, 1);
    const rows = await router.execute(
      { keyspace: 'customer', table: 'orders', key: user },
      'SELECT id FROM orders WHERE id = 9100',
    );
    assert.equal(rows.length, 1);
  });

  it('when a transaction inserts a row, then the router writes the lookup entry the row owns, and the row is found by its id alone', async () => {
    const [user] = usersOn('-80', 1, 'owned-lookup');
    assert.ok(user);

    await router.transaction({ keyspace: 'customer', table: 'orders', key: user }, (tx) =>
      tx.insert('orders', { id: 9200, user_id: user, total_cents: 7, created_at: new Date() }),
    );

    const rows = await router.execute(
      { keyspace: 'customer', table: 'orders', column: 'id', key: 9200 },
      'SELECT user_id FROM orders WHERE id = ?',
      [9200],
    );
    assert.equal(rows[0]?.['user_id'], user);
  });

  it('when a transaction inserts a row that lives on another shard, then it is refused and neither the row nor its lookup entry is written', async () => {
    const [mine] = usersOn('-80', 1, 'tx-home');
    const [theirs] = usersOn('80-', 1, 'tx-away');
    assert.ok(mine && theirs);

    await assert.rejects(
      router.transaction({ keyspace: 'customer', table: 'orders', key: mine }, (tx) =>
        tx.insert('orders', { id: 9201, user_id: theirs, total_cents: 7, created_at: new Date() }),
      ),
      CrossShardTransactionError,
    );

    assert.equal(await router.lookupKeyspaceId('customer', 'order_lookup', '9201'), undefined);
    const rows = await router.scatter('customer', 'SELECT id FROM orders WHERE id = 9201');
    assert.deepEqual(rows, []);
  });

  it('when a column name is not a plain identifier, then the insert is refused before any SQL is sent', async () => {
    const [user] = usersOn('-80', 1, 'bad-column');
    assert.ok(user);

    await assert.rejects(
      router.transaction({ keyspace: 'customer', table: 'orders', key: user }, (tx) =>
        tx.insert('orders', { id: 9202, user_id: user, 'total_cents) VALUES (1); --': 1 }),
      ),
      /not a plain SQL identifier/,
    );
    assert.equal(await router.lookupKeyspaceId('customer', 'order_lookup', '9202'), undefined);
  });

  it('when a transaction batches its statements, then they go in one round trip with BEGIN, each answers in order, and the rows it inserts get their lookup entries', async () => {
    const [user] = usersOn('80-', 1, 'batch');
    assert.ok(user);
    const shard = { keyspace: 'customer', shard: '80-', route: 'transaction' };
    const before = await count(registry, shard);

    const results = await router.transaction(
      { keyspace: 'customer', table: 'orders', key: user },
      (tx) =>
        tx.batch([
          {
            insert: 'orders',
            row: { id: 9300, user_id: user, total_cents: 1, created_at: new Date() },
          },
          {
            sql: 'UPDATE orders SET total_cents = total_cents + 1 WHERE id IN (?)',
            params: [[9300, 9301]],
            check: { table: 'orders', key: user },
          },
          { sql: 'SELECT id, total_cents FROM orders WHERE id = ?', params: [9300] },
        ]),
    );

    assert.equal(results.length, 3);
    assert.equal(affectedRows(results[0]), 1);
    assert.equal(affectedRows(results[1]), 1);
    assert.equal(Number(rowsOf(results[2])[0]?.['total_cents']), 2);
    // Two round trips: the batch (BEGIN travelled with it) and the COMMIT. The lookup entry
    // went beside them, through the lookup writer (counted as route "lookup").
    assert.equal((await count(registry, shard)) - before, 2);
    const found = await router.execute(
      { keyspace: 'customer', table: 'orders', column: 'id', key: 9300 },
      'SELECT user_id, total_cents FROM orders WHERE id = ?',
      [9300],
    );
    assert.equal(found[0]?.['user_id'], user);
  });

  it('when a batched statement fails, then the transaction fails and nothing of it is written', async () => {
    const [user] = usersOn('-80', 1, 'batch-fail');
    assert.ok(user);

    await assert.rejects(
      router.transaction({ keyspace: 'customer', table: 'orders', key: user }, (tx) =>
        tx.batch([
          {
            insert: 'orders',
            row: { id: 9310, user_id: user, total_cents: 1, created_at: new Date() },
          },
          { sql: 'INSERT INTO orders VALUES (9310, ?, 1, NOW(3))', params: [user] },
          { sql: 'INSERT INTO orders VALUES (9311, ?, 1, NOW(3))', params: [user] },
        ]),
      ),
      /Duplicate entry/,
    );
    const rows = await router.scatter('customer', 'SELECT id FROM orders WHERE id IN (9310, 9311)');
    assert.deepEqual(rows, []);
  });

  it('when a transaction throws after a batch, then the batch is rolled back', async () => {
    const [user] = usersOn('-80', 1, 'batch-throw');
    assert.ok(user);

    await assert.rejects(
      router.transaction({ keyspace: 'customer', table: 'orders', key: user }, async (tx) => {
        const [inserted] = await tx.batch([
          { sql: 'INSERT INTO orders VALUES (9320, ?, 1, NOW(3))', params: [user] },
        ]);
        assert.equal(affectedRows(inserted), 1);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    const rows = await router.scatter('customer', 'SELECT id FROM orders WHERE id = 9320');
    assert.deepEqual(rows, []);
  });

  it('when a batched statement names a key on another shard, then nothing is sent', async () => {
    const [mine] = usersOn('-80', 1, 'batch-home');
    const [theirs] = usersOn('80-', 1, 'batch-away');
    assert.ok(mine && theirs);
    const before = await count(registry, { keyspace: 'customer' });

    await assert.rejects(
      router.transaction({ keyspace: 'customer', table: 'orders', key: mine }, (tx) =>
        tx.batch([
          {
            insert: 'orders',
            row: { id: 9329, user_id: mine, total_cents: 1, created_at: new Date() },
          },
          { sql: 'INSERT INTO orders VALUES (9330, ?, 1, NOW(3))', params: [mine] },
          {
            sql: 'INSERT INTO orders VALUES (9331, ?, 1, NOW(3))',
            params: [theirs],
            check: { table: 'orders', key: theirs },
          },
        ]),
      ),
      CrossShardTransactionError,
    );
    assert.equal(await count(registry, { keyspace: 'customer' }), before);
    assert.equal(await router.lookupKeyspaceId('customer', 'order_lookup', '9329'), undefined);
  });

  it('when an order id is looked up, then the lookup vindex leads to the owner shard', async () => {
    const [user] = usersOn('80-', 1, 'lookup');
    assert.ok(user);
    const ksid = router.keyspaceIdOf('customer', 'orders', user);
    await router.createLookupEntry('customer', 'order_lookup', '777', ksid);
    await router.execute(
      { keyspace: 'customer', keyspaceId: ksid },
      'INSERT INTO orders VALUES (777, ?, 9, NOW(3))',
      [user],
    );

    const found = await router.lookupKeyspaceId('customer', 'order_lookup', '777');
    assert.ok(found);
    const rows = await router.execute(
      { keyspace: 'customer', keyspaceId: found },
      'SELECT user_id FROM orders WHERE id = 777',
    );

    assert.equal(rows[0]?.['user_id'], user);
    assert.equal(await router.lookupKeyspaceId('customer', 'order_lookup', '778'), undefined);
  });
});

describe('sequences', () => {
  let keyspaces: Awaited<ReturnType<typeof createTestKeyspaces>>;
  before(async () => {
    keyspaces = await createTestKeyspaces('t_seq');
  });
  after(() => keyspaces.drop());

  it('when two processes draw ids concurrently, then every id is unique and blocks are reserved, not rows', async () => {
    const routers = [0, 1].map(
      () =>
        new ShardRouter({
          vschema: testVSchema,
          shardMap: keyspaces.shardMap,
          registry: new Registry(),
        }),
    );
    try {
      const draws = routers.flatMap((router) =>
        Array.from({ length: 300 }, () => router.autoIncrement('customer', 'orders').next()),
      );
      const ids = await Promise.all(draws);

      assert.equal(new Set(ids).size, 600);
      const conn = await createConnection({ uri: keyspaces.databases.commerce.url });
      const [[row]] = await conn.query<RowDataPacket[]>(
        'SELECT next_id FROM order_seq WHERE id = 0',
      );
      await conn.end();
      // 600 ids in blocks of 10: 60 to 62 reservations, never one per id.
      const reserved = Number(row?.['next_id']) - 1;
      assert.ok(reserved >= 600 && reserved <= 620, `reserved ${reserved}`);
    } finally {
      await Promise.all(routers.map((r) => r.close()));
    }
  });
});

describe('a shard that does not answer', () => {
  it('when a scatter reaches a hung shard, then it fails with the shard named within the per-shard timeout', async () => {
    const keyspaces = await createTestKeyspaces('t_hung');
    const hole = await blackHole();
    const { port } = hole;
    const shardMap = parseShardMap(
      {
        commerce: { '0': keyspaces.databases.commerce.url },
        customer: {
          '-80': keyspaces.databases.low.url,
          '80-': `mysql://mela:mela@127.0.0.1:${port}/x`,
        },
      },
      testVSchema,
    );
    const router = new ShardRouter({
      vschema: testVSchema,
      shardMap,
      registry: new Registry(),
      connectTimeoutMs: 400,
    });
    try {
      const started = performance.now();
      await assert.rejects(
        router.scatter('customer', 'SELECT 1', [], { timeoutMs: 400 }),
        (error: unknown) =>
          error instanceof ShardUnavailableError && error.shard === '80-' && error.status === 503,
      );
      assert.ok(performance.now() - started < 3000);

      const [lowUser] = usersOn('-80', 1);
      const rows = await router.execute(
        { keyspace: 'customer', table: 'orders', key: lowUser ?? '' },
        'SELECT COUNT(*) AS n FROM orders',
      );
      assert.equal(Number(rows[0]?.['n']), 0);
    } finally {
      await router.close();
      await hole.close();
      await keyspaces.drop();
    }
  });
});
