#!/usr/bin/env node
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { commandHelp, ConfigError, readCommandLine } from '@mela/core';
import { loadShardingConfig, loadVSchema } from './config.js';
import { KeyRangeError, keyspaceIdHex, parseShardSet, rangeFor } from './keyrange.js';
import { dropOldShards, reshard } from './resharding.js';
import { hashVindex } from './vindexes/hash.js';
import { VindexValueError, type FunctionalVindex } from './vindexes/vindex.js';
import { xxhashVindex } from './vindexes/xxhash.js';
import { VSchemaError, parseShardMap } from './vschema.js';

const commands = {
  usage: 'npm run shard -- <command> [options] [value]',
  summary: `The sharding operator's commands. Only the answer goes to stdout; errors go to stderr
with exit code 2.

  keyspace-id --vindex <hash|xxhash> <value>                the keyspace ID, lowercase hex
  which --shards <-80,80-> --vindex <hash|xxhash> <value>   the shard that owns the value
  reshard --keyspace <name> --to <json|@file>               move a keyspace to new shards
        (reads VSCHEMA_FILE and SHARD_MAP_FILE, and rewrites SHARD_MAP_FILE at the cut-over)
  drop-old --keyspace <name> --shards <json|@file>          drop the tables left on old shards`,
  allowPositionals: true,
  options: {
    vindex: { type: 'string', value: 'NAME', help: 'hash or xxhash' },
    shards: { type: 'string', value: 'SET', help: 'which: -80,80-; drop-old: a JSON shard map' },
    keyspace: { type: 'string', value: 'NAME', help: 'reshard, drop-old: the keyspace' },
    to: { type: 'string', value: 'JSON', help: "reshard: the keyspace's new shard map (or @file)" },
  },
} as const;

class UsageError extends Error {}

const vindexes: Readonly<Record<string, FunctionalVindex>> = {
  hash: hashVindex,
  xxhash: xxhashVindex,
};

function vindexFrom(name: string | undefined): FunctionalVindex {
  const vindex = vindexes[name ?? ''];
  if (!vindex) throw new UsageError(`--vindex must be one of ${Object.keys(vindexes).join(', ')}`);
  return vindex;
}

function jsonArgument(value: string | undefined, flag: string): unknown {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

async function main(argv: readonly string[]): Promise<string> {
  const read = readCommandLine(commands, argv);
  if (!('values' in read)) {
    if (read.exitCode === 0) return commandHelp(commands).trimEnd();
    throw new UsageError(read.stderr?.split('\n')[0] ?? 'bad arguments');
  }
  const { values } = read;
  const [command, ...positionals] = read.positionals;
  switch (command) {
    case 'keyspace-id': {
      const [value] = positionals;
      if (value === undefined) throw new UsageError('give the value to map');
      return keyspaceIdHex(vindexFrom(values.vindex).keyspaceId(value));
    }
    case 'which': {
      const [value] = positionals;
      if (value === undefined) throw new UsageError('give the value to place');
      if (values.shards === undefined)
        throw new UsageError('--shards is required, e.g. --shards=-80,80-');
      const shards = parseShardSet(values.shards.split(','));
      return rangeFor(shards, vindexFrom(values.vindex).keyspaceId(value)).name;
    }
    case 'reshard': {
      const keyspace = values.keyspace ?? '';
      const file = process.env['SHARD_MAP_FILE'];
      if (file === undefined)
        throw new UsageError('set SHARD_MAP_FILE to the shard map the services read');
      const config = loadShardingConfig(process.env);
      if (config.mode !== 'router')
        throw new UsageError('with MYSQL_MODE=vtgate, reshard with Vitess (vtctldclient Reshard)');
      const current = JSON.parse(readFileSync(file, 'utf8')) as Record<
        string,
        Record<string, string>
      >;
      const wanted = {
        ...current,
        [keyspace]: jsonArgument(values.to, '--to') as Record<string, string>,
      };
      const target = parseShardMap(wanted, config.vschema).get(keyspace) ?? [];
      const source = config.shardMap.get(keyspace);
      if (!source) throw new UsageError(`--keyspace: "${keyspace}" is not in the shard map`);
      const report = await reshard({
        vschema: config.vschema,
        keyspace,
        source,
        target,
        log: (line) => process.stderr.write(`[mela-shard] ${line}\n`),
        switchRouting: () => {
          writeFileSync(
            `${file}.before-reshard-${Date.now()}.json`,
            JSON.stringify(current, null, 2),
          );
          writeFileSync(`${file}.next`, `${JSON.stringify(wanted, null, 2)}\n`);
          renameSync(`${file}.next`, file);
        },
      });
      return JSON.stringify(report, null, 2);
    }
    case 'drop-old': {
      const keyspace = values.keyspace ?? '';
      const shards = jsonArgument(values.shards, '--shards') as Record<string, string>;
      const old = parseShardSet(Object.keys(shards)).map((range) => ({
        ...range,
        keyspace,
        url: shards[range.name] ?? '',
      }));
      await dropOldShards(loadVSchema(process.env['VSCHEMA_FILE']), keyspace, old);
      return `dropped the ${keyspace} tables on ${old.map((s) => s.name).join(',')}`;
    }
    default:
      throw new UsageError(
        command === undefined ? 'give a command' : `unknown command "${command}"`,
      );
  }
}

main(process.argv.slice(2)).then(
  (output) => {
    process.stdout.write(`${output}\n`);
  },
  (error: unknown) => {
    const known = [UsageError, VindexValueError, KeyRangeError, VSchemaError, ConfigError].some(
      (type) => error instanceof type,
    );
    process.stderr.write(`mela-shard: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${commandHelp(commands)}`);
    process.exitCode = known ? 2 : 1;
  },
);
