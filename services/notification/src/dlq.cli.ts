#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import {
  checkKafkaEnv,
  committedOffsets,
  createAdmin,
  createConsumer,
  createProducer,
  eventHeaders,
  kafkaConfigFrom,
  kafkaEnv,
  retriable,
  topicOffsets,
  type EventMessage,
  type KafkaClientConfig,
} from '@mela/messaging';
import { commandHelp, commandLine } from '@mela/core';
import { loadConfig } from '@mela/platform';
import { MessagesStreamModes } from '@platformatic/kafka';
import { z } from 'zod';
import { notificationTopics, notificationTopicsEnv } from './config.js';

const commands = {
  usage: 'npm run dlq -- list [--json] | replay [--limit N]',
  summary: `The notification service's dead letters.

list    prints the dead letters of ORDERS_DLQ_TOPIC (default <ORDERS_TOPIC>.dlq), oldest first,
        and whether each has been replayed
replay  sends the dead letters not replayed yet back to ORDERS_TOPIC (without their dead-letter
        and retry headers); the notification service delivers each once — channels that did
        deliver before are skipped by its delivery log. Resumable: its consumer group
        (<NOTIFY_GROUP_ID>.dlq-replay) remembers how far it got.`,
  allowPositionals: true,
  options: {
    json: { type: 'boolean', help: 'list: as one JSON array' },
    limit: { type: 'string', value: 'N', help: 'replay: at most N of them' },
  },
} as const;

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
  const { values, positionals } = commandLine(commands, argv);
  const command = positionals[0];
  if (command !== 'list' && command !== 'replay') {
    process.stderr.write(commandHelp(commands));
    return 2;
  }
  const e = loadConfig(env, process.env);
  const { topic, deadLetterTopic: dlq, groupId } = notificationTopics(e);
  const replayGroup = `${groupId}.dlq-replay`;
  // Reads go through throwaway groups under the service's prefix (what its ACLs allow).
  const readGroup = `${groupId}.dlq-read-`;
  const kafka = kafkaConfigFrom(e, 'mela-dlq');
  const admin = createAdmin(kafka);
  try {
    return await run(command, values, { kafka, admin, topic, dlq, replayGroup, readGroup });
  } finally {
    await admin.close();
  }
}

async function run(
  command: 'list' | 'replay',
  values: { readonly json?: boolean | undefined; readonly limit?: string | undefined },
  context: {
    readonly kafka: KafkaClientConfig;
    readonly admin: ReturnType<typeof createAdmin>;
    readonly topic: string;
    readonly dlq: string;
    readonly replayGroup: string;
    readonly readGroup: string;
  },
): Promise<number> {
  const { kafka, admin, topic, dlq, replayGroup, readGroup } = context;
  const replayedUpTo = await retrying(() => committedOffsets(admin, replayGroup, dlq));
  if (command === 'list') {
    const letters = (await retrying(() => readAll(kafka, admin, readGroup, dlq, new Map()))).map(
      ({ partition, message }): DeadLetter => ({
        partition,
        offset: String(message.offset),
        time: new Date(Number(message.timestamp)).toISOString(),
        eventId: message.headers.get(eventHeaders.eventId),
        orderId: orderIdOf(message),
        reason: message.headers.get(eventHeaders.deadLetterReason),
        attempts: message.headers.get(eventHeaders.deadLetterAttempts),
        source: message.headers.get(eventHeaders.deadLetterSource),
        replayed: message.offset < (replayedUpTo.get(partition) ?? 0n),
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
  const pending = await retrying(() => readAll(kafka, admin, readGroup, dlq, replayedUpTo, limit));
  if (pending.length === 0) {
    process.stdout.write(`nothing to replay in ${dlq}\n`);
    return 0;
  }
  const producer = createProducer(kafka);
  try {
    // One message at a time, each followed by its offset, so an interrupted replay resumes
    // where it stopped (at worst one message twice, which the delivery log absorbs).
    for (const { partition, message } of pending) {
      await producer.send({
        messages: [
          { topic, key: message.key, value: message.value, headers: replayHeaders(message) },
        ],
      });
      await admin.alterConsumerGroupOffsets({
        groupId: replayGroup,
        topics: [{ name: dlq, partitionOffsets: [{ partition, offset: message.offset + 1n }] }],
      });
      process.stdout.write(
        `replayed ${dlq}/${String(partition)}@${String(message.offset)} (order ${orderIdOf(message) ?? '?'}) to ${topic}\n`,
      );
    }
  } finally {
    await producer.close();
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
      if (!retriable(error) || attempt >= 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * The messages of `topic` from each partition's `from` offset (else its start) up to the end
 * as it is now, oldest first per partition, at most `limit`. Reads through a throwaway
 * consumer group (under the service's prefix, which its ACLs allow), deleted afterwards.
 */
async function readAll(
  kafka: KafkaClientConfig,
  admin: ReturnType<typeof createAdmin>,
  readGroupPrefix: string,
  topic: string,
  from: ReadonlyMap<number, bigint>,
  limit = Infinity,
): Promise<{ partition: number; message: EventMessage }[]> {
  const { earliest, latest } = await topicOffsets(admin, topic);
  const waiting = new Map<number, { start: bigint; end: bigint }>();
  for (const [partition, end] of latest) {
    const start = from.get(partition) ?? earliest.get(partition) ?? 0n;
    if (start < end) waiting.set(partition, { start, end });
  }
  if (waiting.size === 0) return [];
  const groupId = `${readGroupPrefix}${randomBytes(4).toString('hex')}`;
  const consumer = createConsumer(kafka, { groupId });
  const found: { partition: number; message: EventMessage }[] = [];
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.MANUAL,
      offsets: [...waiting].map(([partition, { start }]) => ({ topic, partition, offset: start })),
      autocommit: false,
      maxWaitTime: 200,
    });
    const timer = setTimeout(() => stream.destroy(new Error(`timed out reading ${topic}`)), 60_000);
    try {
      for await (const message of stream) {
        const range = waiting.get(message.partition);
        if (range && message.offset >= range.start && message.offset < range.end)
          found.push({ partition: message.partition, message });
        if (range && message.offset + 1n >= range.end) waiting.delete(message.partition);
        if (waiting.size === 0) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => undefined);
    }
  } finally {
    await consumer.close(true).catch(() => undefined);
    await admin.deleteGroups({ groups: [groupId] }).catch(() => undefined);
  }
  found.sort((a, b) =>
    a.message.timestamp === b.message.timestamp
      ? a.partition - b.partition
      : Number(a.message.timestamp - b.message.timestamp),
  );
  return found.slice(0, limit);
}

/** The event's own headers, without what the dead-letter and retry rounds added. */
function replayHeaders(message: EventMessage): Map<string, string> {
  const dropped = new Set<string>([
    eventHeaders.deadLetterReason,
    eventHeaders.deadLetterSource,
    eventHeaders.deadLetterAttempts,
    eventHeaders.retryRound,
    eventHeaders.retryDue,
  ]);
  return new Map([...message.headers].filter(([name]) => !dropped.has(name)));
}

function orderIdOf(message: EventMessage): string | undefined {
  try {
    const value = JSON.parse(message.value) as { order?: { id?: unknown } };
    return typeof value.order?.id === 'string' ? value.order.id : undefined;
  } catch {
    return undefined;
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`mela-dlq: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
