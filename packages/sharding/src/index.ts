export {
  loadShardingConfig,
  loadVSchema,
  openShardedDatabase,
  shardingConfigFrom,
  shardingEnv,
} from './config.js';
export type { ShardingConfig, ShardingEnv } from './config.js';
export { fromSqlTime, toSqlTime } from './database.js';
export type { IdSource, ShardHealthCheck, ShardedDatabase } from './database.js';
export {
  CrossShardTransactionError,
  InvalidShardKeyError,
  ReshardingInProgressError,
  ShardUnavailableError,
} from './errors.js';
export {
  KeyRangeError,
  compareKeyspaceIds,
  keyRangeContains,
  keyRangesIntersect,
  keyspaceIdHex,
  parseKeyRange,
  parseShardSet,
  rangeFor,
} from './keyrange.js';
export type { KeyRange, KeyspaceId } from './keyrange.js';
export { ReshardError, dropOldShards, reshard } from './resharding.js';
export type { ReshardOptions, ReshardReport, ShardDigest } from './resharding.js';
export { ShardRouter, affectedRows, compareValues, rowsOf } from './router.js';
export type {
  BatchResult,
  BatchStatement,
  Route,
  RouterOptions,
  Row,
  ScatterOptions,
  Shard,
  ShardSession,
  ShardTransaction,
  SqlParams,
} from './router.js';
export { Sequence } from './sequence.js';
export { hashVindex, toUint64 } from './vindexes/hash.js';
export { VindexValueError } from './vindexes/vindex.js';
export type { FunctionalVindex, KeyValue } from './vindexes/vindex.js';
export { xxhashVindex } from './vindexes/xxhash.js';
export { VtgateDatabase } from './vtgate.js';
export type { VtgateOptions } from './vtgate.js';
export {
  VSchemaError,
  defaultVSchema,
  parseShardMap,
  parseVSchema,
  resolveTable,
  vindexTypes,
  vschemaJson,
} from './vschema.js';
export type {
  KeyspaceDefinition,
  ShardDefinition,
  ShardMap,
  ShardMapJson,
  TableDefinition,
  VSchema,
  VSchemaJson,
  VindexDefinition,
  VindexType,
} from './vschema.js';
