import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { until } from '@mela/testkit';
import { localTopology, redisUrl } from '@mela/topology';
import { Redis } from 'ioredis';
import { StockChangeListener, announceStockChanges } from '../src/index.js';

describe('stock changes over Redis pub/sub', () => {
  const channel = `test:stock:${randomBytes(4).toString('hex')}`;
  const heard: string[][] = [];
  let publisher: Redis;
  let listener: StockChangeListener;

  before(async () => {
    const url = redisUrl(localTopology());
    publisher = new Redis(url);
    listener = new StockChangeListener({
      subscriber: new Redis(url, { maxRetriesPerRequest: null }),
      channel,
      coalesceMs: 200,
      onChanged: (ids) => {
        heard.push([...ids].sort());
      },
    });
    await listener.start();
  });
  after(async () => {
    await listener.stop();
    await publisher.quit();
  });

  it('when many changes arrive at once, then the listener hands them on together, each id once', async () => {
    const announce = announceStockChanges(publisher, channel);

    for (let i = 0; i < 50; i += 1) announce([String(i % 3), '7']);
    await publisher.publish(channel, 'not json');
    await until(() => heard.length > 0, 'the batch', 5000);

    assert.deepEqual(heard, [['0', '1', '2', '7']]);
  });
});
