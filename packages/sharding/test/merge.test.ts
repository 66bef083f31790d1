import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Row } from '../src/index.js';
import { compareValues, mergeSorted } from '../src/router.js';

/** Rows as mysql2 gives them (plain objects). */
const rows = (...values: Record<string, unknown>[]) => values as Row[];

describe('merging shards’ sorted rows (a scatter query’s ORDER BY)', () => {
  it('when each shard’s rows are sorted, then the merge is sorted across shards and keeps every row', () => {
    const merged = mergeSorted(
      [
        rows({ id: '3' }, { id: '10' }, { id: '42' }),
        rows(),
        rows({ id: '1' }, { id: '11' }),
        rows({ id: '2' }, { id: '10' }),
      ],
      [{ column: 'id' }],
    );
    assert.deepEqual(
      merged.map((r) => String(r['id'])),
      ['1', '2', '3', '10', '10', '11', '42'],
    );
  });

  it('when the order is descending on one column and ascending on the next, then both hold', () => {
    const merged = mergeSorted(
      [
        rows({ at: 9, id: 1 }, { at: 5, id: 2 }),
        rows({ at: 9, id: 0 }, { at: 5, id: 7 }, { at: null, id: 3 }),
      ],
      [{ column: 'at', desc: true }, { column: 'id' }],
    );
    assert.deepEqual(
      merged.map((r): unknown[] => [r['at'], r['id']]),
      [
        [9, 0],
        [9, 1],
        [5, 2],
        [5, 7],
        [null, 3],
      ],
    );
  });
});

describe('comparing column values', () => {
  it('when ids are digits of different lengths, then they compare as numbers, beyond 2^53 too', () => {
    assert.ok(compareValues('9', '10') < 0);
    assert.ok(compareValues('18014398509481985', '18014398509481984') > 0);
    assert.ok(compareValues(null, 0) < 0);
    assert.equal(compareValues('b', 'b'), 0);
  });
});
