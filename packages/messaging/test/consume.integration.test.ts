import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { until } from '@mela/toolchain';
import { kafkaBrokers, localTopology } from '@mela/topology';
import {
  committedOffsets,
  createTopicsAndWait,
  consumeInOrder,
  createAdmin,
  createConsumer,
  createProducer,
  refusedRecord,
  type EventConsumer,
  type EventMessage,
  type InOrderConsumption,
  type KafkaClientConfig,
} from '../src/index.js';

/**
 * @platformatic/kafka as Mela runs it, against the pinned Kafka 4.x broker: the producer's
 * key partitioning, `consumeInOrder`'s order, commits, retries and restarts, a rebalance,
 * and the error a record the broker refuses for good. Each run owns its topic and groups.
 */
describe('Kafka as Mela consumes it (real broker)', () => {
  const suffix = randomBytes(4).toString('hex');
  const topic = `test.in-order.${suffix}`;
  const config: KafkaClientConfig = {
    brokers: kafkaBrokers(localTopology()),
    clientId: `messaging-test-${suffix}`,
    ssl: false,
  };
  const admin = createAdmin(config);
  const producer = createProducer(config);
  const running: InOrderConsumption[] = [];
  const sent = Array.from({ length: 30 }, (_, i) => ({
    key: `user-${String(i % 4)}`,
    value: `event-${String(i)}`,
  }));
  const consumer = (groupId: string): EventConsumer =>
    createConsumer(config, { groupId, sessionTimeoutMs: 10_000 });
  const values = (messages: readonly EventMessage[], key: string) =>
    messages.filter((m) => m.key === key).map((m) => m.value);

  before(async () => {
    await createTopicsAndWait(admin, [{ topic, numPartitions: 4 }]);
    await producer.send({ messages: sent.map((m) => ({ ...m, topic })) });
  });

  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await producer.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.close();
  });

  it('when a group consumes the topic, then every key’s events arrive in order and the committed offsets cover them all', async () => {
    const groupId = `in-order-${suffix}`;
    const received: EventMessage[] = [];
    running.push(
      await consumeInOrder({
        consumer: consumer(groupId),
        topic,
        handle: (message) => {
          received.push(message);
          return Promise.resolve();
        },
        onError: (error) => assert.fail(String(error)),
      }),
    );
    await until(() => received.length >= sent.length, 'every event consumed', 30_000);
    for (const key of ['user-0', 'user-1', 'user-2', 'user-3'])
      assert.deepEqual(values(received, key), values(sent as EventMessage[], key), key);
    assert.equal(received.length, sent.length, 'each event once');
    await until(
      async () =>
        [...(await committedOffsets(admin, groupId, topic)).values()].reduce(
          (a, b) => a + b,
          0n,
        ) === BigInt(sent.length),
      'the committed offsets to cover every event',
      30_000,
    );
  });

  it('when the handler fails, then the same event is handled again and nothing behind it overtakes it', async () => {
    const received: EventMessage[] = [];
    const failed: string[] = [];
    running.push(
      await consumeInOrder({
        consumer: consumer(`retry-${suffix}`),
        topic,
        handle: (message) => {
          if (message.value === 'event-5' && failed.length < 2) {
            failed.push(message.value);
            return Promise.reject(new Error('the delivery log is down'));
          }
          received.push(message);
          return Promise.resolve();
        },
        onError: () => undefined,
      }),
    );
    await until(() => received.length >= sent.length, 'every event consumed', 30_000);
    assert.deepEqual(failed, ['event-5', 'event-5']);
    assert.deepEqual(values(received, 'user-1'), values(sent as EventMessage[], 'user-1'));
  });

  it('when a consumer stops part-way and another starts in its group, then it goes on from the committed offsets and no event is skipped', async () => {
    const groupId = `restart-${suffix}`;
    const first: EventMessage[] = [];
    const stopped = await consumeInOrder({
      consumer: consumer(groupId),
      topic,
      concurrency: 1,
      handle: async (message) => {
        first.push(message);
        // Slow enough that stopping finds events still waiting.
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
      onError: () => undefined,
    });
    await until(() => first.length >= 5, 'a few events consumed', 30_000);
    await stopped.stop();
    assert.ok(first.length < sent.length, `stopped part-way (${String(first.length)} handled)`);

    const second: EventMessage[] = [];
    running.push(
      await consumeInOrder({
        consumer: consumer(groupId),
        topic,
        handle: (message) => {
          second.push(message);
          return Promise.resolve();
        },
        onError: () => undefined,
      }),
    );
    const seen = () => new Set([...first, ...second].map((m) => m.value));
    await until(
      () => seen().size === sent.length,
      'every event handled by one or the other',
      30_000,
    );
    const handledFirst = new Set(first.map((m) => `${String(m.partition)}@${String(m.offset)}`));
    assert.ok(
      second.every((m) => !handledFirst.has(`${String(m.partition)}@${String(m.offset)}`)),
      'what the first committed is not handled again',
    );
  });

  it('when a second member joins the group, then the partitions are shared between them', async () => {
    const groupId = `rebalance-${suffix}`;
    const members = [consumer(groupId), consumer(groupId)];
    for (const member of members) {
      running.push(
        await consumeInOrder({
          consumer: member,
          topic,
          handle: () => Promise.resolve(),
          onError: () => undefined,
        }),
      );
    }
    const owned = () =>
      members.map((m) => (m.assignments ?? []).reduce((n, a) => n + a.partitions.length, 0));
    await until(
      () => owned().every((n) => n === 2),
      `two partitions each (now ${owned().join(' and ')})`,
      30_000,
    );
  });

  it('when the broker refuses a record for good, then the error names why', async () => {
    const error = await producer
      .send({ messages: [{ topic, key: 'big', value: 'x'.repeat(2_000_000) }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error, 'a 2 MB record is refused');
    assert.match(
      refusedRecord(error) ?? 'not refused for good',
      /^(MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE): /,
    );
  });
});
