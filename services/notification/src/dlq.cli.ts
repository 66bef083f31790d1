#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  checkKafkaEnv,
  createKafka,
  eventHeaders,
  headerText,
  kafkaConfigFrom,
  kafkaEnv,
} from '@mela/messaging';
import { createLogger, loadConfig } from '@mela/platform';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { notificationTopics, notificationTopicsEnv } from './config.js';

const usage = `usage: mela-dlq list [--json]
       mela-dlq replay [--limit N]

list    prints the dead letters of ORDERS_DLQ_TOPIC (default <ORDERS_TOPIC>.dlq), oldest first,
        and whether each has been replayed
replay  sends the dead letters not replayed yet back to ORDERS_TOPIC (without their dead-letter
        and retry headers); the notification service delivers each once — channels that did
        deliver before are skipped by its delivery log. Resumable: its consumer group
        (<NOTIFY_GROUP_ID>.dlq-replay) remembers how far it got.`;

const env = z
  .object({ ...kafkaEnv, ...notificationTopicsEnv })
  .superRefine((e, ctx) => checkKafkaEnv(e, ctx));

/** One dead letter as `list` shows it. */
interface DeadLetter {
  readonly partition: number;
  readonly offset: string;
  readonly time: string;
  readonly eventId: string | undefined;
  readonly orderId: string | undefined;
  readonly reason: string | undefined;
  readonly attempts: string | undefined;
  readonly source: string | undefined;
  readonly replayed: boolean;
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { json: { type: 'boolean' }, limit: { type: 'string' } },
  });
  const command = positionals[0];
  if (command !== 'list' && command !== 'replay') {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const e = loadConfig(env, process.env);
  const { topic, deadLetterTopic: dlq, groupId } = notificationTopics(e);
  const replayGroup = `${groupId}.dlq-replay`;
  // Reads go through throwaway groups under the service's prefix (what its ACLs allow).
  const readGroup = `${groupId}.dlq-read-`;
  // The client's own logs stay quiet: what fails for good is reported below, once.
  const kafka = createKafka(
    kafkaConfigFrom(e, 'mela-dlq'),
    createLogger({ service: 'dlq', level: 'silent' }),
  );

  const replayedUpTo = await retrying(() => committedOffsets(kafka, replayGroup, dlq));
  if (command === 'list') {
    const letters = (await retrying(() => readAll(kafka, readGroup, dlq, new Map()))).map(
      ({ partition, message }): DeadLetter => ({
        partition,
        offset: message.offset,
        time: new Date(Number(message.timestamp)).toISOString(),
        eventId: headerText(message, eventHeaders.eventId),
        orderId: orderIdOf(message),
        reason: headerText(message, eventHeaders.deadLetterReason),
        attempts: headerText(message, eventHeaders.deadLetterAttempts),
        source: headerText(message, eventHeaders.deadLetterSource),
        replayed: BigInt(message.offset) < (replayedUpTo.get(partition) ?? 0n),
      }),
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(letters)}\n`);
    } else if (letters.length === 0) {
      process.stdout.write(`no dead letters in ${dlq}\n`);
    } else {
      for (const l of letters) {
        process.stdout.write(
          `${dlq}/${String(l.partition)}@${l.offset}  ${l.time}  order ${l.orderId ?? '?'}  event ${l.eventId ?? '?'}  ` +
            `${l.replayed ? 'replayed' : 'waiting'}  attempts ${l.attempts ?? '?'}  ${l.reason ?? ''}\n`,
        );
      }
    }
    return 0;
  }

  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!Number.isInteger(limit) && limit !== Infinity) {
    process.stderr.write(`--limit takes a whole number, got ${String(values.limit)}\n`);
    return 2;
  }
  const pending = await retrying(() => readAll(kafka, readGroup, dlq, replayedUpTo, limit));
  if (pending.length === 0) {
    process.stdout.write(`nothing to replay in ${dlq}\n`);
    return 0;
  }
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  try {
    // One message at a time, each followed by its offset, so an interrupted replay resumes
    // where it stopped (at worst one message twice, which the delivery log absorbs).
    for (const { partition, message } of pending) {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers: replayHeaders(message) }],
      });
      await admin.setOffsets({
        groupId: replayGroup,
        topic: dlq,
        partitions: [{ partition, offset: String(BigInt(message.offset) + 1n) }],
      });
      process.stdout.write(
        `replayed ${dlq}/${String(partition)}@${message.offset} (order ${orderIdOf(message) ?? '?'}) to ${topic}\n`,
      );
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  process.stdout.write(`replayed ${String(pending.length)} dead letter(s) to ${topic}\n`);
  return 0;
}

/**
 * Runs `work` again while Kafka answers with a retriable error (a coordinator still loading
 * after the broker started, a leader moving), for up to about 30 s.
 */
async function retrying<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Where a consumer group stands on each partition of `topic` (absent: never committed). */
async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [found] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(
      (found?.partitions ?? [])
        .filter((p) => Number(p.offset) >= 0)
        .map((p) => [p.partition, BigInt(p.offset)]),
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * The messages of `topic` from each partition's `from` offset (else its start) up to the end
 * as it is now, oldest first per partition, at most `limit`. Reads without a consumer group
 * of its own: fetches run through a throwaway group that is deleted afterwards.
 */
async function readAll(
  kafka: Kafka,
  readGroupPrefix: string,
  topic: string,
  from: ReadonlyMap<number, bigint>,
  limit = Infinity,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${readGroupPrefix}${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  const found: { partition: number; message: KafkaMessage }[] = [];
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const waiting = new Map<number, { start: bigint; end: bigint }>();
    for (const p of ends) {
      const start = from.get(p.partition) ?? BigInt(p.low);
      const end = BigInt(p.high);
      if (start < end) waiting.set(p.partition, { start, end });
    }
    if (waiting.size === 0) return [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out reading ${topic}`)),
        60_000,
      ).unref();
      void consumer.run({
        eachMessage: ({ partition, message }) => {
          const range = waiting.get(partition);
          const offset = BigInt(message.offset);
          if (range && offset >= range.start && offset < range.end)
            found.push({ partition, message });
          if (range && offset + 1n >= range.end) waiting.delete(partition);
          if (waiting.size === 0) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, range] of waiting)
          consumer.seek({ topic, partition, offset: String(range.start) });
      });
    });
    await done;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  found.sort((a, b) =>
    a.message.timestamp === b.message.timestamp
      ? a.partition - b.partition
      : Number(a.message.timestamp) - Number(b.message.timestamp),
  );
  return found.slice(0, limit);
}

/** The event's own headers, without what the dead-letter and retry rounds added. */
function replayHeaders(message: KafkaMessage): Record<string, string> {
  const dropped = new Set<string>([
    eventHeaders.deadLetterReason,
    eventHeaders.deadLetterSource,
    eventHeaders.deadLetterAttempts,
    eventHeaders.retryRound,
    eventHeaders.retryDue,
  ]);
  const headers: Record<string, string> = {};
  for (const name of Object.keys(message.headers ?? {})) {
    const value = headerText(message, name);
    if (!dropped.has(name) && value !== undefined) headers[name] = value;
  }
  return headers;
}

function orderIdOf(message: KafkaMessage): string | undefined {
  try {
    const value = JSON.parse(message.value?.toString() ?? '') as { order?: { id?: unknown } };
    return typeof value.order?.id === 'string' ? value.order.id : undefined;
  } catch {
    return undefined;
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`mela-dlq: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
