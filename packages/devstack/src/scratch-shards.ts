import { randomBytes } from 'node:crypto';
import { scratchDatabase, type ScratchDatabase } from '@mela/schema';
import { localTopology, type LocalTopology } from '@mela/topology';

/** Databases of the test's own on every local shard server, migrated per keyspace. */
export interface TestShards {
  /** `SHARD_MAP` JSON pointing every keyspace's shards at the test's databases. */
  readonly shardMap: string;
  /** The database name used on every server. */
  readonly database: string;
  /** A connection URL to one keyspace's shard (`0`, `-80`, `80-`). */
  url(keyspace: string, shard: string): string;
  /** Drops the databases. */
  drop(): Promise<void>;
}

/**
 * Creates `t_<label>_<random>` on each MariaDB instance of the local topology and applies
 * that keyspace's migrations, so a test never shares rows with another.
 */
export async function createTestShards(
  label: string,
  topology: LocalTopology = localTopology(),
): Promise<TestShards> {
  const database = `t_${label}_${randomBytes(4).toString('hex')}`;
  const map: Record<string, Record<string, string>> = {};
  const created: ScratchDatabase[] = [];
  for (const instance of topology.mysql.instances) {
    const scratch = await scratchDatabase(instance, {
      prefix: database,
      name: database,
      keyspace: instance.keyspace,
      topology,
    });
    created.push(scratch);
    map[instance.keyspace] = { ...map[instance.keyspace], [instance.shard]: scratch.url };
  }
  return {
    shardMap: JSON.stringify(map),
    database,
    url(keyspace, shard) {
      const url = map[keyspace]?.[shard];
      if (!url) throw new Error(`no shard ${keyspace}/${shard}`);
      return url;
    },
    async drop() {
      for (const scratch of created) await scratch.drop();
    },
  };
}
