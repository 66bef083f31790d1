import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { inSpan, onShard, shardAttributes, type ShardPlacement } from '@mela/core';
import {
  createPool,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import { CrossShardTransactionError, InvalidShardKeyError, classifyShardError } from './errors.js';
import { rangeFor, type KeyspaceId } from './keyrange.js';
import type { ShardedDatabase, ShardHealthCheck } from './database.js';
import { Sequence } from './sequence.js';
import { hashVindex } from './vindexes/hash.js';
import { VindexValueError, type FunctionalVindex, type KeyValue } from './vindexes/vindex.js';
import { xxhashVindex } from './vindexes/xxhash.js';
import {
  resolveTable,
  type KeyspaceDefinition,
  type ShardDefinition,
  type ShardMap,
  type TableDefinition,
  type VSchema,
} from './vschema.js';

/** A row as mysql2 returns it. */
export type Row = RowDataPacket;
export type SqlParams = readonly unknown[];

/** Where a statement goes. */
export type Route =
  /** The only shard of an unsharded keyspace. */
  | { readonly keyspace: string }
  /**
   * The shard that owns `key` by the table's primary vindex, or by the vindex on `column`
   * (a lookup vindex such as order id → owner's keyspace ID).
   */
  | {
      readonly keyspace: string;
      readonly table: string;
      readonly key: KeyValue;
      readonly column?: string;
    }
  /** The shard that owns a keyspace ID (from a lookup vindex, say). */
  | { readonly keyspace: string; readonly keyspaceId: KeyspaceId };

export interface ScatterOptions {
  /** Merge order across shards; each shard's query must already be ordered the same way. */
  readonly orderBy?: readonly { readonly column: string; readonly desc?: boolean }[];
  /** Rows to keep after merging; each shard's query should carry the same LIMIT. */
  readonly limit?: number;
  /** Per-shard timeout. @default the router's scatterTimeoutMs */
  readonly timeoutMs?: number;
}

export interface RouterOptions {
  readonly vschema: VSchema;
  readonly shardMap: ShardMap;
  /** The app's registry; the router adds its metrics to it. */
  readonly registry: Registry;
  /** Connections per shard. @default 10 */
  readonly poolSize?: number;
  /** @default 2000 */
  readonly connectTimeoutMs?: number;
  /** Per-statement timeout for single-shard statements. @default 5000 */
  readonly queryTimeoutMs?: number;
  /** Per-shard timeout of scatter queries. @default 2000 */
  readonly scatterTimeoutMs?: number;
  /** mysql2's per-query stack capture for error messages (costly on the hot path). @default false */
  readonly trace?: boolean;
}

/** An open shard: its keyrange and its connection pool. */
export interface Shard extends ShardDefinition {
  readonly pool: Pool;
  /**
   * A pool of its own (opened lazily, as large as `pool`) for owned lookup entries, which a
   * transaction writes (through `insert`) while it holds a connection of `pool`: with one pool,
   * transactions holding every connection would each wait for another (a flash sale
   * deadlocked that way).
   */
  readonly lookupWriter: Pool;
}

/** One dedicated connection to one shard, held for as long as the caller needs it. */
export interface ShardSession {
  readonly keyspace: string;
  readonly shard: string;
  execute<T extends Row[] | ResultSetHeader = Row[]>(sql: string, params?: SqlParams): Promise<T>;
}

/** A transaction confined to one shard. */
export interface ShardTransaction {
  readonly keyspace: string;
  readonly shard: string;
  /**
   * Runs a statement in the transaction. With `key` (and `table`), the router checks that the
   * key lives on this shard and refuses the statement otherwise.
   */
  execute<T extends Row[] | ResultSetHeader = Row[]>(
    sql: string,
    params?: SqlParams,
    check?: { readonly table: string; readonly key: KeyValue },
  ): Promise<T>;
  /**
   * Inserts one row of `table`, and — like vtgate for owned lookup vindexes — the lookup
   * entries the row owns, committed before the row can be (an orphan entry is harmless; a row
   * its lookup could not find is not). The row's primary vindex value must live on this shard.
   */
  insert(table: string, row: Readonly<Record<string, unknown>>): Promise<ResultSetHeader>;
  /**
   * Sends several statements in one round trip (one multi-statement query), in order: what
   * `execute` and `insert` do one by one, for statements that do not depend on each other's
   * results. The first that fails stops the rest and fails the call. One result per statement.
   */
  batch(statements: readonly BatchStatement[]): Promise<BatchResult[]>;
}

/** One statement of {@link ShardTransaction.batch}: as `execute` takes it, or a row to insert. */
export type BatchStatement =
  | {
      readonly sql: string;
      readonly params?: SqlParams;
      readonly check?: { readonly table: string; readonly key: KeyValue };
    }
  | { readonly insert: string; readonly row: Readonly<Record<string, unknown>> };

/** A statement's result: rows for a query, a header for a write. */
export type BatchResult = Row[] | ResultSetHeader;

/** The rows a batched query returned (throws when the statement was not a query). */
export function rowsOf(result: BatchResult | undefined): Row[] {
  if (!Array.isArray(result)) throw new Error('the statement returned no rows');
  return result;
}

/** How many rows a batched write changed (throws when the statement was a query). */
export function affectedRows(result: BatchResult | undefined): number {
  if (result === undefined || Array.isArray(result))
    throw new Error('the statement was not a write');
  return result.affectedRows;
}

const functionalVindexes: Readonly<Record<string, FunctionalVindex>> = {
  hash: hashVindex,
  xxhash: xxhashVindex,
};

/**
 * The app-side router: maps sharding keys to shards through the VSchema's vindexes, sends
 * single-shard statements to one shard, IN-lists only to the shards they need, and scatters
 * with merge only when a query truly spans shards. Transactions are confined to one shard.
 */
export class ShardRouter implements ShardedDatabase {
  readonly vschema: VSchema;
  readonly #options: RouterOptions;
  readonly #shards = new Map<string, readonly Shard[]>();
  readonly #retired: Shard[] = [];
  readonly #sequences = new Map<string, Sequence>();
  readonly #metrics: {
    readonly queries: Counter<'keyspace' | 'shard' | 'route'>;
    readonly duration: Histogram<'keyspace' | 'shard'>;
    readonly scatters: Counter<'keyspace'>;
    readonly errors: Counter<'keyspace' | 'shard' | 'reason'>;
  };

  constructor(options: RouterOptions) {
    this.vschema = options.vschema;
    this.#options = options;
    for (const [keyspace, shards] of options.shardMap)
      this.#shards.set(
        keyspace,
        shards.map((s) => this.#open(s)),
      );
    const registers = [options.registry];
    this.#metrics = {
      queries: new Counter({
        name: 'shard_queries_total',
        help: 'Statements sent to each shard, by how they were routed',
        labelNames: ['keyspace', 'shard', 'route'] as const,
        registers,
      }),
      duration: new Histogram({
        name: 'shard_query_duration_seconds',
        help: 'Statement latency per shard',
        labelNames: ['keyspace', 'shard'] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers,
      }),
      scatters: new Counter({
        name: 'shard_scatter_queries_total',
        help: 'Queries sent to every shard of a keyspace',
        labelNames: ['keyspace'] as const,
        registers,
      }),
      errors: new Counter({
        name: 'shard_errors_total',
        help: 'Failed statements per shard, by reason',
        labelNames: ['keyspace', 'shard', 'reason'] as const,
        registers,
      }),
    };
    // Every shard's error reasons exported from the start, so error rates are 0, not no data.
    for (const shard of [...this.#shards.values()].flat()) {
      for (const reason of ['unavailable', 'timeout', 'resharding', 'sql'])
        this.#metrics.errors.inc({ keyspace: shard.keyspace, shard: shard.name, reason }, 0);
    }
  }

  #open(definition: ShardDefinition): Shard {
    return {
      ...definition,
      pool: this.#pool(definition, this.#options.poolSize ?? 10, { multipleStatements: true }),
      lookupWriter: this.#pool(definition, this.#options.poolSize ?? 10),
    };
  }

  /**
   * `multipleStatements` lets a transaction send its statements in one round trip. Every
   * statement Mela sends binds its values (`?`, escaped by mysql2) and checks its identifiers,
   * so no value can end one statement and start another.
   */
  #pool(
    definition: ShardDefinition,
    connectionLimit: number,
    options: { readonly multipleStatements?: boolean } = {},
  ): Pool {
    return createPool({
      ...options,
      uri: definition.url,
      connectionLimit,
      connectTimeout: this.#options.connectTimeoutMs ?? 2000,
      trace: this.#options.trace ?? false,
      waitForConnections: true,
      queueLimit: 1000,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
    });
  }

  /** The keyspace's definition; throws for an unknown one (a programming error). */
  keyspace(name: string): KeyspaceDefinition {
    const ks = this.vschema.keyspaces.get(name);
    if (!ks) throw new Error(`unknown keyspace "${name}"`);
    return ks;
  }

  /** The serving shards of a keyspace, in keyrange order. */
  shards(keyspace: string): readonly Shard[] {
    const shards = this.#shards.get(keyspace);
    if (!shards) throw new Error(`keyspace "${keyspace}" has no shards`);
    return shards;
  }

  #table(keyspace: string, table: string): TableDefinition {
    const definition = this.keyspace(keyspace).tables.get(table);
    if (!definition) throw new Error(`table "${table}" is not in keyspace "${keyspace}"`);
    return definition;
  }

  /** Maps a value through a functional vindex of the keyspace. */
  keyspaceIdBy(keyspace: string, vindexName: string, value: KeyValue): KeyspaceId {
    const vindex = this.keyspace(keyspace).vindexes.get(vindexName);
    const fn = vindex ? functionalVindexes[vindex.type] : undefined;
    if (!fn) throw new Error(`vindex "${vindexName}" of "${keyspace}" is not a functional vindex`);
    try {
      return fn.keyspaceId(value);
    } catch (error) {
      if (error instanceof VindexValueError) throw new InvalidShardKeyError(error.message);
      throw error;
    }
  }

  /** The keyspace ID of a row with this primary-vindex value. */
  keyspaceIdOf(keyspace: string, table: string, key: KeyValue): KeyspaceId {
    const primary = this.#table(keyspace, table).primaryVindex;
    if (!primary) throw new Error(`table "${keyspace}.${table}" has no primary vindex`);
    return this.keyspaceIdBy(keyspace, primary.vindex, key);
  }

  /** The shard a route resolves to. */
  shardFor(route: Route): Shard {
    const shards = this.shards(route.keyspace);
    if ('keyspaceId' in route) return rangeFor(shards, route.keyspaceId);
    if ('key' in route) {
      const table = this.#table(route.keyspace, route.table);
      if (table.type === 'reference' || !this.keyspace(route.keyspace).sharded)
        return firstOf(shards);
      return rangeFor(shards, this.keyspaceIdOf(route.keyspace, route.table, route.key));
    }
    if (this.keyspace(route.keyspace).sharded) {
      throw new Error(`keyspace "${route.keyspace}" is sharded: give a key, or scatter on purpose`);
    }
    return firstOf(shards);
  }

  /**
   * Runs one statement on the one shard the route resolves to. A route through a lookup
   * vindex whose value has no entry reaches no shard: it returns no rows.
   */
  async execute<T extends Row[] | ResultSetHeader = Row[]>(
    route: Route,
    sql: string,
    params: SqlParams = [],
  ): Promise<T> {
    const shard = await this.#resolve(route);
    if (!shard) return [] as Row[] as T;
    return onShard(
      () => this.#placement(shard, route),
      () => this.#run<T>(shard, 'single', sql, params, this.#options.queryTimeoutMs ?? 5000),
    );
  }

  /** Where a route's statements run, for their spans: the shard and the vindex that chose it. */
  #placement(shard: Shard, route?: Route): ShardPlacement {
    const vindex = route && 'table' in route ? this.#vindexOf(route) : undefined;
    return {
      keyspace: shard.keyspace,
      shard: shard.name,
      ...(vindex === undefined ? {} : { vindex }),
    };
  }

  /** The vindex a route to a table is resolved by: the one on its column, else the primary. */
  #vindexOf(route: {
    readonly keyspace: string;
    readonly table: string;
    readonly column?: string;
  }) {
    const table = this.#table(route.keyspace, route.table);
    if (route.column !== undefined && table.primaryVindex?.column !== route.column)
      return table.secondaryVindexes.find((v) => v.column === route.column)?.vindex;
    return table.primaryVindex?.vindex;
  }

  /** Like {@link shardFor}, and also through lookup vindexes (undefined on a lookup miss). */
  async #resolve(route: Route): Promise<Shard | undefined> {
    if ('column' in route && route.column !== undefined) {
      const table = this.#table(route.keyspace, route.table);
      if (table.primaryVindex?.column !== route.column) {
        const secondary = table.secondaryVindexes.find((v) => v.column === route.column);
        if (!secondary)
          throw new Error(`${route.keyspace}.${route.table}.${route.column} has no vindex`);
        const ksid = await this.lookupKeyspaceId(route.keyspace, secondary.vindex, route.key);
        return ksid ? rangeFor(this.shards(route.keyspace), ksid) : undefined;
      }
    }
    return this.shardFor(route);
  }

  /** The value of the row's primary vindex column (undefined for unsharded tables). */
  #primaryValue(
    keyspace: string,
    table: string,
    row: Readonly<Record<string, unknown>>,
  ): KeyValue | undefined {
    const primary = this.#table(keyspace, table).primaryVindex;
    if (!primary || !this.keyspace(keyspace).sharded) return undefined;
    const value = row[primary.column];
    if (!isKeyValue(value))
      throw new Error(`a row of ${keyspace}.${table} needs ${primary.column}`);
    return value;
  }

  /**
   * The keyspace ID of `key` in `table`, which must live on the transaction's `shard`
   * ({@link CrossShardTransactionError} otherwise).
   */
  #keyspaceIdOn(shard: Shard, table: string, key: KeyValue): KeyspaceId {
    const ksid = this.keyspaceIdOf(shard.keyspace, table, key);
    const other = rangeFor(this.shards(shard.keyspace), ksid);
    if (other.name !== shard.name)
      throw new CrossShardTransactionError(shard.keyspace, shard.name, other.name);
    return ksid;
  }

  /** Writes the lookup entries a new row of `table` (keyspace ID `ksid`) owns. */
  async #recordLookups(
    keyspace: string,
    table: string,
    row: Readonly<Record<string, unknown>>,
    ksid: KeyspaceId,
  ): Promise<void> {
    for (const { column, vindex } of this.#table(keyspace, table).secondaryVindexes) {
      const v = this.keyspace(keyspace).vindexes.get(vindex);
      const value = row[column];
      if (v?.lookup && v.owner === table && isKeyValue(value)) {
        await this.createLookupEntry(keyspace, vindex, value, ksid);
      }
    }
  }

  /**
   * An IN-list query: groups `keys` by shard and runs `build(keysOfThatShard)` on each shard
   * that owns at least one of them — never on the others. Rows are concatenated.
   */
  async executeIn<T extends Row>(
    route: { readonly keyspace: string; readonly table: string },
    keys: readonly KeyValue[],
    build: (keys: readonly KeyValue[]) => { readonly sql: string; readonly params: SqlParams },
  ): Promise<T[]> {
    const byShard = new Map<Shard, KeyValue[]>();
    for (const key of keys) {
      const shard = this.shardFor({ ...route, key });
      const list = byShard.get(shard);
      if (list) list.push(key);
      else byShard.set(shard, [key]);
    }
    const results = await Promise.all(
      [...byShard].map(([shard, shardKeys]) => {
        const { sql, params } = build(shardKeys);
        return onShard(
          () => this.#placement(shard, route),
          () =>
            this.#run<T[]>(
              shard,
              byShard.size > 1 ? 'multi' : 'single',
              sql,
              params,
              this.#options.queryTimeoutMs ?? 5000,
            ),
        );
      }),
    );
    return results.flat();
  }

  /**
   * Sends a query to every shard of the keyspace with a per-shard timeout, merges the rows by
   * `orderBy` and applies `limit`. Any shard failing fails the query (no silent partial answer).
   */
  async scatter<T extends Row>(
    keyspace: string,
    sql: string,
    params: SqlParams = [],
    options: ScatterOptions = {},
  ): Promise<T[]> {
    const shards = this.shards(keyspace);
    this.#metrics.scatters.inc({ keyspace });
    const timeout = options.timeoutMs ?? this.#options.scatterTimeoutMs ?? 2000;
    const perShard = await Promise.all(
      shards.map((shard) =>
        onShard(
          () => this.#placement(shard),
          () => this.#run<T[]>(shard, 'scatter', sql, params, timeout),
        ),
      ),
    );
    const rows = options.orderBy ? mergeSorted(perShard, options.orderBy) : perShard.flat();
    return options.limit === undefined ? rows : rows.slice(0, options.limit);
  }

  /**
   * Runs `fn` in a transaction on the route's shard. Statements given a key that lives on
   * another shard are refused with {@link CrossShardTransactionError} and the transaction rolls back.
   */
  async transaction<T>(route: Route, fn: (tx: ShardTransaction) => Promise<T>): Promise<T> {
    const shard = await this.#resolve(route);
    if (!shard) throw new Error('a transaction needs a route that reaches a shard');
    const placement = this.#placement(shard, route);
    return inSpan(
      `transaction ${shard.keyspace}/${shard.name}`,
      { attributes: shardAttributes(placement) },
      () =>
        onShard(
          () => placement,
          () => this.#transactionOn(shard, fn),
        ),
    );
  }

  async #transactionOn<T>(shard: Shard, fn: (tx: ShardTransaction) => Promise<T>): Promise<T> {
    const connection = await this.#connect(shard);
    // BEGIN travels with the first statements instead of in a round trip of its own.
    const state = { begun: false };
    const batch = async (statements: readonly BatchStatement[]): Promise<BatchResult[]> => {
      if (statements.length === 0) return [];
      const sql: string[] = state.begun ? [] : ['START TRANSACTION'];
      const params: unknown[] = [];
      // Started once every statement has passed its checks: a refused batch sends nothing.
      const lookups: (() => Promise<void>)[] = [];
      for (const statement of statements) {
        if ('insert' in statement) {
          const { insert: table, row } = statement;
          const key = this.#primaryValue(shard.keyspace, table, row);
          const insert = insertStatement(table, row);
          sql.push(insert.sql);
          params.push(...insert.params);
          // The entries are committed (autocommit) before the row can be: it is seen only at
          // the transaction's commit, so both go out together instead of one after the other.
          if (key !== undefined) {
            const ksid = this.#keyspaceIdOn(shard, table, key);
            lookups.push(() => this.#recordLookups(shard.keyspace, table, row, ksid));
          }
        } else {
          if (statement.check)
            this.#keyspaceIdOn(shard, statement.check.table, statement.check.key);
          sql.push(statement.sql);
          params.push(...(statement.params ?? []));
        }
      }
      const skip = state.begun ? 0 : 1;
      state.begun = true;
      const [result] = await Promise.all([
        this.#runOn<BatchResult | BatchResult[]>(
          connection,
          shard,
          'transaction',
          sql.join(';\n'),
          params,
        ),
        ...lookups.map((write) => write()),
      ]);
      // One statement answers with its result; several with an array of theirs.
      return sql.length === 1 ? [result as BatchResult] : (result as BatchResult[]).slice(skip);
    };
    const one = async <R extends BatchResult>(statement: BatchStatement): Promise<R> => {
      const [result] = await batch([statement]);
      return result as R;
    };
    const tx: ShardTransaction = {
      keyspace: shard.keyspace,
      shard: shard.name,
      execute: <R extends Row[] | ResultSetHeader = Row[]>(
        sql: string,
        params: SqlParams = [],
        check?: { table: string; key: KeyValue },
      ) => one<R>({ sql, params, ...(check ? { check } : {}) }),
      insert: (table, row) => one<ResultSetHeader>({ insert: table, row }),
      batch,
    };
    try {
      const result = await fn(tx);
      if (state.begun) await this.#runOn(connection, shard, 'transaction', 'COMMIT', []);
      return result;
    } catch (error) {
      // A statement's failure is classified where it happened; `fn`'s own errors pass as they are.
      if (state.begun) await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  /** The names of a keyspace's serving shards, in keyrange order. */
  shardNames(keyspace: string): readonly string[] {
    return this.shards(keyspace).map((shard) => shard.name);
  }

  /**
   * Runs `fn` on one connection of one shard, kept out of the pool until `fn` settles: for
   * session state such as a leader lock (`GET_LOCK`) that must outlive a statement.
   */
  async session<T>(
    keyspace: string,
    shardName: string,
    fn: (session: ShardSession) => Promise<T>,
  ): Promise<T> {
    const shard = this.shards(keyspace).find((s) => s.name === shardName);
    if (!shard) throw new Error(`keyspace "${keyspace}" has no shard "${shardName}"`);
    const connection = await this.#connect(shard);
    try {
      return await fn({
        keyspace,
        shard: shard.name,
        execute: <R extends Row[] | ResultSetHeader = Row[]>(sql: string, params: SqlParams = []) =>
          this.#runOn<R>(connection, shard, 'session', sql, params),
      });
    } finally {
      // A session may end with state the next borrower must not inherit (locks, variables).
      connection.destroy();
    }
  }

  /** Reads the keyspace ID a lookup vindex stores for `value`; undefined when there is none. */
  async lookupKeyspaceId(
    keyspace: string,
    vindexName: string,
    value: KeyValue,
  ): Promise<KeyspaceId | undefined> {
    const { lookup } = this.#lookup(keyspace, vindexName);
    const rows = await this.execute(
      this.#lookupRoute(lookup, value),
      `SELECT \`${lookup.to}\` AS ksid FROM \`${lookup.table}\` WHERE \`${lookup.from}\` = ?`,
      [value],
    );
    const ksid = rows[0]?.['ksid'] as Buffer | undefined;
    return ksid ? new Uint8Array(ksid) : undefined;
  }

  /**
   * Records `value → keyspaceId` in a lookup vindex's table, before the owner row is written
   * (Vitess's order: an orphan lookup row is harmless, a missing one is not).
   */
  async createLookupEntry(
    keyspace: string,
    vindexName: string,
    value: KeyValue,
    keyspaceId: KeyspaceId,
  ): Promise<void> {
    const { lookup } = this.#lookup(keyspace, vindexName);
    const shard = this.shardFor(this.#lookupRoute(lookup, value));
    await this.#run(
      shard,
      'lookup',
      `INSERT INTO \`${lookup.table}\` (\`${lookup.from}\`, \`${lookup.to}\`) VALUES (?, ?)`,
      [value, Buffer.from(keyspaceId)],
      this.#options.queryTimeoutMs ?? 5000,
      shard.lookupWriter,
    );
  }

  #lookup(keyspace: string, vindexName: string) {
    const vindex = this.keyspace(keyspace).vindexes.get(vindexName);
    if (vindex?.lookup === undefined)
      throw new Error(`vindex "${vindexName}" of "${keyspace}" is not a lookup vindex`);
    return { lookup: vindex.lookup };
  }

  #lookupRoute(lookup: { keyspace: string; table: string }, value: KeyValue): Route {
    return this.keyspace(lookup.keyspace).sharded
      ? { keyspace: lookup.keyspace, table: lookup.table, key: value }
      : { keyspace: lookup.keyspace };
  }

  /**
   * The sequence behind a table's `auto_increment`, or a sequence table by name
   * (`keyspace.table`). Ids are reserved from it in blocks, as Vitess does.
   */
  sequence(name: string): Sequence {
    let sequence = this.#sequences.get(name);
    if (!sequence) {
      const [keyspace, table] = name.split('.');
      if (
        !keyspace ||
        !table ||
        this.vschema.keyspaces.get(keyspace)?.tables.get(table)?.type !== 'sequence'
      ) {
        throw new Error(`"${name}" is not a sequence table (keyspace.table)`);
      }
      sequence = new Sequence({ table, run: (fn) => this.transaction({ keyspace }, fn) });
      this.#sequences.set(name, sequence);
    }
    return sequence;
  }

  /** The sequence that fills `table`'s auto_increment column. */
  autoIncrement(keyspace: string, table: string): Sequence {
    const auto = this.#table(keyspace, table).autoIncrement;
    if (!auto) throw new Error(`table "${keyspace}.${table}" has no auto_increment`);
    const target = resolveTable(this.vschema.keyspaces, keyspace, auto.sequence);
    const owner = [...this.vschema.keyspaces.values()].find(
      (ks) => ks.tables.get(target?.name ?? '') === target,
    );
    return this.sequence(`${owner?.name ?? ''}.${target?.name ?? ''}`);
  }

  /**
   * Serves a keyspace from new shards from now on (the cut-over of a resharding). The old
   * shards' pools stay open until {@link close}, so statements already running on them finish.
   */
  switchShards(keyspace: string, shards: readonly ShardDefinition[]): void {
    const old = this.shards(keyspace);
    this.#shards.set(
      keyspace,
      shards.map((s) => this.#open(s)),
    );
    this.#retired.push(...old);
  }

  /** One readiness probe per shard: `SELECT 1` through its pool. */
  healthChecks(keyspaces?: readonly string[]): ShardHealthCheck[] {
    const shards = [...this.#shards.values()].flat();
    return shards
      .filter((shard) => keyspaces?.includes(shard.keyspace) ?? true)
      .map((shard) => ({
        name: `mysql ${shard.keyspace}/${shard.name}`,
        keyspace: shard.keyspace,
        critical: !this.keyspace(shard.keyspace).sharded,
        probe: () =>
          shard.pool.query({ sql: 'SELECT 1', timeout: this.#options.queryTimeoutMs ?? 5000 }),
      }));
  }

  /** Closes every pool, serving and retired. */
  async close(): Promise<void> {
    const all = [...[...this.#shards.values()].flat(), ...this.#retired];
    this.#retired.length = 0;
    await Promise.all(
      all.flatMap((shard) =>
        [shard.pool, shard.lookupWriter].map((p) => p.end().catch(() => undefined)),
      ),
    );
  }

  /** A connection of the shard's pool, held by a transaction or a session. */
  async #connect(shard: Shard): Promise<PoolConnection> {
    try {
      return await shard.pool.getConnection();
    } catch (error) {
      throw this.#translate(error, shard);
    }
  }

  /** A statement on a held connection, counted and timed per shard like pooled ones. */
  async #runOn<R>(
    connection: PoolConnection,
    shard: Shard,
    route: 'transaction' | 'session',
    sql: string,
    params: SqlParams,
  ): Promise<R> {
    const labels = { keyspace: shard.keyspace, shard: shard.name };
    this.#metrics.queries.inc({ ...labels, route });
    const end = this.#metrics.duration.startTimer(labels);
    try {
      const [result] = await connection.query(
        { sql, timeout: this.#options.queryTimeoutMs ?? 5000 },
        [...params],
      );
      return result as R;
    } catch (error) {
      throw this.#translate(error, shard);
    } finally {
      end();
    }
  }

  async #run<T>(
    shard: Shard,
    route: string,
    sql: string,
    params: SqlParams,
    timeout: number,
    pool: Pool = shard.pool,
  ): Promise<T> {
    const labels = { keyspace: shard.keyspace, shard: shard.name };
    this.#metrics.queries.inc({ ...labels, route });
    const end = this.#metrics.duration.startTimer(labels);
    try {
      const [result] = await pool.query({ sql, timeout }, [...params]);
      return result as T;
    } catch (error) {
      throw this.#translate(error, shard);
    } finally {
      end();
    }
  }

  #translate(error: unknown, shard: Shard): unknown {
    const classified = classifyShardError(error, shard.keyspace, shard.name);
    this.#metrics.errors.inc({
      keyspace: shard.keyspace,
      shard: shard.name,
      reason: classified?.reason ?? 'sql',
    });
    return classified?.error ?? error;
  }
}

function firstOf(shards: readonly Shard[]): Shard {
  const [first] = shards;
  if (!first) throw new Error('a keyspace without shards');
  return first;
}

/** k-way merge of per-shard sorted rows. */
export function mergeSorted<T extends Row>(
  lists: readonly T[][],
  orderBy: NonNullable<ScatterOptions['orderBy']>,
): T[] {
  const compare = (a: T, b: T): number => {
    for (const { column, desc } of orderBy) {
      const order = compareValues(a[column], b[column]);
      if (order !== 0) return desc === true ? -order : order;
    }
    return 0;
  };
  const cursors = lists.map(() => 0);
  const total = lists.reduce((n, list) => n + list.length, 0);
  const merged: T[] = [];
  while (merged.length < total) {
    let best = -1;
    for (let i = 0; i < lists.length; i += 1) {
      const candidate = lists[i]?.[cursors[i] ?? 0];
      if (candidate === undefined) continue;
      const current = best >= 0 ? lists[best]?.[cursors[best] ?? 0] : undefined;
      if (current === undefined || compare(candidate, current) < 0) best = i;
    }
    const row = lists[best]?.[cursors[best] ?? 0];
    if (row === undefined) break;
    merged.push(row);
    cursors[best] = (cursors[best] ?? 0) + 1;
  }
  return merged;
}

/** Compares SQL values as MySQL would order them: NULL first, numbers and numeric strings by value. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  const sa = scalarText(a);
  const sb = scalarText(b);
  if (/^-?\d+$/.test(sa) && /^-?\d+$/.test(sb)) {
    const x = BigInt(sa);
    const y = BigInt(sb);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return value.toString();
  return JSON.stringify(value);
}

function isKeyValue(value: unknown): value is KeyValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint';
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** `INSERT INTO table (columns) VALUES (?, …)` for one row; names are checked, values bound. */
export function insertStatement(
  table: string,
  row: Readonly<Record<string, unknown>>,
): { readonly sql: string; readonly params: SqlParams } {
  const columns = Object.keys(row);
  for (const name of [table, ...columns]) {
    if (!identifier.test(name)) throw new Error(`"${name}" is not a plain SQL identifier`);
  }
  return {
    sql: `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    params: columns.map((c) => row[c]),
  };
}
