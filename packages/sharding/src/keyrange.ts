/** A keyspace ID: the bytes a vindex maps a sharding key to; shards own ranges of them. */
export type KeyspaceId = Uint8Array;

/** Lowercase hex of a keyspace ID, as Vitess prints them. */
export function keyspaceIdHex(id: KeyspaceId): string {
  return Buffer.from(id).toString('hex');
}

/** Byte-wise comparison, shorter-is-smaller on a common prefix (Vitess's ordering). */
export function compareKeyspaceIds(a: KeyspaceId, b: KeyspaceId): number {
  return Buffer.compare(a, b);
}

/**
 * A range of keyspace IDs, start inclusive and end exclusive. An empty start is the lowest
 * possible ID, an empty end is past the highest, so `-` is the whole keyspace.
 */
export interface KeyRange {
  /** The Vitess shard name: `-80`, `40-80`, `80-`, or `-` for the whole range. */
  readonly name: string;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

const hexBound = /^(?:[0-9a-f]{2})*$/;

/** An error in a shard name or a set of shard names. */
export class KeyRangeError extends Error {
  override readonly name = 'KeyRangeError';
}

/**
 * Parses a Vitess shard name. `0` (the name Vitess gives an unsharded keyspace's only shard)
 * is the whole range, like `-`.
 */
export function parseKeyRange(name: string): KeyRange {
  if (name === '0' || name === '-') return { name, start: new Uint8Array(), end: new Uint8Array() };
  const parts = name.split('-');
  const [start, end] = parts;
  if (parts.length !== 2 || start === undefined || end === undefined) {
    throw new KeyRangeError(`shard name "${name}" is not a keyrange like -80, 40-80 or 80-`);
  }
  for (const bound of [start, end]) {
    if (!hexBound.test(bound)) {
      throw new KeyRangeError(
        `shard name "${name}": "${bound}" is not lowercase hex in whole bytes`,
      );
    }
  }
  const range = { name, start: Buffer.from(start, 'hex'), end: Buffer.from(end, 'hex') };
  if (range.end.length > 0 && compareBounds(range.start, range.end) >= 0) {
    throw new KeyRangeError(`shard name "${name}": the start is not below the end`);
  }
  return range;
}

/**
 * Compares bounds as Vitess does: trailing zero bytes do not matter, so `80` and `8000` are
 * the same bound.
 */
function compareBounds(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(trimZeros(a), trimZeros(b));
}

function trimZeros(bound: Uint8Array): Uint8Array {
  let length = bound.length;
  while (length > 0 && bound[length - 1] === 0) length -= 1;
  return bound.subarray(0, length);
}

/** True when the keyspace ID falls in the range. */
export function keyRangeContains(range: KeyRange, id: KeyspaceId): boolean {
  if (range.start.length > 0 && Buffer.compare(id, range.start) < 0) return false;
  if (range.end.length > 0 && Buffer.compare(id, range.end) >= 0) return false;
  return true;
}

/** True when two ranges share at least one keyspace ID. */
export function keyRangesIntersect(a: KeyRange, b: KeyRange): boolean {
  const aEndsBeforeB = a.end.length > 0 && compareBounds(a.end, b.start) <= 0;
  const bEndsBeforeA = b.end.length > 0 && compareBounds(b.end, a.start) <= 0;
  return !aEndsBeforeB && !bEndsBeforeA;
}

/**
 * Parses shard names that together must cover the whole keyspace exactly once: sorted, with
 * no gap and no overlap. Returns the ranges in keyspace order.
 */
export function parseShardSet(names: readonly string[]): KeyRange[] {
  if (names.length === 0) throw new KeyRangeError('a keyspace needs at least one shard');
  const ranges = names.map(parseKeyRange).sort((a, b) => compareBounds(a.start, b.start));
  let expected: Uint8Array = new Uint8Array();
  for (const range of ranges) {
    const order = compareBounds(range.start, expected);
    if (order > 0) {
      throw new KeyRangeError(
        `shards ${names.join(',')} leave a gap before "${range.name}" (nothing serves ${hexOrMin(expected)}..${hexOrMin(range.start)})`,
      );
    }
    if (order < 0 || (expected.length > 0 && range.start.length === 0)) {
      throw new KeyRangeError(`shards ${names.join(',')} overlap at "${range.name}"`);
    }
    if (range.end.length === 0) {
      if (range !== ranges[ranges.length - 1]) {
        throw new KeyRangeError(`shards ${names.join(',')} overlap after "${range.name}"`);
      }
      return ranges;
    }
    expected = range.end;
  }
  throw new KeyRangeError(
    `shards ${names.join(',')} leave a gap at the end (nothing serves ${hexOrMin(expected)}-)`,
  );
}

function hexOrMin(bound: Uint8Array): string {
  return bound.length === 0 ? '(start)' : Buffer.from(bound).toString('hex');
}

/** The range among `ranges` (a full, non-overlapping set) that owns the keyspace ID. */
export function rangeFor<R extends KeyRange>(ranges: readonly R[], id: KeyspaceId): R {
  for (const range of ranges) if (keyRangeContains(range, id)) return range;
  throw new KeyRangeError(`no shard owns keyspace id ${keyspaceIdHex(id)}`);
}
