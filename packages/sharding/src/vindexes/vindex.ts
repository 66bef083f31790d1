import type { KeyspaceId } from '../keyrange.js';

/** A sharding key value as the application has it. */
export type KeyValue = string | number | bigint;

/** A vindex computed from the value alone (hash, xxhash): no I/O, always unique. */
export interface FunctionalVindex {
  readonly kind: 'functional';
  readonly type: string;
  keyspaceId(value: KeyValue): KeyspaceId;
}

/** An error in a sharding key value (not a number for `hash`, ...): a client error. */
export class VindexValueError extends Error {
  override readonly name = 'VindexValueError';
}
