import { readFileSync } from 'node:fs';
import { ConfigError, envBool, envInt } from '@mela/platform';
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

const env = z.object({
  /** `router` (default): app-side routing over plain MySQL shards; `vtgate`: one Vitess vtgate. */
  MYSQL_MODE: z.enum(['router', 'vtgate']).default('router'),
  /** VSchema JSON file; default: Mela's own (packages/sharding/vschema/mela.json). */
  VSCHEMA_FILE: z.string().min(1).optional(),
  /** Shard map JSON, `{"customer": {"-80": "mysql://…", "80-": "mysql://…"}, …}`. */
  SHARD_MAP: z.string().min(1).optional(),
  /** …or a file holding it (what `mela-shard reshard` rewrites). */
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
});

/** The variables the sharding configuration reads. */
export const shardingVariables: readonly string[] = Object.keys(env.shape);

/**
 * Reads the sharding variables, loads and validates the VSchema and the shard map; a bad one
 * fails start-up with a {@link ConfigError} naming the variable and each problem.
 */
export function loadShardingConfig(
  input: Readonly<Record<string, string | undefined>>,
): ShardingConfig {
  const parsed = env.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        variable: i.path.map(String).join('.'),
        message: i.message,
      })),
    );
  }
  const e = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  const attempt = <T>(variable: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof VSchemaError)
        problems.push(...error.problems.map((message) => ({ variable, message })));
      else
        problems.push({
          variable,
          message: error instanceof Error ? error.message : String(error),
        });
      return undefined;
    }
  };
  const vschema = attempt('VSCHEMA_FILE', () => loadVSchema(e.VSCHEMA_FILE));
  if (e.MYSQL_MODE === 'vtgate') {
    if (e.VTGATE_URL === undefined)
      problems.push({ variable: 'VTGATE_URL', message: 'required when MYSQL_MODE=vtgate' });
    if (problems.length > 0 || !vschema || e.VTGATE_URL === undefined)
      throw new ConfigError(problems);
    return {
      mode: 'vtgate',
      vschema,
      vtgateUrl: e.VTGATE_URL,
      poolSize: e.MYSQL_POOL_SIZE,
      queryTimeoutMs: e.MYSQL_QUERY_TIMEOUT_MS,
      trace: e.MYSQL_TRACE,
    };
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
  if (problems.length > 0 || !vschema || !shardMap) throw new ConfigError(problems);
  return {
    mode: 'router',
    vschema,
    shardMap,
    poolSize: e.MYSQL_POOL_SIZE,
    queryTimeoutMs: e.MYSQL_QUERY_TIMEOUT_MS,
    scatterTimeoutMs: e.MYSQL_SCATTER_TIMEOUT_MS,
    trace: e.MYSQL_TRACE,
  };
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
