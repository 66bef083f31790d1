import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaBrokers, localTopology } from '@mela/topology';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../src/index.js';

describe('the project’s Kafka topics', () => {
  it('when the stack is up, then every topic of the topology (orders, orders.retry, orders.dlq) exists with its partitions, and ensuring again is harmless', async () => {
    const topology = localTopology();
    await ensureTopics(topology);
    const admin = new Kafka({
      brokers: kafkaBrokers(topology),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({
        topics: topology.topics.map((t) => t.name),
      });

      assert.deepEqual(topology.topics.map((t) => t.name).sort(), [
        'orders',
        'orders.dlq',
        'orders.retry',
      ]);
      assert.deepEqual(
        topics.map((t) => [t.name, t.partitions.length]).sort(),
        topology.topics.map((t) => [t.name, t.partitions]).sort(),
      );
    } finally {
      await admin.disconnect();
    }
  });
});
