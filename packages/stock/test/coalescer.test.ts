import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../src/coalescer.js';

/** A flush the test releases by hand, recording what each flush carried. */
function heldFlushes() {
  const flushed: number[][] = [];
  const release: (() => void)[] = [];
  const fail: ((error: Error) => void)[] = [];
  const coalescer = new Coalescer<number>(
    (items) =>
      new Promise<void>((resolve, reject) => {
        flushed.push([...items]);
        release.push(resolve);
        fail.push(reject);
      }),
  );
  return { coalescer, flushed, release, fail };
}

/** Lets queued promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('when one item comes alone, then it is flushed at once, on its own', async () => {
    const { coalescer, flushed, release } = heldFlushes();
    const done = coalescer.add(1);
    await settle();
    assert.deepEqual(flushed, [[1]]);
    release[0]?.();
    await done;
  });

  it('when items arrive while a flush is on its way, then they go together in the next one, after it', async () => {
    const { coalescer, flushed, release } = heldFlushes();
    const first = coalescer.add(1);
    await settle();
    const later = [coalescer.add(2), coalescer.add(3), coalescer.add(4)];
    await settle();
    assert.deepEqual(flushed, [[1]], 'nothing more is sent while the first flush is out');

    release[0]?.();
    await first;
    await settle();
    assert.deepEqual(flushed, [[1], [2, 3, 4]]);
    release[1]?.();
    await Promise.all(later);
  });

  it('when a flush fails, then the callers whose items it carried see the failure, and the next flush still goes', async () => {
    const { coalescer, flushed, release, fail } = heldFlushes();
    const first = coalescer.add(1);
    await settle();
    const second = coalescer.add(2);
    fail[0]?.(new Error('shard away'));
    await assert.rejects(first, /shard away/);
    await settle();
    assert.deepEqual(flushed, [[1], [2]]);
    release[1]?.();
    await second;
  });
});
