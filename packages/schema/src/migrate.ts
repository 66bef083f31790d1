import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2';
import type { Connection } from 'mysql2/promise';

/** The migrations shipped with this package, one folder per keyspace. */
export const migrationsRoot = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'migrations',
);

/** One migration file: `NNNN_description.sql`, applied in version order. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads and orders a keyspace's migrations; rejects badly named files and duplicate versions. */
export async function readMigrations(directory: string): Promise<Migration[]> {
  let files: string[];
  try {
    files = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const migrations: Migration[] = [];
  for (const file of files.filter((f) => f.endsWith('.sql')).sort()) {
    const match = fileName.exec(file);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new Error(`migration ${file} is not named NNNN_description.sql`);
    }
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) {
      throw new Error(`two migrations have version ${match[1]} in ${directory}`);
    }
    const sql = await readFile(join(directory, file), 'utf8');
    migrations.push({
      version,
      name: match[2],
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

/** What {@link migrate} did on one database. */
export interface MigrationReport {
  readonly applied: readonly number[];
  readonly alreadyApplied: readonly number[];
}

/**
 * Applies the pending migrations, in order, to the connection's current database, recording
 * each in `schema_migrations`. A migration already applied whose file has since changed is an
 * error: history is never rewritten silently. A session lock (`GET_LOCK`) keeps concurrent
 * runners from racing; `lock: false` leaves it out where a session lock cannot hold — through a
 * shard-targeted vtgate session each statement may reach another pooled tablet connection — and
 * one runner is guaranteed otherwise (a Kubernetes Job runs one pod at a time).
 */
export async function migrate(
  connection: Connection,
  migrations: readonly Migration[],
  options: { readonly lock?: boolean } = {},
): Promise<MigrationReport> {
  await connection.query(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version INT UNSIGNED NOT NULL PRIMARY KEY,
       name VARCHAR(200) NOT NULL,
       checksum CHAR(64) NOT NULL,
       applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
     ) ENGINE=InnoDB`,
  );
  const [[database]] = await connection.query<({ name: string | null } & RowDataPacket)[]>(
    'SELECT DATABASE() AS name',
  );
  const lockName = `mela_migrate_${database?.name ?? ''}`;
  const locking = options.lock ?? true;
  if (locking) {
    const [[lock]] = await connection.query<({ got: number | null } & RowDataPacket)[]>(
      'SELECT GET_LOCK(?, 60) AS got',
      [lockName],
    );
    if (lock?.got !== 1) throw new Error(`could not take the migration lock ${lockName}`);
  }
  try {
    const [rows] = await connection.query<
      ({ version: number; checksum: string } & RowDataPacket)[]
    >('SELECT version, checksum FROM schema_migrations');
    const done = new Map(rows.map((row) => [row.version, row.checksum]));
    const applied: number[] = [];
    const alreadyApplied: number[] = [];
    for (const migration of migrations) {
      const checksum = done.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.version} (${migration.name}) was changed after it was applied`,
          );
        }
        alreadyApplied.push(migration.version);
        continue;
      }
      // DDL commits implicitly in MySQL, so each statement runs on its own and the version is
      // recorded last: a failed migration is retried whole on the next run.
      for (const statement of splitStatements(migration.sql)) await connection.query(statement);
      await connection.query(
        'INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)',
        [migration.version, migration.name, migration.checksum],
      );
      applied.push(migration.version);
    }
    return { applied, alreadyApplied };
  } finally {
    if (locking) await connection.query('SELECT RELEASE_LOCK(?)', [lockName]);
  }
}

/** Splits a migration into statements at semicolons that end a line, skipping `--` comments. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}
