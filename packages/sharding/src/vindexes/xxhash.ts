import xxhash from 'xxhash-wasm';
import type { KeyspaceId } from '../keyrange.js';
import type { FunctionalVindex, KeyValue } from './vindex.js';

const hasher = await xxhash();
const encoder = new TextEncoder();

/**
 * Vitess `xxhash`: xxHash64 (seed 0) of the value's bytes — an integer's decimal text, a
 * string's UTF-8 — written as 8 bytes little-endian. Works for any key type.
 */
export const xxhashVindex: FunctionalVindex = {
  kind: 'functional',
  type: 'xxhash',
  keyspaceId(value: KeyValue): KeyspaceId {
    const bytes = encoder.encode(typeof value === 'string' ? value : value.toString());
    const id = Buffer.alloc(8);
    id.writeBigUInt64LE(hasher.h64Raw(bytes, 0n));
    return id;
  },
};
