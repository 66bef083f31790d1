import { AppError, DependencyUnavailableError } from '@mela/core';

/** A shard cannot be reached or did not answer in time: 503 for the users it serves. */
export class ShardUnavailableError extends DependencyUnavailableError {
  override readonly name: string = 'ShardUnavailableError';
  readonly keyspace: string;
  readonly shard: string;

  constructor(keyspace: string, shard: string, cause: unknown) {
    super(`mysql ${keyspace}/${shard}`, cause);
    this.keyspace = keyspace;
    this.shard = shard;
  }
}

/** Writes to a keyspace being resharded are refused for a moment; retry shortly. */
export class ReshardingInProgressError extends AppError {
  override readonly name: string = 'ReshardingInProgressError';
  constructor(keyspace: string, shard: string, cause: unknown) {
    super('resharding_in_progress', 503, 'Service unavailable', {
      detail: `Writes to ${keyspace}/${shard} are paused while the keyspace is resharded; retry shortly.`,
      cause,
      headers: { 'Retry-After': '1' },
    });
  }
}

/** A transaction tried to touch a second shard: refused, never a partial cross-shard write. */
export class CrossShardTransactionError extends AppError {
  override readonly name: string = 'CrossShardTransactionError';
  constructor(keyspace: string, open: string, other: string) {
    super('cross_shard_transaction', 500, 'Internal server error', {
      detail: `A transaction on ${keyspace}/${open} cannot touch ${keyspace}/${other}: transactions are confined to one shard.`,
    });
  }
}

/** A sharding key that its vindex cannot map (e.g. text for a numeric `hash` vindex). */
export class InvalidShardKeyError extends AppError {
  override readonly name: string = 'InvalidShardKeyError';
  constructor(detail: string) {
    super('invalid_shard_key', 400, 'Invalid request', { detail });
  }
}

/** The SQLSTATE message the deny-writes triggers raise during a resharding cut-over. */
export const reshardingDenyMessage = 'mela_resharding: writes are paused';

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
]);

/** Turns a driver error into the error a caller should see, or undefined to rethrow as is. */
export function classifyShardError(
  error: unknown,
  keyspace: string,
  shard: string,
): { reason: 'unavailable' | 'timeout' | 'resharding'; error: AppError } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, fatal, sqlMessage } = error as Error & {
    code?: string;
    fatal?: boolean;
    sqlMessage?: string;
  };
  if (sqlMessage?.includes('mela_resharding') === true) {
    return { reason: 'resharding', error: new ReshardingInProgressError(keyspace, shard, error) };
  }
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT' || code === 'ETIMEDOUT') {
    return { reason: 'timeout', error: new ShardUnavailableError(keyspace, shard, error) };
  }
  const unavailable =
    (code !== undefined && unavailableCodes.has(code)) ||
    fatal === true ||
    error.message.includes('Pool is closed');
  if (unavailable) {
    return { reason: 'unavailable', error: new ShardUnavailableError(keyspace, shard, error) };
  }
  return undefined;
}
