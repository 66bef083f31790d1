#!/usr/bin/env node
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { createConnection, type Connection } from 'mysql2/promise';
import { migrate, migrationsRoot, readMigrations } from './migrate.js';

/**
 * `mela-migrate`: applies each keyspace's migrations to every shard of the shard map
 * (`SHARD_MAP`, or the file `SHARD_MAP_FILE`: `{"keyspace": {"shard": "mysql://…"}}`) — what the
 * Kubernetes schema Job runs. Waits up to `MIGRATE_WAIT_SECONDS` (default 120) for each shard to
 * accept connections; safe to run again (applied migrations are skipped, changed ones refused).
 * `MIGRATE_LOCK=false` skips the session lock (through Vitess's vtgate, where the Job is the one
 * runner and a session lock would not hold; see {@link migrate}).
 */
function shardMap(): Record<string, Record<string, string>> {
  const inline = process.env['SHARD_MAP'];
  const file = process.env['SHARD_MAP_FILE'];
  const raw = inline ? inline : file ? readFileSync(file, 'utf8') : undefined;
  if (raw === undefined) throw new Error('set SHARD_MAP or SHARD_MAP_FILE');
  return JSON.parse(raw) as Record<string, Record<string, string>>;
}

async function connect(uri: string, deadline: number): Promise<Connection> {
  for (;;) {
    try {
      return await createConnection({ uri, multipleStatements: false });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(2000);
    }
  }
}

async function main(): Promise<void> {
  const waitSeconds = Number(process.env['MIGRATE_WAIT_SECONDS'] ?? '120');
  const deadline = Date.now() + waitSeconds * 1000;
  const lock = process.env['MIGRATE_LOCK'] !== 'false';
  for (const [keyspace, shards] of Object.entries(shardMap())) {
    const migrations = await readMigrations(join(migrationsRoot, keyspace));
    for (const [shard, uri] of Object.entries(shards)) {
      const connection = await connect(uri, deadline);
      try {
        const report = await migrate(connection, migrations, { lock });
        process.stdout.write(
          `${keyspace}/${shard}: ${report.applied.length > 0 ? `applied ${report.applied.join(', ')}` : 'up to date'}\n`,
        );
      } finally {
        await connection.end();
      }
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`mela-migrate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
