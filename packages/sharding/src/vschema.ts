import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KeyRangeError, parseShardSet, type KeyRange } from './keyrange.js';

/** A VSchema or shard map that does not hold together; `problems` names each issue. */
export class VSchemaError extends Error {
  override readonly name = 'VSchemaError';
  readonly problems: readonly string[];

  constructor(what: string, problems: readonly string[]) {
    super(`${what} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

const vindexJson = z.strictObject({
  type: z.string().min(1),
  params: z.record(z.string(), z.string()).optional(),
  owner: z.string().optional(),
});

const columnVindexJson = z.strictObject({ column: z.string().min(1), name: z.string().min(1) });

const tableJson = z.strictObject({
  type: z.enum(['sequence', 'reference']).optional(),
  column_vindexes: z.array(columnVindexJson).optional(),
  auto_increment: z
    .strictObject({ column: z.string().min(1), sequence: z.string().min(1) })
    .optional(),
  source: z.string().optional(),
});

const keyspaceJson = z.strictObject({
  sharded: z.boolean().default(false),
  vindexes: z.record(z.string(), vindexJson).default({}),
  tables: z.record(z.string(), tableJson).default({}),
});

/** The VSchema JSON, in the shape Vitess uses for a SrvVSchema. */
export const vschemaJson = z.strictObject({ keyspaces: z.record(z.string(), keyspaceJson) });
export type VSchemaJson = z.input<typeof vschemaJson>;

/** The vindex types Mela implements, with the same keyspace IDs as Vitess. */
export const vindexTypes = ['hash', 'xxhash', 'lookup_unique'] as const;
export type VindexType = (typeof vindexTypes)[number];

export interface VindexDefinition {
  readonly name: string;
  readonly type: VindexType;
  /** For `lookup_unique`: the lookup table (`keyspace.table`) and its columns. */
  readonly lookup?: {
    readonly keyspace: string;
    readonly table: string;
    readonly from: string;
    readonly to: string;
  };
  readonly owner?: string;
}

export interface TableDefinition {
  readonly name: string;
  readonly type: 'table' | 'sequence' | 'reference';
  /** The first column vindex: it decides where a row lives. */
  readonly primaryVindex?: { readonly column: string; readonly vindex: string };
  /** Further column vindexes (such as a lookup from order id). */
  readonly secondaryVindexes: readonly { readonly column: string; readonly vindex: string }[];
  readonly autoIncrement?: { readonly column: string; readonly sequence: string };
}

export interface KeyspaceDefinition {
  readonly name: string;
  readonly sharded: boolean;
  readonly vindexes: ReadonlyMap<string, VindexDefinition>;
  readonly tables: ReadonlyMap<string, TableDefinition>;
}

/** A validated VSchema. */
export interface VSchema {
  readonly keyspaces: ReadonlyMap<string, KeyspaceDefinition>;
}

/** Parses and validates a VSchema, reporting every problem at once. */
export function parseVSchema(input: unknown): VSchema {
  const parsed = vschemaJson.safeParse(input);
  if (!parsed.success) {
    throw new VSchemaError(
      'the VSchema',
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const keyspaces = new Map<string, KeyspaceDefinition>();
  for (const [ksName, ks] of Object.entries(parsed.data.keyspaces)) {
    const vindexes = new Map<string, VindexDefinition>();
    for (const [name, v] of Object.entries(ks.vindexes)) {
      if (!(vindexTypes as readonly string[]).includes(v.type)) {
        problems.push(
          `${ksName}: vindex "${name}" has unknown type "${v.type}" (known: ${vindexTypes.join(', ')})`,
        );
        continue;
      }
      const type = v.type as VindexType;
      if (type === 'lookup_unique') {
        const { table, from, to } = v.params ?? {};
        const [lookupKs, lookupTable, extra] = (table ?? '').split('.');
        if (!lookupKs || !lookupTable || extra !== undefined || !from || !to) {
          problems.push(
            `${ksName}: lookup vindex "${name}" needs params table ("keyspace.table"), from and to`,
          );
          continue;
        }
        vindexes.set(name, {
          name,
          type,
          lookup: { keyspace: lookupKs, table: lookupTable, from, to },
          ...(v.owner ? { owner: v.owner } : {}),
        });
      } else {
        vindexes.set(name, { name, type, ...(v.owner ? { owner: v.owner } : {}) });
      }
    }
    const tables = new Map<string, TableDefinition>();
    for (const [tableName, t] of Object.entries(ks.tables)) {
      const where = `${ksName}.${tableName}`;
      const type = t.type ?? 'table';
      const columnVindexes = (t.column_vindexes ?? []).map((c) => ({
        column: c.column,
        vindex: c.name,
      }));
      for (const cv of columnVindexes) {
        if (!ks.vindexes[cv.vindex])
          problems.push(`${where}: column ${cv.column} uses unknown vindex "${cv.vindex}"`);
      }
      if (type === 'sequence' && ks.sharded) {
        problems.push(`${where}: sequence tables must live in an unsharded keyspace`);
      }
      if (!ks.sharded && columnVindexes.length > 0) {
        problems.push(`${where}: column_vindexes only make sense in a sharded keyspace`);
      }
      if (ks.sharded && type === 'table' && columnVindexes.length === 0) {
        problems.push(
          `${where}: a table in a sharded keyspace needs a primary vindex (column_vindexes[0])`,
        );
      }
      const [primary, ...secondary] = columnVindexes;
      if (primary && ks.vindexes[primary.vindex]?.type === 'lookup_unique') {
        problems.push(
          `${where}: the primary vindex must be computed from the row (hash, xxhash), not a lookup`,
        );
      }
      tables.set(tableName, {
        name: tableName,
        type,
        ...(ks.sharded && primary ? { primaryVindex: primary } : {}),
        secondaryVindexes: secondary,
        ...(t.auto_increment ? { autoIncrement: t.auto_increment } : {}),
      });
    }
    keyspaces.set(ksName, { name: ksName, sharded: ks.sharded, vindexes, tables });
  }
  for (const ks of keyspaces.values()) {
    for (const table of ks.tables.values()) {
      if (table.autoIncrement) {
        const seq = resolveTable(keyspaces, ks.name, table.autoIncrement.sequence);
        if (seq?.type !== 'sequence') {
          problems.push(
            `${ks.name}.${table.name}: auto_increment sequence "${table.autoIncrement.sequence}" is not a sequence table`,
          );
        }
      }
    }
    for (const vindex of ks.vindexes.values()) {
      if (!vindex.lookup) continue;
      const lookupKs = keyspaces.get(vindex.lookup.keyspace);
      const lookupTable = lookupKs?.tables.get(vindex.lookup.table);
      if (!lookupKs || !lookupTable) {
        problems.push(
          `${ks.name}: lookup vindex "${vindex.name}" uses unknown table ${vindex.lookup.keyspace}.${vindex.lookup.table}`,
        );
      } else if (lookupKs.sharded && lookupTable.primaryVindex?.column !== vindex.lookup.from) {
        problems.push(
          `${ks.name}: lookup table ${vindex.lookup.keyspace}.${vindex.lookup.table} must be sharded by its "${vindex.lookup.from}" column`,
        );
      }
    }
  }
  if (problems.length > 0) throw new VSchemaError('the VSchema', problems);
  return { keyspaces };
}

/** Finds `name` or `keyspace.name` from the point of view of keyspace `from`. */
export function resolveTable(
  keyspaces: ReadonlyMap<string, KeyspaceDefinition>,
  from: string,
  name: string,
): TableDefinition | undefined {
  const [a, b] = name.split('.');
  if (b !== undefined && a !== undefined) return keyspaces.get(a)?.tables.get(b);
  const local = keyspaces.get(from)?.tables.get(name);
  if (local) return local;
  for (const ks of keyspaces.values()) {
    const found = ks.tables.get(name);
    if (found) return found;
  }
  return undefined;
}

/** Where each shard of each keyspace is: `{ customer: { "-80": "mysql://…", "80-": "mysql://…" } }`. */
export type ShardMapJson = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface ShardDefinition extends KeyRange {
  readonly keyspace: string;
  readonly url: string;
}

/** A validated shard map: per keyspace, shards in keyrange order covering the keyspace. */
export type ShardMap = ReadonlyMap<string, readonly ShardDefinition[]>;

const shardMapJson = z.record(
  z.string(),
  z.record(
    z.string(),
    z
      .string()
      .refine(
        (url) => /^mysql:\/\/[^\s]+$/.test(url) && URL.canParse(url),
        'must be a mysql:// URL',
      ),
  ),
);

/** Validates a shard map against the VSchema: every keyspace served, keyranges complete. */
export function parseShardMap(input: unknown, vschema: VSchema): ShardMap {
  const parsed = shardMapJson.safeParse(input);
  if (!parsed.success) {
    throw new VSchemaError(
      'the shard map',
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const map = new Map<string, ShardDefinition[]>();
  for (const ks of vschema.keyspaces.values()) {
    const shards = parsed.data[ks.name];
    if (!shards) {
      problems.push(`keyspace "${ks.name}" has no shards`);
      continue;
    }
    const names = Object.keys(shards);
    if (!ks.sharded && (names.length !== 1 || !['0', '-'].includes(names[0] ?? ''))) {
      problems.push(
        `keyspace "${ks.name}" is unsharded: it has exactly one shard named "0" or "-"`,
      );
      continue;
    }
    try {
      map.set(
        ks.name,
        parseShardSet(names).map((range) => ({
          ...range,
          keyspace: ks.name,
          url: shards[range.name] ?? '',
        })),
      );
    } catch (error) {
      if (!(error instanceof KeyRangeError)) throw error;
      problems.push(`keyspace "${ks.name}": ${error.message}`);
    }
  }
  for (const name of Object.keys(parsed.data)) {
    if (!vschema.keyspaces.has(name)) problems.push(`keyspace "${name}" is not in the VSchema`);
  }
  if (problems.length > 0) throw new VSchemaError('the shard map', problems);
  return map;
}

/** Mela's own VSchema (commerce unsharded, customer sharded by user id), shipped with the package. */
export function defaultVSchema(): VSchema {
  const file = new URL('../../vschema/mela.json', import.meta.url);
  return parseVSchema(JSON.parse(readFileSync(file, 'utf8')));
}
