import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashVindex, keyspaceIdHex, xxhashVindex } from '../src/index.js';

describe('the hash vindex', () => {
  it("when mapping 1..6, then the keyspace IDs are Vitess's published ones", () => {
    // vitess/go/vt/vtgate/vindexes/hash_test.go, TestHashMap
    const expected = [
      '166b40b44aba4bd6',
      '06e7ea22ce92708f',
      '4eb190c9a2fa169c',
      'd2fd8867d50d2dfe',
      '70bb023c810ca87a',
      'f098480ac4c4be71',
    ];

    const actual = [1, 2, 3, 4, 5, 6].map((n) => keyspaceIdHex(hashVindex.keyspaceId(n)));

    assert.deepEqual(actual, expected);
  });

  it('when the value is a numeric string or a bigint, then it maps like the number', () => {
    assert.equal(keyspaceIdHex(hashVindex.keyspaceId('1')), '166b40b44aba4bd6');
    assert.equal(keyspaceIdHex(hashVindex.keyspaceId(1n)), '166b40b44aba4bd6');
  });

  it('when a keyspace ID is reversed, then the original value comes back', () => {
    for (const value of [1n, 42n, 9007199254740993n, 18446744073709551615n]) {
      assert.equal(hashVindex.reverse(hashVindex.keyspaceId(value)), value);
    }
  });

  it('when the value is not an integer, then it is refused with the value named', () => {
    assert.throws(() => hashVindex.keyspaceId('aa'), /could not parse value: 'aa'/);
    assert.throws(() => hashVindex.keyspaceId(1.5), /needs an integer/);
    assert.throws(() => hashVindex.keyspaceId('18446744073709551616'), /does not fit 64 bits/);
  });

  it('when the keyspace ID is not 8 bytes, then reversing is refused', () => {
    assert.throws(() => hashVindex.reverse(new Uint8Array(16)), /invalid keyspace id/);
  });
});

describe('the xxhash vindex', () => {
  it("when mapping Vitess's test values, then the keyspace IDs match", () => {
    // vitess/go/vt/vtgate/vindexes/xxhash_test.go, TestXXHashMap
    const cases: [string | number | bigint, string][] = [
      ['test1', 'd01ab7e4d6978f0b'],
      ['test2', '87eb11714c0a0e89'],
      ['testaverylongvaluetomakesurethisworks', '81d8c38e0d850e6a'],
      [1, 'd46405367612b4b7'],
      [-1, 'd8e2a6a7c8c7623d'],
      [18446744073709551615n, '477cfa8d6d8f1f8d'],
      [9223372036854775807n, 'b37eb01f7bffafd8'],
      [-9223372036854775808n, '102c27ddb26a609e'],
    ];

    for (const [value, hex] of cases) {
      assert.equal(keyspaceIdHex(xxhashVindex.keyspaceId(value)), hex, `xxhash(${String(value)})`);
    }
  });
});
