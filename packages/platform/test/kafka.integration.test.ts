import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTopicsAndWait } from '@mela/testkit';
import { kafkaBrokers, localTopology } from '@mela/topology';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';

/**
 * Proves kafkajs 2.2.4 against the pinned Kafka 4.x broker: produce, consumer-group join,
 * commit, and a rebalance when a second member joins. Each run owns its topic and groups.
 */
describe('kafkajs against the real Kafka broker', () => {
  const suffix = randomBytes(4).toString('hex');
  const topic = `test.roundtrip.${suffix}`;
  const kafka = new Kafka({
    clientId: `platform-test-${suffix}`,
    brokers: kafkaBrokers(localTopology()),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
  let admin: Admin;
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumers: Consumer[] = [];

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 4 }]);
    await producer.connect();
  });

  after(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('when messages are produced, then a consumer group receives them in key order and commits its offsets', async () => {
    const groupId = `roundtrip-${suffix}`;
    const sent = Array.from({ length: 20 }, (_, i) => ({
      key: `user-${i % 3}`,
      value: `event-${i}`,
    }));
    await producer.send({ topic, acks: -1, messages: sent });

    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            received.push({
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
            });
            await consumer.commitOffsets([
              { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
            ]);
            if (received.length === sent.length) resolve();
          },
        })
        .catch(reject);
    });

    for (const key of ['user-0', 'user-1', 'user-2']) {
      assert.deepEqual(
        received.filter((m) => m.key === key).map((m) => m.value),
        sent.filter((m) => m.key === key).map((m) => m.value),
        `per-key order is kept for ${key}`,
      );
    }
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = (committed?.partitions ?? []).reduce(
      (sum, p) => sum + Math.max(0, Number(p.offset)),
      0,
    );
    assert.equal(total, sent.length, 'the committed offsets cover every message');
  });

  it('when a second member joins the group, then the partitions are rebalanced across both', async () => {
    const groupId = `rebalance-${suffix}`;
    const assignments = new Map<string, number>();
    const join = (consumer: Consumer, name: string) =>
      new Promise<void>((resolve) => {
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          const count = Object.values(event.payload.memberAssignment).reduce(
            (n, parts) => n + parts.length,
            0,
          );
          assignments.set(name, count);
          resolve();
        });
      });

    const first = kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      rebalanceTimeout: 10_000,
    });
    consumers.push(first);
    await first.connect();
    await first.subscribe({ topic, fromBeginning: true });
    const firstJoined = join(first, 'first');
    await first.run({ eachMessage: () => Promise.resolve() });
    await firstJoined;
    assert.equal(assignments.get('first'), 4, 'a lone member owns every partition');

    const second = kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      rebalanceTimeout: 10_000,
    });
    consumers.push(second);
    const firstRejoined = join(first, 'first');
    const secondJoined = join(second, 'second');
    await second.connect();
    await second.subscribe({ topic, fromBeginning: true });
    await second.run({ eachMessage: () => Promise.resolve() });
    await Promise.all([firstRejoined, secondJoined]);

    assert.equal(assignments.get('first'), 2);
    assert.equal(assignments.get('second'), 2);
  });
});
