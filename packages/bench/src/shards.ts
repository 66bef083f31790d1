import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { loadShardingConfig, openShardedDatabase, type ShardedDatabase } from '@mela/sharding';
import { createTestShards } from '@mela/devstack';
import { inParallel } from './parallel.js';
import { figuresOf, type RunFigures } from './stats.js';

const users = 2000;
const ordersPerUser = 3;

/**
 * A single-shard query against a scatter query on the customer keyspace through the router,
 * on databases of its own filled with 6,000 orders of 2,000 users: a user's latest orders
 * routed by the user's key to one shard, against the same query sent to every shard and merged.
 * `connections` queries at a time, timed per query.
 */
export async function benchScatter(options: {
  readonly connections: number;
  readonly say: (line: string) => void;
}): Promise<{
  readonly single: (seconds: number) => Promise<RunFigures>;
  readonly scatter: (seconds: number) => Promise<RunFigures>;
  readonly close: () => Promise<void>;
}> {
  const shards = await createTestShards('bench_scatter');
  const db = openShardedDatabase(
    loadShardingConfig({ SHARD_MAP: shards.shardMap, MYSQL_POOL_SIZE: '8' }),
    new Registry(),
  );
  options.say(
    `filling the customer shards: ${String(users * ordersPerUser)} orders of ${String(users)} users`,
  );
  const rows = Array.from({ length: users * ordersPerUser }, (_, i) => ({
    id: i + 1,
    user: `user-${String(i % users)}`,
  }));
  await inParallel(rows, 16, (row) =>
    db.execute(
      { keyspace: 'customer', table: 'orders', key: row.user },
      `INSERT INTO orders (id, user_id, status, total_cents, currency, payment_id, payment_method,
                           shipping_address, contact, created_at)
       VALUES (?, ?, 'confirmed', 99900, 'INR', ?, 'upi', '{}', '{}',
               UTC_TIMESTAMP(3) - INTERVAL ? SECOND)`,
      [row.id, row.user, randomUUID(), row.id],
    ),
  );
  let next = 0;
  const single = (database: ShardedDatabase) => {
    const user = `user-${String(next++ % users)}`;
    return database.execute(
      { keyspace: 'customer', table: 'orders', key: user },
      'SELECT id, status, total_cents, created_at FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT 20',
      [user],
    );
  };
  // The same indexed query, sent to every shard as if the router did not know the user's
  // shard (a column without a vindex): the difference is the fan-out and the merge alone.
  const scatter = (database: ShardedDatabase) => {
    const user = `user-${String(next++ % users)}`;
    return database.scatter(
      'customer',
      'SELECT id, status, total_cents, created_at FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT 20',
      [user],
      { orderBy: [{ column: 'id', desc: true }], limit: 20 },
    );
  };
  const timed =
    (query: (database: ShardedDatabase) => Promise<unknown>) => async (seconds: number) => {
      const samples: number[] = [];
      let errors = 0;
      const deadline = performance.now() + seconds * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: options.connections }, async () => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            try {
              await query(db);
              samples.push(performance.now() - t0);
            } catch {
              errors += 1;
            }
          }
        }),
      );
      return figuresOf(samples, (performance.now() - started) / 1000, errors);
    };
  return {
    single: timed(single),
    scatter: timed(scatter),
    async close() {
      await db.close();
      await shards.drop();
    },
  };
}
