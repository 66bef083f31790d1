import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  keyRangeContains,
  keyRangesIntersect,
  parseKeyRange,
  parseShardSet,
  rangeFor,
} from '../src/index.js';

const id = (hex: string) => Buffer.from(hex, 'hex');

describe('keyranges', () => {
  it('when a range is -80, then it holds everything below 0x80 and nothing from 0x80 on', () => {
    const range = parseKeyRange('-80');

    assert.ok(keyRangeContains(range, id('0000000000000000')));
    assert.ok(keyRangeContains(range, id('7fffffffffffffff')));
    assert.ok(!keyRangeContains(range, id('8000000000000000')));
  });

  it('when a range is 40-80, then its start is inclusive and its end exclusive', () => {
    const range = parseKeyRange('40-80');

    assert.ok(!keyRangeContains(range, id('3fffffffffffffff')));
    assert.ok(keyRangeContains(range, id('4000000000000000')));
    assert.ok(!keyRangeContains(range, id('8000000000000000')));
  });

  it('when shard names cover the keyspace, then a key lands on exactly one of them', () => {
    const shards = parseShardSet(['80-c0', '-40', 'c0-', '40-80']);

    assert.deepEqual(
      shards.map((s) => s.name),
      ['-40', '40-80', '80-c0', 'c0-'],
    );
    assert.equal(rangeFor(shards, id('166b40b44aba4bd6')).name, '-40');
    assert.equal(rangeFor(shards, id('4eb190c9a2fa169c')).name, '40-80');
    assert.equal(rangeFor(shards, id('d2fd8867d50d2dfe')).name, 'c0-');
    assert.deepEqual(
      parseShardSet(['0']).map((s) => s.name),
      ['0'],
    );
  });

  it('when shard names leave a gap or overlap, then the error says where', () => {
    assert.throws(() => parseShardSet(['-40', '80-']), /leave a gap before "80-"/);
    assert.throws(() => parseShardSet(['-80', '40-']), /overlap at "40-"/);
    assert.throws(() => parseShardSet(['-80', '80-c0']), /leave a gap at the end/);
    assert.throws(() => parseShardSet(['-', '80-']), /overlap/);
    assert.throws(() => parseShardSet([]), /at least one shard/);
  });

  it('when a shard name is malformed, then it is named in the error', () => {
    assert.throws(() => parseKeyRange('80'), /"80" is not a keyrange/);
    assert.throws(() => parseKeyRange('-8'), /"8" is not lowercase hex in whole bytes/);
    assert.throws(() => parseKeyRange('-AB'), /not lowercase hex/);
    assert.throws(() => parseKeyRange('80-40'), /start is not below the end/);
  });

  it('when ranges are compared, then trailing zero bytes do not matter', () => {
    assert.ok(keyRangesIntersect(parseKeyRange('-80'), parseKeyRange('40-8000')));
    assert.ok(!keyRangesIntersect(parseKeyRange('-80'), parseKeyRange('8000-')));
    assert.deepEqual(
      parseShardSet(['-8000', '80-']).map((s) => s.name),
      ['-8000', '80-'],
    );
  });
});
