import des from 'des.js';
import type { KeyspaceId } from '../keyrange.js';
import { VindexValueError, type FunctionalVindex, type KeyValue } from './vindex.js';

// Vitess's `hash` vindex is DES in ECB mode with an all-zero key over the 8-byte big-endian
// value. OpenSSL 3 keeps DES in its legacy provider only, so a pure-JS DES is used instead.
const zeroKey = new Array<number>(8).fill(0);
const encryptor = des.DES.create({ type: 'encrypt', key: zeroKey, padding: false });

const maxUint64 = (1n << 64n) - 1n;
const minInt64 = -(1n << 63n);

/** The unsigned 64-bit integer a value stands for; negative int64s wrap as in Vitess. */
export function toUint64(value: KeyValue): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new VindexValueError(`hash vindex needs an integer, got ${String(value)}`);
    }
    n = BigInt(value);
  } else {
    if (!/^-?\d{1,20}$/.test(value)) {
      throw new VindexValueError(`hash vindex could not parse value: '${value.slice(0, 40)}'`);
    }
    n = BigInt(value);
  }
  if (n < minInt64 || n > maxUint64) {
    throw new VindexValueError(`hash vindex value ${n.toString()} does not fit 64 bits`);
  }
  return n < 0n ? n + (1n << 64n) : n;
}

/** Vitess `hash`: DES-ECB(zero key, uint64 big-endian). Reversible. */
export const hashVindex: FunctionalVindex & { reverse(id: KeyspaceId): bigint } = {
  kind: 'functional',
  type: 'hash',
  keyspaceId(value: KeyValue): KeyspaceId {
    const block = Buffer.alloc(8);
    block.writeBigUInt64BE(toUint64(value));
    return Uint8Array.from(encryptor.update(block));
  },
  reverse(id: KeyspaceId): bigint {
    if (id.length !== 8) {
      throw new VindexValueError(`invalid keyspace id: ${Buffer.from(id).toString('hex')}`);
    }
    // des.js holds back the last block when decrypting, so each reversal gets its own cipher.
    const decryptor = des.DES.create({ type: 'decrypt', key: zeroKey, padding: false });
    const plain = [...decryptor.update(Array.from(id)), ...decryptor.final()];
    return Buffer.from(plain).readBigUInt64BE();
  },
};
