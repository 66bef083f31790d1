import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs } from '../src/domain/notifier.js';

const policy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1000 };

describe('backoff between delivery attempts', () => {
  it('when attempts go on, then the ceiling doubles from the base up to the maximum', () => {
    const top = (attempt: number) => backoffMs(policy, attempt, () => 1);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(top), [100, 200, 400, 800, 1000, 1000]);
  });

  it('when the jitter is drawn, then each wait lies between half the ceiling and the ceiling', () => {
    assert.equal(
      backoffMs(policy, 3, () => 0),
      200,
    );
    assert.equal(
      backoffMs(policy, 3, () => 0.5),
      300,
    );
    for (let i = 0; i < 200; i++) {
      const wait = backoffMs(policy, 4);
      assert.ok(wait >= 400 && wait <= 800, `${String(wait)} ms`);
    }
  });
});
