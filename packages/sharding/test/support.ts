import { localTopology, type MysqlInstance } from '@mela/topology';
import { scratchDatabase, shardServer } from '@mela/schema';
import {
  parseShardMap,
  parseVSchema,
  rangeFor,
  parseShardSet,
  xxhashVindex,
  type ShardMap,
  type VSchema,
} from '../src/index.js';

export const topology = localTopology();

/** The MariaDB servers a test may spread its shards over. */
export const servers = {
  commerce: shardServer('commerce', 0, topology),
  customerA: shardServer('customer', 0, topology),
  customerB: shardServer('customer', 1, topology),
};

/** A database of its own on a real MariaDB server with these tables, dropped by `drop()`. */
export function createDatabase(server: MysqlInstance, prefix: string, ddl: readonly string[] = []) {
  return scratchDatabase(server, { prefix, statements: ddl, topology });
}

/** A small VSchema like Mela's: commerce unsharded with a sequence, customer sharded by user. */
export const testVSchemaJson = {
  keyspaces: {
    commerce: { sharded: false, tables: { order_seq: { type: 'sequence' } } },
    customer: {
      sharded: true,
      vindexes: {
        xxhash: { type: 'xxhash' },
        hash: { type: 'hash' },
        order_lookup: {
          type: 'lookup_unique',
          params: { table: 'customer.order_lookup', from: 'order_id', to: 'keyspace_id' },
          owner: 'orders',
        },
      },
      tables: {
        orders: {
          column_vindexes: [
            { column: 'user_id', name: 'xxhash' },
            { column: 'id', name: 'order_lookup' },
          ],
          auto_increment: { column: 'id', sequence: 'commerce.order_seq' },
        },
        order_lookup: { column_vindexes: [{ column: 'order_id', name: 'hash' }] },
      },
    },
  },
};

export const testVSchema: VSchema = parseVSchema(testVSchemaJson);

export const customerDdl = [
  `CREATE TABLE orders (
     id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
     user_id VARCHAR(64) NOT NULL,
     total_cents INT NOT NULL,
     created_at DATETIME(3) NOT NULL,
     KEY by_user (user_id, created_at)
   ) ENGINE=InnoDB`,
  `CREATE TABLE order_lookup (order_id BIGINT UNSIGNED NOT NULL PRIMARY KEY, keyspace_id VARBINARY(8) NOT NULL) ENGINE=InnoDB`,
];

export const commerceDdl = [
  `CREATE TABLE order_seq (id INT UNSIGNED NOT NULL PRIMARY KEY, next_id BIGINT UNSIGNED NOT NULL, cache BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB`,
  `INSERT INTO order_seq VALUES (0, 1, 10)`,
];

/** Test databases for commerce/0 and customer/-80, customer/80- on two servers, and the map. */
export async function createTestKeyspaces(prefix: string) {
  const commerce = await createDatabase(servers.commerce, prefix, commerceDdl);
  const low = await createDatabase(servers.customerA, prefix, customerDdl);
  const high = await createDatabase(servers.customerB, prefix, customerDdl);
  const shardMap: ShardMap = parseShardMap(
    { commerce: { '0': commerce.url }, customer: { '-80': low.url, '80-': high.url } },
    testVSchema,
  );
  return {
    shardMap,
    databases: { commerce, low, high },
    drop: () => Promise.all([commerce.drop(), low.drop(), high.drop()]),
  };
}

/** User ids whose xxhash keyspace ID lands on the given shard of `-80,80-`. */
export function usersOn(shard: '-80' | '80-', count: number, prefix = 'user'): string[] {
  const ranges = parseShardSet(['-80', '80-']);
  const users: string[] = [];
  for (let i = 0; users.length < count; i += 1) {
    const id = `${prefix}-${i}`;
    if (rangeFor(ranges, xxhashVindex.keyspaceId(id)).name === shard) users.push(id);
  }
  return users;
}
