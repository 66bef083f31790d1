import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import {
  ReshardingInProgressError,
  ShardRouter,
  dropOldShards,
  keyRangeContains,
  parseShardMap,
  reshard,
  xxhashVindex,
  type ReshardReport,
} from '../src/index.js';
import { createDatabase, createTestKeyspaces, servers, testVSchema } from './support.js';

interface Order {
  readonly id: string;
  readonly user: string;
  total: number;
}

/**
 * Reshards customer from -80,80- to -40,40-80,80-c0,c0- on real MariaDB servers while a writer
 * keeps inserting, updating and deleting through the router, as a service would.
 */
describe('resharding 2 → 4 shards under a live writer', () => {
  let keyspaces: Awaited<ReturnType<typeof createTestKeyspaces>>;
  let targets: Awaited<ReturnType<typeof createDatabase>>[];
  let router: ShardRouter;
  const acknowledged = new Map<string, Order>();
  let refused = 0;
  let report: ReshardReport;

  before(async () => {
    keyspaces = await createTestKeyspaces('t_reshard');
    targets = [
      await createDatabase(servers.customerA, 't_reshard_m40'),
      await createDatabase(servers.customerA, 't_reshard_40m80'),
      await createDatabase(servers.customerB, 't_reshard_80mc0'),
      await createDatabase(servers.customerB, 't_reshard_c0m'),
    ];
    router = new ShardRouter({
      vschema: testVSchema,
      shardMap: keyspaces.shardMap,
      registry: new Registry(),
    });
  });
  after(async () => {
    await router.close();
    await keyspaces.drop();
    await Promise.all(targets.map((t) => t.drop()));
  });

  /** One write through the router; a write refused during the cut-over is retried like a client would. */
  async function write(action: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await action();
        return;
      } catch (error) {
        if (!(error instanceof ReshardingInProgressError) || attempt > 200) throw error;
        refused += 1;
        await delay(20);
      }
    }
  }

  async function insert(n: number): Promise<void> {
    const id = await router.autoIncrement('customer', 'orders').next();
    const order = { id, user: `shopper-${n % 97}`, total: n };
    await write(async () => {
      await router.execute(
        { keyspace: 'customer', table: 'orders', key: order.user },
        'INSERT INTO orders (id, user_id, total_cents, created_at) VALUES (?, ?, ?, NOW(3))',
        [id, order.user, order.total],
      );
    });
    acknowledged.set(id, order);
  }

  it('then every acknowledged row is on exactly the shard its keyspace ID names, verified and nothing lost', async (t) => {
    for (let n = 0; n < 1500; n += 1) await insert(n);

    const state = { writing: true };
    let next = 1500;
    const inserters = [1, 2, 3].map(async () => {
      while (state.writing) {
        next += 1;
        await insert(next);
      }
    });
    const writer = (async () => {
      while (state.writing) {
        next += 1;
        const n = next;
        await insert(n);
        const all = [...acknowledged.values()];
        const victim = all[(n * 7919) % all.length];
        if (victim && n % 3 === 0) {
          const total = victim.total + 1;
          await write(async () => {
            await router.execute(
              { keyspace: 'customer', table: 'orders', key: victim.user },
              'UPDATE orders SET total_cents = ? WHERE id = ?',
              [total, victim.id],
            );
          });
          victim.total = total;
        } else if (victim && n % 11 === 0) {
          await write(async () => {
            await router.execute(
              { keyspace: 'customer', table: 'orders', key: victim.user },
              'DELETE FROM orders WHERE id = ?',
              [victim.id],
            );
          });
          acknowledged.delete(victim.id);
        }
      }
    })();

    const target =
      parseShardMap(
        {
          commerce: { '0': keyspaces.databases.commerce.url },
          customer: {
            '-40': targets[0]?.url ?? '',
            '40-80': targets[1]?.url ?? '',
            '80-c0': targets[2]?.url ?? '',
            'c0-': targets[3]?.url ?? '',
          },
        },
        testVSchema,
      ).get('customer') ?? [];
    const writesBefore = acknowledged.size;
    report = await reshard({
      vschema: testVSchema,
      keyspace: 'customer',
      source: router.shards('customer'),
      target,
      batchSize: 200,
      switchRouting: (shards) => router.switchShards('customer', shards),
    });
    // Keep writing on the new shards for a moment, then stop.
    const afterSwitch = acknowledged.size;
    while (acknowledged.size < afterSwitch + 50) await delay(5);
    state.writing = false;
    await Promise.all([writer, ...inserters]);

    t.diagnostic(
      `${acknowledged.size - writesBefore} writes during the move, ${refused} refused and retried at the cut-over (${report.cutoverMs} ms)`,
    );
    assert.ok(acknowledged.size > writesBefore, 'the writer kept writing during the move');
    assert.deepEqual(
      router.shards('customer').map((s) => s.name),
      ['-40', '40-80', '80-c0', 'c0-'],
    );
    assert.deepEqual(report.to, ['-40', '40-80', '80-c0', 'c0-']);
    assert.deepEqual(
      report.verified.map((d) => `${d.table}@${d.shard}`),
      [
        'orders@-40',
        'orders@40-80',
        'orders@80-c0',
        'orders@c0-',
        'order_lookup@-40',
        'order_lookup@40-80',
        'order_lookup@80-c0',
        'order_lookup@c0-',
      ],
    );

    const found = new Map<string, Order>();
    for (const shard of router.shards('customer')) {
      const conn = await createConnection({
        uri: shard.url,
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT id, user_id, total_cents FROM orders',
      );
      await conn.end();
      for (const row of rows) {
        const id = String(row['id']);
        assert.ok(!found.has(id), `order ${id} is on two shards`);
        assert.ok(
          keyRangeContains(shard, xxhashVindex.keyspaceId(String(row['user_id']))),
          `order ${id} is misplaced on ${shard.name}`,
        );
        found.set(id, { id, user: String(row['user_id']), total: Number(row['total_cents']) });
      }
    }
    assert.equal(found.size, acknowledged.size, 'no acknowledged order lost, none resurrected');
    for (const [id, order] of acknowledged) assert.deepEqual(found.get(id), order, `order ${id}`);
    const verifiedAtCutover = report.verified
      .filter((d) => d.table === 'orders')
      .reduce((n, d) => n + d.rows, 0);
    assert.ok(verifiedAtCutover > writesBefore && verifiedAtCutover <= found.size);
  });

  it('then the old shards refuse writes until they are dropped', async () => {
    const [old] = keyspaces.shardMap.get('customer') ?? [];
    assert.ok(old);
    const conn = await createConnection({ uri: old.url });
    await assert.rejects(
      conn.query("INSERT INTO orders VALUES (1, 'late', 1, NOW(3))"),
      /mela_resharding/,
    );
    await conn.end();

    await dropOldShards(testVSchema, 'customer', keyspaces.shardMap.get('customer') ?? []);
    const again = await createConnection({ uri: old.url });
    const [tables] = await again.query<RowDataPacket[]>('SHOW TABLES');
    await again.end();
    assert.deepEqual(tables, []);
  });
});
