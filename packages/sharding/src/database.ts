import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type {
  Route,
  Row,
  ScatterOptions,
  ShardSession,
  ShardTransaction,
  SqlParams,
} from './router.js';
import type { KeyValue } from './vindexes/vindex.js';

/** A readiness probe of one shard. */
export interface ShardHealthCheck {
  readonly name: string;
  readonly keyspace: string;
  /**
   * Whether the replica is useless without it, so readiness should fail: true for the one
   * shard of an unsharded keyspace (or a vtgate), false for one shard of a sharded keyspace,
   * which holds only some users' rows — those users get a 503 per request, everyone else is
   * served, and `dependency_up` plus the MelaShardDown alert tell the operator.
   */
  readonly critical: boolean;
  readonly probe: () => Promise<unknown>;
}

/** Hands out globally unique ids (a Vitess sequence). */
export interface IdSource {
  next(): Promise<string>;
}

/**
 * What repositories use to reach sharded MySQL. Two implementations: the app-side
 * {@link ShardRouter} over plain MySQL shards, and {@link VtgateDatabase} for a real Vitess
 * vtgate, chosen by configuration. Repositories written against this interface run on both.
 */
export interface ShardedDatabase {
  execute<T extends Row[] | ResultSetHeader = Row[]>(
    route: Route,
    sql: string,
    params?: SqlParams,
  ): Promise<T>;
  executeIn<T extends Row>(
    route: { readonly keyspace: string; readonly table: string },
    keys: readonly KeyValue[],
    build: (keys: readonly KeyValue[]) => { readonly sql: string; readonly params: SqlParams },
  ): Promise<T[]>;
  scatter<T extends Row>(
    keyspace: string,
    sql: string,
    params?: SqlParams,
    options?: ScatterOptions,
  ): Promise<T[]>;
  transaction<T>(route: Route, fn: (tx: ShardTransaction) => Promise<T>): Promise<T>;
  autoIncrement(keyspace: string, table: string): IdSource;
  /** The shards a per-shard worker (such as the outbox relay) walks, one by one. */
  shardNames(keyspace: string): readonly string[];
  /** Runs `fn` on one dedicated connection to one of those shards, held until `fn` settles. */
  session<T>(
    keyspace: string,
    shard: string,
    fn: (session: ShardSession) => Promise<T>,
  ): Promise<T>;
  /** One readiness probe per shard (or per keyspace through vtgate), for the keyspaces a service uses. */
  healthChecks(keyspaces?: readonly string[]): ShardHealthCheck[];
  close(): Promise<void>;
}

/**
 * BEGIN, `work`, COMMIT on a pooled connection; ROLLBACK on any failure (reported through
 * `translate`), and the connection always goes back to the pool.
 */
export async function inTransaction<T>(
  connection: PoolConnection,
  work: () => Promise<T>,
  translate: (error: unknown) => unknown,
): Promise<T> {
  try {
    await connection.beginTransaction();
    const result = await work();
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw translate(error);
  } finally {
    connection.release();
  }
}

/**
 * A Date as DATETIME(3) text in UTC, as the pools exchange times (`dateStrings`, `timezone: 'Z'`).
 */
export function toSqlTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** DATETIME(3) text (UTC), as the pools return it, back to an ISO 8601 instant. */
export function fromSqlTime(value: string): string {
  return `${value.replace(' ', 'T')}Z`;
}
