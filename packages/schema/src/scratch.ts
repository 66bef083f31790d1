import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { localTopology, mysqlUrl, type LocalTopology, type MysqlInstance } from '@mela/topology';
import { createConnection } from 'mysql2/promise';
import { migrate, migrationsRoot, readMigrations } from './migrate.js';

/** A database of a test's (or a benchmark's) own on a real MariaDB server. */
export interface ScratchDatabase {
  readonly name: string;
  /** Its connection URL (the server's user). */
  readonly url: string;
  drop(): Promise<void>;
}

export interface ScratchOptions {
  /** The name starts with it; a random suffix follows (`<prefix>_<8 hex>`). */
  readonly prefix: string;
  /** The exact name instead (the same database on several servers). */
  readonly name?: string;
  /** Applies this keyspace's migrations (`commerce`, `customer`). */
  readonly keyspace?: string;
  /** Then runs these statements. */
  readonly statements?: readonly string[];
  readonly topology?: LocalTopology;
}

/**
 * Creates a database on one local MariaDB server, migrated as a keyspace's shard or set up by
 * the given statements, so a test never shares rows with another; `drop()` removes it.
 */
export async function scratchDatabase(
  server: MysqlInstance,
  options: ScratchOptions,
): Promise<ScratchDatabase> {
  const topology = options.topology ?? localTopology();
  const name = options.name ?? `${options.prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({ uri: mysqlUrl(topology, server) });
  try {
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.changeUser({ database: name });
    if (options.keyspace !== undefined)
      await migrate(admin, await readMigrations(join(migrationsRoot, options.keyspace)));
    for (const statement of options.statements ?? []) await admin.query(statement);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: mysqlUrl(topology, server, name),
    async drop() {
      const conn = await createConnection({ uri: mysqlUrl(topology, server) });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``).finally(() => conn.end());
    },
  };
}

/** The local topology's server of a keyspace's `index`-th shard. */
export function shardServer(
  keyspace: string,
  index = 0,
  topology: LocalTopology = localTopology(),
): MysqlInstance {
  const server = topology.mysql.instances.filter((i) => i.keyspace === keyspace)[index];
  if (!server)
    throw new Error(`no server for ${keyspace} shard #${String(index)} in the local topology`);
  return server;
}
