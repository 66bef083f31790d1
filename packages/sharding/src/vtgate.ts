import { createPool, type Pool, type PoolConnection, type ResultSetHeader } from 'mysql2/promise';
import { Counter, type Registry } from 'prom-client';
import {
  inTransaction,
  type IdSource,
  type ShardedDatabase,
  type ShardHealthCheck,
} from './database.js';
import { classifyShardError } from './errors.js';
import {
  insertStatement,
  type BatchResult,
  type Route,
  type Row,
  type ScatterOptions,
  type ShardSession,
  type ShardTransaction,
  type SqlParams,
} from './router.js';
import type { KeyValue } from './vindexes/vindex.js';
import { resolveTable, type VSchema } from './vschema.js';

export interface VtgateOptions {
  /** `mysql://user:password@vtgate:3306` — one endpoint for every keyspace. */
  readonly url: string;
  readonly vschema: VSchema;
  readonly registry: Registry;
  /** @default 10 */
  readonly poolSize?: number;
  /** @default 5000 */
  readonly queryTimeoutMs?: number;
  /** mysql2's per-query stack capture. @default false */
  readonly trace?: boolean;
}

/**
 * The same {@link ShardedDatabase} over a real Vitess vtgate: every statement goes to one
 * connection pool per keyspace (`database` = keyspace name) and vtgate routes, scatters, merges
 * and maintains owned lookup vindexes itself. What changes, compared with the app-side router:
 *
 * - routes only pick the keyspace; the key is vtgate's business (it reads it from the SQL);
 * - `executeIn` sends one statement with every key; `scatter` sends one statement and trusts
 *   vtgate's merge of ORDER BY/LIMIT;
 * - transactions are confined to one shard by vtgate's `transaction_mode=SINGLE`, not by a
 *   check here; `insert` leaves the owned lookup rows to vtgate, which writes them;
 * - sequences use vtgate's `SELECT NEXT n VALUES FROM seq`;
 * - resharding is Vitess's own Reshard workflow, not `mela-shard reshard`.
 */
export class VtgateDatabase implements ShardedDatabase {
  readonly #options: VtgateOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #errors: Counter<'keyspace' | 'reason'>;
  readonly #sequences = new Map<string, IdSource>();

  constructor(options: VtgateOptions) {
    this.#options = options;
    for (const keyspace of options.vschema.keyspaces.keys()) {
      const url = new URL(options.url);
      url.pathname = `/${keyspace}`;
      this.#pools.set(
        keyspace,
        createPool({
          uri: url.toString(),
          connectionLimit: options.poolSize ?? 10,
          trace: options.trace ?? false,
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: true,
          timezone: 'Z',
        }),
      );
    }
    this.#errors = new Counter({
      name: 'vtgate_errors_total',
      help: 'Failed statements through vtgate, by keyspace and reason',
      labelNames: ['keyspace', 'reason'] as const,
      registers: [options.registry],
    });
  }

  /** A connection of the keyspace's pool, held by a transaction or a session. */
  #connect(keyspace: string): Promise<PoolConnection> {
    return this.#pool(keyspace)
      .getConnection()
      .catch((error: unknown) => {
        throw this.#translate(error, keyspace);
      });
  }

  #pool(keyspace: string): Pool {
    const pool = this.#pools.get(keyspace);
    if (!pool) throw new Error(`unknown keyspace "${keyspace}"`);
    return pool;
  }

  async execute<T extends Row[] | ResultSetHeader = Row[]>(
    route: Route,
    sql: string,
    params: SqlParams = [],
  ): Promise<T> {
    try {
      const [result] = await this.#pool(route.keyspace).query<T>(
        { sql, timeout: this.#options.queryTimeoutMs ?? 5000 },
        [...params],
      );
      return result;
    } catch (error) {
      throw this.#translate(error, route.keyspace);
    }
  }

  async executeIn<T extends Row>(
    route: { readonly keyspace: string; readonly table: string },
    keys: readonly KeyValue[],
    build: (keys: readonly KeyValue[]) => { readonly sql: string; readonly params: SqlParams },
  ): Promise<T[]> {
    const { sql, params } = build(keys);
    return this.execute<T[]>(route, sql, params);
  }

  async scatter<T extends Row>(
    keyspace: string,
    sql: string,
    params: SqlParams = [],
    options: ScatterOptions = {},
  ): Promise<T[]> {
    const rows = await this.execute<T[]>({ keyspace }, sql, params);
    return options.limit === undefined ? rows : rows.slice(0, options.limit);
  }

  async transaction<T>(route: Route, fn: (tx: ShardTransaction) => Promise<T>): Promise<T> {
    const connection = await this.#connect(route.keyspace);
    const timeout = this.#options.queryTimeoutMs ?? 5000;
    const execute = async <R extends Row[] | ResultSetHeader = Row[]>(
      sql: string,
      params: SqlParams = [],
    ) => {
      const [result] = await connection.query<R>({ sql, timeout }, [...params]);
      return result;
    };
    // vtgate writes the owned lookup entries itself.
    const insert = (table: string, row: Readonly<Record<string, unknown>>) => {
      const { sql, params } = insertStatement(table, row);
      return execute<ResultSetHeader>(sql, params);
    };
    const tx: ShardTransaction = {
      keyspace: route.keyspace,
      shard: '(vtgate)',
      execute,
      insert,
      // One by one: vtgate's support for multi-statement queries is not relied on.
      batch: async (statements) => {
        const results: BatchResult[] = [];
        for (const statement of statements) {
          results.push(
            'insert' in statement
              ? await insert(statement.insert, statement.row)
              : await execute(statement.sql, statement.params),
          );
        }
        return results;
      },
    };
    return inTransaction(
      connection,
      () => fn(tx),
      (error) => this.#translate(error, route.keyspace),
    );
  }

  autoIncrement(keyspace: string, table: string): IdSource {
    const auto = this.#options.vschema.keyspaces.get(keyspace)?.tables.get(table)?.autoIncrement;
    if (!auto) throw new Error(`table "${keyspace}.${table}" has no auto_increment`);
    const sequence = resolveTable(this.#options.vschema.keyspaces, keyspace, auto.sequence);
    const owner = [...this.#options.vschema.keyspaces.values()].find(
      (ks) => sequence && ks.tables.get(sequence.name) === sequence,
    );
    if (!sequence || !owner) throw new Error(`sequence ${auto.sequence} is not in the VSchema`);
    const key = `${owner.name}.${sequence.name}`;
    let source = this.#sequences.get(key);
    if (!source) {
      source = {
        next: async () => {
          const rows = await this.execute(
            { keyspace: owner.name },
            `SELECT NEXT 1 VALUES FROM \`${sequence.name}\``,
          );
          const first = rows[0];
          return String(first ? Object.values(first)[0] : '');
        },
      };
      this.#sequences.set(key, source);
    }
    return source;
  }

  /** vtgate hides the shards: a per-shard worker sees the keyspace as one. */
  shardNames(): readonly string[] {
    return ['*'];
  }

  async session<T>(
    keyspace: string,
    _shard: string,
    fn: (session: ShardSession) => Promise<T>,
  ): Promise<T> {
    const connection = await this.#connect(keyspace);
    const timeout = this.#options.queryTimeoutMs ?? 5000;
    try {
      return await fn({
        keyspace,
        shard: '*',
        execute: async <R extends Row[] | ResultSetHeader = Row[]>(
          sql: string,
          params: SqlParams = [],
        ) => {
          try {
            const [result] = await connection.query<R>({ sql, timeout }, [...params]);
            return result;
          } catch (error) {
            throw this.#translate(error, keyspace);
          }
        },
      });
    } finally {
      connection.destroy();
    }
  }

  healthChecks(keyspaces?: readonly string[]): ShardHealthCheck[] {
    const pools = [...this.#pools].filter(([keyspace]) => keyspaces?.includes(keyspace) ?? true);
    return pools.map(([keyspace, pool]) => ({
      name: `vtgate ${keyspace}`,
      keyspace,
      // vtgate is this replica's one path to the keyspace, whichever shards are behind it.
      critical: true,
      probe: () => pool.query('SELECT 1'),
    }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.end().catch(() => undefined)));
  }

  #translate(error: unknown, keyspace: string): unknown {
    const classified = classifyShardError(error, keyspace, 'vtgate');
    this.#errors.inc({ keyspace, reason: classified?.reason ?? 'sql' });
    return classified?.error ?? error;
  }
}
