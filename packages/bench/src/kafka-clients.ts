import { randomUUID } from 'node:crypto';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createTestTopics } from '@mela/devstack';
import { percentile, summarise, type RunFigures, type Summary } from './stats.js';

/**
 * kafkajs (what Mela ran until the switch) against @platformatic/kafka (what it runs now),
 * publishing as the outbox relay does: the figure behind the switch, kept measurable.
 */
export interface KafkaClientFigures {
  readonly batchSize: number;
  readonly batches: number;
  readonly kafkajs: Summary;
  readonly platformatic: Summary;
}

/** One batch of the relay: order events keyed by user, with the event id and type as headers. */
function relayBatch(round: number, size: number) {
  const value = JSON.stringify({
    type: 'order.placed',
    orderId: randomUUID(),
    userId: 'user-00000000',
    totalCents: 999_900,
    currency: 'INR',
    lines: [{ productId: '42', quantity: 1, unitPriceCents: 999_900 }],
    placedAt: new Date(0).toISOString(),
  });
  return Array.from({ length: size }, (_, i) => ({
    key: `user-${String((round * size + i) % 1000)}`,
    value,
    headers: { 'event-id': randomUUID(), 'event-type': 'order.placed' },
  }));
}

/** Sends `batches` batches one after another (as the relay does), timing each. */
async function timed(
  batches: number,
  size: number,
  send: (round: number) => Promise<unknown>,
): Promise<RunFigures> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let round = 0; round < batches; round += 1) {
    const sent = performance.now();
    await send(round);
    latencies.push(performance.now() - sent);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: (batches * size) / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: 0,
  };
}

/**
 * The outbox relay's publish with each client, on the Kafka Mela runs: batches of `batchSize`
 * order events, each sent with acks=all by an idempotent producer and awaited before the next
 * (the relay's loop), interleaved per repeat after a warm-up. Messages/s, and each batch's
 * p50/p99. Its own topic, deleted afterwards.
 */
export async function benchKafkaClients(options: {
  readonly brokers: readonly string[];
  readonly batches: number;
  readonly repeats: number;
  readonly say: (line: string) => void;
}): Promise<KafkaClientFigures> {
  const batchSize = 50;
  const topics = await createTestTopics(options.brokers);
  const { topic } = topics;
  const kafkajs = new Kafka({
    clientId: 'mela-bench',
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
  }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const platformatic = new Producer({
    clientId: 'mela-bench',
    bootstrapBrokers: [...options.brokers],
    serializers: stringSerializers,
    idempotent: true,
    acks: -1,
  });
  try {
    await kafkajs.connect();
    const contenders = [
      {
        name: 'kafkajs 2.2.4',
        send: (round: number) =>
          kafkajs.send({ topic, acks: -1, messages: relayBatch(round, batchSize) }),
      },
      {
        name: '@platformatic/kafka',
        send: (round: number) =>
          platformatic.send({
            messages: relayBatch(round, batchSize).map((m) => ({
              ...m,
              topic,
              headers: new Map(Object.entries(m.headers)),
            })),
          }),
      },
    ];
    for (const contender of contenders) await timed(20, batchSize, contender.send);
    const runs = contenders.map((): RunFigures[] => []);
    for (let i = 0; i < options.repeats; i += 1) {
      for (const [j, contender] of contenders.entries()) {
        options.say(
          `run ${String(i + 1)}/${String(options.repeats)}: ${contender.name}, ${String(options.batches)} batches of ${String(batchSize)}`,
        );
        runs[j]?.push(await timed(options.batches, batchSize, contender.send));
      }
    }
    const [first, second] = contenders.map((c, j) => summarise(c.name, runs[j] ?? []));
    if (!first || !second) throw new Error('no Kafka client figures');
    return { batchSize, batches: options.batches, kafkajs: first, platformatic: second };
  } finally {
    await kafkajs.disconnect().catch(() => undefined);
    await platformatic.close().catch(() => undefined);
    await topics.drop();
  }
}
