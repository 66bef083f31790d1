import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaBrokers, localTopology } from '@mela/topology';
import { createAdmin } from '@mela/messaging';
import { ensureTopics } from '../src/index.js';

describe('the project’s Kafka topics', () => {
  it('when the stack is up, then every topic of the topology (orders, orders.retry, orders.dlq) exists with its partitions, and ensuring again is harmless', async () => {
    const topology = localTopology();
    await ensureTopics(topology);
    const admin = createAdmin({
      brokers: kafkaBrokers(topology),
      clientId: 'devstack-test',
      ssl: false,
    });
    try {
      const { topics } = await admin.metadata({
        topics: topology.topics.map((t) => t.name),
        forceUpdate: true,
      });

      assert.deepEqual(topology.topics.map((t) => t.name).sort(), [
        'orders',
        'orders.dlq',
        'orders.retry',
      ]);
      assert.deepEqual(
        [...topics].map(([name, t]) => [name, t.partitionsCount]).sort(),
        topology.topics.map((t) => [t.name, t.partitions]).sort(),
      );
    } finally {
      await admin.close();
    }
  });
});
