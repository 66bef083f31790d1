import { readFileSync } from 'node:fs';
import { envBool, envInt, loadConfig } from '@mela/core';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { ShardedDatabase } from './database.js';
import { ShardRouter } from './router.js';
import { VtgateDatabase } from './vtgate.js';
import {
  VSchemaError,
  defaultVSchema,
  parseShardMap,
  parseVSchema,
  type ShardMap,
  type VSchema,
} from './vschema.js';

/** How a service reaches MySQL: through the app-side router, or through a Vitess vtgate. */
export type ShardingConfig =
  | {
      readonly mode: 'router';
      readonly vschema: VSchema;
      readonly shardMap: ShardMap;
      readonly poolSize: number;
      readonly queryTimeoutMs: number;
      readonly scatterTimeoutMs: number;
      readonly trace: boolean;
    }
  | {
      readonly mode: 'vtgate';
      readonly vschema: VSchema;
      readonly vtgateUrl: string;
      readonly poolSize: number;
      readonly queryTimeoutMs: number;
      readonly trace: boolean;
    };

/**
 * The sharding variables. A service spreads them into its own schema and calls
 * {@link shardingConfigFrom} in the same parse, so one error lists every bad variable.
 */
export const shardingEnv = {
  /** `router` (default): app-side routing over plain MySQL shards; `vtgate`: one Vitess vtgate. */
  MYSQL_MODE: z.enum(['router', 'vtgate']).default('router'),
  /** VSchema JSON file; default: Mela's own (packages/sharding/vschema/mela.json). */
  VSCHEMA_FILE: z.string().min(1).optional(),
  /** Shard map JSON, `{"customer": {"-80": "mysql://…", "80-": "mysql://…"}, …}`. */
  SHARD_MAP: z.string().min(1).optional(),
  /** …or a file holding it (what `npm run shard -- reshard` rewrites). */
  SHARD_MAP_FILE: z.string().min(1).optional(),
  /** `mysql://user:password@host:port` of vtgate (MYSQL_MODE=vtgate). */
  VTGATE_URL: z.url().optional(),
  MYSQL_POOL_SIZE: envInt({ min: 1, max: 500 }).default(10),
  MYSQL_QUERY_TIMEOUT_MS: envInt({ min: 50, max: 600_000 }).default(5000),
  MYSQL_SCATTER_TIMEOUT_MS: envInt({ min: 50, max: 600_000 }).default(2000),
  /**
   * mysql2's long stack traces (the caller's stack captured on every query, for error
   * messages): off by default — the order service's profile showed it at 3.4 % of its CPU.
   */
  MYSQL_TRACE: envBool().default(false),
};

export type ShardingEnv = z.output<z.ZodObject<typeof shardingEnv>>;

/**
 * Loads the VSchema and the shard map that the variables name. Each problem becomes an issue on
 * `ctx` under the variable it belongs to (call it from the service schema's `transform`).
 */
export function shardingConfigFrom(e: ShardingEnv, ctx: z.RefinementCtx): ShardingConfig {
  const attempt = <T>(variable: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      const messages =
        error instanceof VSchemaError
          ? error.problems
          : [error instanceof Error ? error.message : String(error)];
      for (const message of messages) ctx.addIssue({ code: 'custom', path: [variable], message });
      return undefined;
    }
  };
  const vschema = attempt('VSCHEMA_FILE', () => loadVSchema(e.VSCHEMA_FILE));
  const pool = { poolSize: e.MYSQL_POOL_SIZE, queryTimeoutMs: e.MYSQL_QUERY_TIMEOUT_MS };
  if (e.MYSQL_MODE === 'vtgate') {
    const vtgateUrl = attempt('VTGATE_URL', () => {
      if (e.VTGATE_URL === undefined) throw new Error('required when MYSQL_MODE=vtgate');
      return e.VTGATE_URL;
    });
    if (!vschema || vtgateUrl === undefined) return z.NEVER;
    return { mode: 'vtgate', vschema, vtgateUrl, ...pool, trace: e.MYSQL_TRACE };
  }
  const variable = e.SHARD_MAP !== undefined ? 'SHARD_MAP' : 'SHARD_MAP_FILE';
  const raw = attempt(variable, () => {
    if (e.SHARD_MAP !== undefined) return e.SHARD_MAP;
    if (e.SHARD_MAP_FILE !== undefined) return readFileSync(e.SHARD_MAP_FILE, 'utf8');
    throw new Error('set SHARD_MAP or SHARD_MAP_FILE (or MYSQL_MODE=vtgate with VTGATE_URL)');
  });
  const json = raw === undefined ? undefined : attempt(variable, () => JSON.parse(raw) as unknown);
  const shardMap =
    vschema && json !== undefined
      ? attempt(variable, () => parseShardMap(json, vschema))
      : undefined;
  if (!vschema || !shardMap) return z.NEVER;
  return {
    mode: 'router',
    vschema,
    shardMap,
    ...pool,
    scatterTimeoutMs: e.MYSQL_SCATTER_TIMEOUT_MS,
    trace: e.MYSQL_TRACE,
  };
}

const shardingConfigSchema = z.object(shardingEnv).transform(shardingConfigFrom);

/**
 * The sharding configuration alone (tools and tests; a service parses it with its own
 * variables). A bad variable fails with a `ConfigError` naming it and each problem.
 */
export function loadShardingConfig(
  input: Readonly<Record<string, string | undefined>>,
): ShardingConfig {
  return loadConfig(shardingConfigSchema, input);
}

/** The VSchema in `file`, or Mela's own when no file is given. */
export function loadVSchema(file: string | undefined): VSchema {
  return file === undefined
    ? defaultVSchema()
    : parseVSchema(JSON.parse(readFileSync(file, 'utf8')));
}

/** Opens the configured {@link ShardedDatabase}; its metrics go to `registry`. */
export function openShardedDatabase(config: ShardingConfig, registry: Registry): ShardedDatabase {
  if (config.mode === 'vtgate') {
    return new VtgateDatabase({
      url: config.vtgateUrl,
      vschema: config.vschema,
      registry,
      poolSize: config.poolSize,
      queryTimeoutMs: config.queryTimeoutMs,
      trace: config.trace,
    });
  }
  return new ShardRouter({
    vschema: config.vschema,
    shardMap: config.shardMap,
    registry,
    poolSize: config.poolSize,
    queryTimeoutMs: config.queryTimeoutMs,
    scatterTimeoutMs: config.scatterTimeoutMs,
    trace: config.trace,
  });
}
