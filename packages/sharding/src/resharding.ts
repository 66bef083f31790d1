import { createHash } from 'node:crypto';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { reshardingDenyMessage } from './errors.js';
import { keyRangeContains, keyRangesIntersect, rangeFor, type KeyspaceId } from './keyrange.js';
import { hashVindex } from './vindexes/hash.js';
import type { FunctionalVindex, KeyValue } from './vindexes/vindex.js';
import { xxhashVindex } from './vindexes/xxhash.js';
import type { KeyspaceDefinition, ShardDefinition, VSchema } from './vschema.js';

/** Per-table, per-target-shard row count and order-independent checksum. */
export interface ShardDigest {
  readonly table: string;
  readonly shard: string;
  readonly rows: number;
  readonly checksum: string;
}

export interface ReshardReport {
  readonly keyspace: string;
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly tables: readonly { readonly table: string; readonly copied: number }[];
  /** Changed rows replayed from the change log (catch-up and cut-over passes). */
  readonly replayed: number;
  /** Digests of the new shards, each equal to the old shards' rows in that keyrange. */
  readonly verified: readonly ShardDigest[];
  /** How long writes were refused during the cut-over. */
  readonly cutoverMs: number;
  readonly durationMs: number;
}

export interface ReshardOptions {
  readonly vschema: VSchema;
  readonly keyspace: string;
  /** The serving shards now. */
  readonly source: readonly ShardDefinition[];
  /** The shards to serve from after the cut-over; together they cover the keyspace. */
  readonly target: readonly ShardDefinition[];
  /** Switches routing to `target`; called once the new shards are verified. */
  readonly switchRouting: (target: readonly ShardDefinition[]) => Promise<void> | void;
  /** Rows per copy batch. @default 500 */
  readonly batchSize?: number;
  /** Progress lines. @default none */
  readonly log?: (message: string) => void;
}

/** Resharding stopped before the cut-over; the old shards keep serving, writes resume. */
export class ReshardError extends Error {
  override readonly name: string = 'ReshardError';
}

const changelog = '_mela_reshard_changelog';
const functional: Readonly<Record<string, FunctionalVindex>> = {
  hash: hashVindex,
  xxhash: xxhashVindex,
};

interface TablePlan {
  readonly name: string;
  readonly column: string;
  readonly vindex: FunctionalVindex;
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
}

interface Endpoint {
  readonly shard: ShardDefinition;
  readonly pool: Pool;
}

/**
 * Moves a keyspace from `source` to `target` shards the way Vitess's Reshard workflow does:
 * capture changes on the old shards (triggers into a change log), copy rows by keyrange,
 * catch up, then cut over — refuse writes on the old shards, replay the last changes, verify
 * row counts and checksums per keyrange, and switch routing. The old shards are kept (with
 * writes refused) until {@link dropOldShards}. Writes refused during the cut-over fail with a
 * retryable 503; none that was acknowledged is lost.
 */
export async function reshard(options: ReshardOptions): Promise<ReshardReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const keyspace = options.vschema.keyspaces.get(options.keyspace);
  if (!keyspace?.sharded) throw new ReshardError(`"${options.keyspace}" is not a sharded keyspace`);
  const sources = options.source.map(open);
  const targets = options.target.map(open);
  try {
    const tables = await planTables(keyspace, sources);
    log(
      `resharding ${keyspace.name} ${names(options.source)} → ${names(options.target)}: ${tables.map((t) => t.name).join(', ')}`,
    );

    for (const table of tables) await createOnTargets(table, sources, targets);
    for (const source of sources) await captureChanges(source, tables);

    const copied: { table: string; copied: number }[] = [];
    for (const table of tables) {
      let count = 0;
      for (const source of sources)
        count += await copyTable(table, source, targets, options.batchSize ?? 500);
      copied.push({ table: table.name, copied: count });
      log(`copied ${count} rows of ${table.name}`);
    }

    // Catch up until little is left (or it stops shrinking), so the cut-over pass is short.
    let replayed = 0;
    let previous = Number.POSITIVE_INFINITY;
    const positions = new Map(sources.map((s) => [s, 0]));
    for (let pass = 1; pass <= 20; pass += 1) {
      let applied = 0;
      for (const source of sources) {
        const result = await replayChanges(tables, source, targets, positions.get(source) ?? 0);
        positions.set(source, result.position);
        applied += result.applied;
      }
      replayed += applied;
      log(`catch-up pass ${pass}: ${applied} changed rows`);
      if (applied < 50 || applied >= previous) break;
      previous = applied;
    }

    const cutoverStarted = Date.now();
    for (const source of sources) await denyWrites(source, tables);
    log('writes to the old shards are refused; replaying the last changes');
    try {
      // Change-log ids are taken when a row changes, not when it commits, so the final pass
      // reads the whole log: no change that committed late can be skipped.
      for (const source of sources)
        replayed += (await replayChanges(tables, source, targets, 0)).applied;
      const verified = await verify(tables, sources, targets);
      log(`verified ${verified.length} table/shard digests`);
      await options.switchRouting(options.target);
      const cutoverMs = Date.now() - cutoverStarted;
      log(`routing switched to ${names(options.target)} after ${cutoverMs} ms of refused writes`);
      return {
        keyspace: keyspace.name,
        from: options.source.map((s) => s.name),
        to: options.target.map((s) => s.name),
        tables: copied,
        replayed,
        verified,
        cutoverMs,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      for (const source of sources) await allowWrites(source, tables);
      throw error;
    }
  } finally {
    await Promise.all([...sources, ...targets].map((e) => e.pool.end()));
  }
}

/** Removes the resharded tables, the change log and its triggers from the old shards. */
export async function dropOldShards(
  vschema: VSchema,
  keyspaceName: string,
  shards: readonly ShardDefinition[],
): Promise<void> {
  const keyspace = vschema.keyspaces.get(keyspaceName);
  if (!keyspace) throw new ReshardError(`unknown keyspace "${keyspaceName}"`);
  for (const endpoint of shards.map(open)) {
    try {
      for (const table of keyspace.tables.keys())
        await endpoint.pool.query(`DROP TABLE IF EXISTS \`${table}\``);
      await endpoint.pool.query(`DROP TABLE IF EXISTS ${changelog}`);
    } finally {
      await endpoint.pool.end();
    }
  }
}

function open(shard: ShardDefinition): Endpoint {
  return {
    shard,
    pool: createPool({
      uri: shard.url,
      connectionLimit: 4,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
    }),
  };
}

function names(shards: readonly ShardDefinition[]): string {
  return shards.map((s) => s.name).join(',');
}

async function planTables(
  keyspace: KeyspaceDefinition,
  sources: readonly Endpoint[],
): Promise<TablePlan[]> {
  const [probe] = sources;
  if (!probe) throw new ReshardError('no source shards');
  const plans: TablePlan[] = [];
  for (const table of keyspace.tables.values()) {
    if (table.type !== 'table' || !table.primaryVindex) continue;
    const [columns] = await probe.pool.query<RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name, COLUMN_KEY AS k FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table.name],
    );
    if (columns.length === 0) continue;
    const [keys] = await probe.pool.query<RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
        ORDER BY ORDINAL_POSITION`,
      [table.name],
    );
    if (keys.length === 0)
      throw new ReshardError(
        `table ${table.name} has no primary key; it cannot be resharded safely`,
      );
    const vindexType = keyspace.vindexes.get(table.primaryVindex.vindex)?.type ?? '';
    const vindex = functional[vindexType];
    if (!vindex)
      throw new ReshardError(
        `table ${table.name}: primary vindex ${table.primaryVindex.vindex} is not functional`,
      );
    plans.push({
      name: table.name,
      column: table.primaryVindex.column,
      vindex,
      columns: columns.map((c) => String(c['name'])),
      primaryKey: keys.map((k) => String(k['name'])),
    });
  }
  return plans;
}

async function createOnTargets(
  table: TablePlan,
  sources: readonly Endpoint[],
  targets: readonly Endpoint[],
): Promise<void> {
  const [probe] = sources;
  if (!probe) return;
  const [[row]] = await probe.pool.query<RowDataPacket[]>(`SHOW CREATE TABLE \`${table.name}\``);
  const ddl = String(row?.['Create Table'] ?? '').replace(
    /^CREATE TABLE/,
    'CREATE TABLE IF NOT EXISTS',
  );
  for (const target of targets) await target.pool.query(ddl);
}

const q = (name: string) => `\`${name}\``;

async function captureChanges(source: Endpoint, tables: readonly TablePlan[]): Promise<void> {
  await source.pool.query(`DROP TABLE IF EXISTS ${changelog}`);
  await source.pool.query(
    `CREATE TABLE ${changelog} (
       seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       tbl VARCHAR(64) NOT NULL,
       pk LONGTEXT NOT NULL
     ) ENGINE=InnoDB`,
  );
  for (const table of tables) {
    const pk = (row: 'NEW' | 'OLD') =>
      `JSON_ARRAY(${table.primaryKey.map((c) => `CAST(${row}.${q(c)} AS CHAR)`).join(', ')})`;
    const log = (row: 'NEW' | 'OLD') =>
      `INSERT INTO ${changelog} (tbl, pk) VALUES ('${table.name}', ${pk(row)})`;
    await dropTriggers(source, table, ['ai', 'au', 'ad', 'bi', 'bu', 'bd']);
    await source.pool.query(
      `CREATE TRIGGER ${triggerName(table, 'ai')} AFTER INSERT ON ${q(table.name)} FOR EACH ROW ${log('NEW')}`,
    );
    await source.pool.query(
      `CREATE TRIGGER ${triggerName(table, 'au')} AFTER UPDATE ON ${q(table.name)} FOR EACH ROW BEGIN ${log('OLD')}; ${log('NEW')}; END`,
    );
    await source.pool.query(
      `CREATE TRIGGER ${triggerName(table, 'ad')} AFTER DELETE ON ${q(table.name)} FOR EACH ROW ${log('OLD')}`,
    );
  }
}

function triggerName(table: TablePlan, suffix: string): string {
  return q(`_mela_rs_${table.name}_${suffix}`.slice(0, 64));
}

async function dropTriggers(
  endpoint: Endpoint,
  table: TablePlan,
  suffixes: readonly string[],
): Promise<void> {
  for (const suffix of suffixes)
    await endpoint.pool.query(`DROP TRIGGER IF EXISTS ${triggerName(table, suffix)}`);
}

/** Deny-writes triggers; creating one waits for open transactions on the table to finish. */
async function denyWrites(source: Endpoint, tables: readonly TablePlan[]): Promise<void> {
  const connection = await source.pool.getConnection();
  try {
    await connection.query('SET SESSION lock_wait_timeout = 30');
    for (const table of tables) {
      for (const [suffix, event] of [
        ['bi', 'INSERT'],
        ['bu', 'UPDATE'],
        ['bd', 'DELETE'],
      ] as const) {
        await connection.query(
          `CREATE TRIGGER ${triggerName(table, suffix)} BEFORE ${event} ON ${q(table.name)} FOR EACH ROW
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${reshardingDenyMessage}'`,
        );
      }
    }
  } finally {
    connection.release();
  }
}

async function allowWrites(source: Endpoint, tables: readonly TablePlan[]): Promise<void> {
  for (const table of tables) await dropTriggers(source, table, ['bi', 'bu', 'bd']);
}

async function copyTable(
  table: TablePlan,
  source: Endpoint,
  targets: readonly Endpoint[],
  batchSize: number,
): Promise<number> {
  const order = table.primaryKey.map(q).join(', ');
  let after: unknown[] | undefined;
  let copied = 0;
  for (;;) {
    const where = after ? `WHERE (${order}) > (${after.map(() => '?').join(', ')})` : '';
    const [rows] = await source.pool.query<RowDataPacket[]>(
      `SELECT ${table.columns.map(q).join(', ')} FROM ${q(table.name)} ${where} ORDER BY ${order} LIMIT ${batchSize}`,
      after ?? [],
    );
    if (rows.length === 0) return copied;
    await upsert(table, rows, targets);
    copied += rows.length;
    const last = rows[rows.length - 1];
    after = table.primaryKey.map((c): unknown => last?.[c]);
  }
}

function keyspaceIdOf(table: TablePlan, row: RowDataPacket): KeyspaceId {
  return table.vindex.keyspaceId(row[table.column] as KeyValue);
}

async function upsert(
  table: TablePlan,
  rows: readonly RowDataPacket[],
  targets: readonly Endpoint[],
): Promise<void> {
  const byTarget = new Map<Endpoint, unknown[][]>();
  for (const row of rows) {
    const target = rangeFor(
      targets.map((t) => ({ ...t.shard, endpoint: t })),
      keyspaceIdOf(table, row),
    ).endpoint;
    const values = table.columns.map((c): unknown => row[c]);
    const list = byTarget.get(target);
    if (list) list.push(values);
    else byTarget.set(target, [values]);
  }
  for (const [target, values] of byTarget) {
    await target.pool.query(
      `REPLACE INTO ${q(table.name)} (${table.columns.map(q).join(', ')}) VALUES ?`,
      [values],
    );
  }
}

/** Re-reads each changed row from the source and writes its current state (or its absence) to the targets. */
async function replayChanges(
  tables: readonly TablePlan[],
  source: Endpoint,
  targets: readonly Endpoint[],
  from: number,
): Promise<{ applied: number; position: number }> {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const owners = targets.filter((t) => keyRangesIntersect(t.shard, source.shard));
  // Up to the log's end as of now: a busy writer must not keep one pass going forever.
  const [[end]] = await source.pool.query<RowDataPacket[]>(
    `SELECT COALESCE(MAX(seq), 0) AS seq FROM ${changelog}`,
  );
  const until = Number(end?.['seq'] ?? 0);
  let position = from;
  let applied = 0;
  for (;;) {
    const [entries] = await source.pool.query<RowDataPacket[]>(
      `SELECT seq, tbl, pk FROM ${changelog} WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 2000`,
      [position, until],
    );
    if (entries.length === 0) return { applied, position: Math.max(position, until) };
    const touched = new Map<string, { table: TablePlan; pk: unknown[] }>();
    for (const entry of entries) {
      const table = byName.get(String(entry['tbl']));
      if (table)
        touched.set(`${table.name}\u0000${String(entry['pk'])}`, {
          table,
          pk: JSON.parse(String(entry['pk'])) as unknown[],
        });
      position = Number(entry['seq']);
    }
    const byTable = new Map<TablePlan, unknown[][]>();
    for (const { table, pk } of touched.values()) {
      const list = byTable.get(table);
      if (list) list.push(pk);
      else byTable.set(table, [pk]);
    }
    for (const [table, keys] of byTable) {
      const tuple = `(${table.primaryKey.map(q).join(', ')})`;
      const [rows] = await source.pool.query<RowDataPacket[]>(
        `SELECT ${table.columns.map(q).join(', ')} FROM ${q(table.name)} WHERE ${tuple} IN (?)`,
        [keys],
      );
      for (const owner of owners)
        await owner.pool.query(`DELETE FROM ${q(table.name)} WHERE ${tuple} IN (?)`, [keys]);
      if (rows.length > 0) await upsert(table, rows, targets);
      applied += keys.length;
    }
  }
}

/** Counts and checksums every table per target keyrange, on the old shards and the new ones. */
async function verify(
  tables: readonly TablePlan[],
  sources: readonly Endpoint[],
  targets: readonly Endpoint[],
): Promise<ShardDigest[]> {
  const digests: ShardDigest[] = [];
  const problems: string[] = [];
  for (const table of tables) {
    const expected = new Map(targets.map((t) => [t.shard.name, new Digest()]));
    for (const source of sources) {
      await scan(table, source, (row) => {
        const ksid = keyspaceIdOf(table, row);
        expected
          .get(
            rangeFor(
              targets.map((t) => t.shard),
              ksid,
            ).name,
          )
          ?.add(table, row);
      });
    }
    for (const target of targets) {
      const actual = new Digest();
      let misplaced = 0;
      await scan(table, target, (row) => {
        if (!keyRangeContains(target.shard, keyspaceIdOf(table, row))) misplaced += 1;
        actual.add(table, row);
      });
      const want = expected.get(target.shard.name) ?? new Digest();
      if (misplaced > 0)
        problems.push(
          `${table.name} on ${target.shard.name}: ${misplaced} rows outside the shard's keyrange`,
        );
      if (actual.rows !== want.rows || actual.value !== want.value) {
        problems.push(
          `${table.name} on ${target.shard.name}: ${actual.rows} rows (checksum ${actual.hex()}), expected ${want.rows} (${want.hex()})`,
        );
      }
      digests.push({
        table: table.name,
        shard: target.shard.name,
        rows: actual.rows,
        checksum: actual.hex(),
      });
    }
  }
  if (problems.length > 0)
    throw new ReshardError(
      `verification failed; the old shards keep serving:\n  ${problems.join('\n  ')}`,
    );
  return digests;
}

async function scan(
  table: TablePlan,
  endpoint: Endpoint,
  each: (row: RowDataPacket) => void,
): Promise<void> {
  const order = table.primaryKey.map(q).join(', ');
  let after: unknown[] | undefined;
  for (;;) {
    const where = after ? `WHERE (${order}) > (${after.map(() => '?').join(', ')})` : '';
    const [rows] = await endpoint.pool.query<RowDataPacket[]>(
      `SELECT ${table.columns.map(q).join(', ')} FROM ${q(table.name)} ${where} ORDER BY ${order} LIMIT 2000`,
      after ?? [],
    );
    if (rows.length === 0) return;
    rows.forEach(each);
    const last = rows[rows.length - 1];
    after = table.primaryKey.map((c): unknown => last?.[c]);
  }
}

/** An order-independent digest: row count and the sum of 64-bit row hashes, modulo 2^64. */
class Digest {
  rows = 0;
  value = 0n;

  add(table: TablePlan, row: RowDataPacket): void {
    const canonical = JSON.stringify(
      table.columns.map((c) => {
        const v: unknown = row[c];
        return Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v;
      }),
    );
    this.rows += 1;
    this.value =
      (this.value + createHash('sha256').update(canonical).digest().readBigUInt64BE()) &
      0xffffffffffffffffn;
  }

  hex(): string {
    return this.value.toString(16).padStart(16, '0');
  }
}
