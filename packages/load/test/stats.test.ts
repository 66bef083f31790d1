import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  flashSale,
  judge,
  pickAction,
  rampTo,
  shopMix,
  steps,
  Tally,
  type Action,
} from '../src/index.js';

describe('the load shapes and how a run is judged', () => {
  it('when an action is picked, then the mix’s weights decide, each over its share of [0, 100)', () => {
    const counts = new Map<Action, number>();
    for (let roll = 0; roll < 100; roll += 0.5) {
      const action = pickAction(shopMix, roll);
      counts.set(action, (counts.get(action) ?? 0) + 1);
    }

    assert.equal(
      Object.values(shopMix).reduce((a, b) => a + b, 0),
      100,
    );
    for (const [action, weight] of Object.entries(shopMix))
      assert.equal(counts.get(action as Action), weight * 2);
  });

  it('when a sale is shaped, then it opens as browsing reaches its peak and the stages scale', () => {
    const sale = flashSale({ peak: 400, scale: 0.5 });

    assert.deepEqual(rampTo(400), [
      { seconds: 10, target: 100 },
      { seconds: 20, target: 400 },
      { seconds: 30, target: 400 },
      { seconds: 10, target: 100 },
    ]);
    assert.deepEqual(
      sale.stages.map((s) => s.seconds),
      [5, 10, 15, 5],
    );
    assert.equal(sale.saleAt, 15);
    assert.equal(sale.stock, 100);
  });

  it('when a stage is stepped, then the rate climbs linearly to its target in two-second steps', () => {
    assert.deepEqual(steps(100, { seconds: 8, target: 500 }), [
      { seconds: 2, rate: 200 },
      { seconds: 2, rate: 300 },
      { seconds: 2, rate: 400 },
      { seconds: 2, rate: 500 },
    ]);
  });

  it('when a run is judged, then slow actions, server failures, unlimited bots and oversold units each miss', () => {
    const product = new Tally();
    for (let i = 0; i < 100; i += 1) product.record(200, i < 90 ? 10 : 300);
    product.record(0, 0);
    const bots = new Tally();
    for (let i = 0; i < 10; i += 1) bots.record(i < 3 ? 429 : 200, 1);

    const verdicts = judge(new Map([['product', product]]), { bots, oversold: 2, all: [product] });
    const missed = verdicts.filter((v) => !v.met).map((v) => v.objective);

    assert.deepEqual(missed, [
      'product p95 ≤ 100 ms',
      'product p99 ≤ 250 ms',
      'bots refused (429) ≥ 50 %',
      'units sold beyond the stock = 0',
    ]);
    assert.equal(
      verdicts.find((v) => v.objective.startsWith('server failures'))?.measured,
      '0.99 % (1 of 101)',
    );
  });
});
