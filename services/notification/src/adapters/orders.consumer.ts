import { eventHeaders, headerText, orderPlacedEvent, type OrderPlacedEvent } from '@mela/messaging';
import type { Logger } from '@mela/platform';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { DeliveryFailedError } from '../domain/notifier.js';

export interface OrdersConsumerOptions {
  readonly consumer: Consumer;
  /** Writes dead letters. */
  readonly producer: Producer;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Partitions handled at the same time (each in order). @default 3 */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Delayed rounds: a transient failure goes to `topic` to be tried again after `delaysMs[n]`
   * (round n+1); past the last round, the dead-letter topic. Without it, straight to the DLQ.
   */
  readonly redelivery?: {
    readonly topic: string;
    readonly delaysMs: readonly number[];
    /** A consumer of its own group for the retry topic (its waits hold up only that topic). */
    readonly consumer: Consumer;
  };
  readonly deliver: (event: OrderPlacedEvent, heartbeat: () => Promise<void>) => Promise<void>;
  readonly clock?: () => number;
}

/** The consumer is stopping while a message waits for its round: it is handled after a restart. */
class Stopping extends Error {
  constructor() {
    super('stopping before the redelivery was due; it stays uncommitted');
  }
}

/**
 * The `orders` consumer group. Each message is handled in partition order; its offset is
 * committed only after it was delivered or dead-lettered, so a crash redelivers (and the
 * delivery log makes the redelivery a no-op). A message that cannot be parsed, or whose
 * delivery keeps failing, goes to the dead-letter topic with the reason in its headers and
 * the partition moves on.
 */
export class OrdersConsumer {
  readonly #options: OrdersConsumerOptions;
  readonly #deadLetters: Counter<'reason'>;
  readonly #redeliveries: Counter<'round'>;
  readonly #now: () => number;
  readonly #stopping = new AbortController();
  #running = false;
  #joining: Promise<void> | undefined;

  constructor(options: OrdersConsumerOptions) {
    this.#options = options;
    this.#now = options.clock ?? Date.now;
    this.#deadLetters = new Counter({
      name: 'notification_dead_letters_total',
      help: 'Order events sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers: [options.registry],
    });
    // Exported from the start, so the dead-letter rate reads 0 rather than no data.
    this.#deadLetters.inc({ reason: 'invalid_event' }, 0);
    this.#redeliveries = new Counter({
      name: 'notification_redeliveries_total',
      help: 'Order events sent to the retry topic for a delayed round, by round',
      labelNames: ['round'] as const,
      registers: [options.registry],
    });
  }

  /**
   * Joins the group in the background, trying again (backing off up to 10 s) while Kafka is
   * unreachable: it may come up after this service, and a crash loop helps nobody.
   */
  startWhenReachable(): void {
    this.#joining ??= (async () => {
      for (
        let backoff = 500;
        !this.#stopping.signal.aborted;
        backoff = Math.min(backoff * 2, 10_000)
      ) {
        try {
          await this.start();
          this.#options.logger.info({ topic: this.#options.topic }, 'consuming');
          return;
        } catch (error) {
          this.#options.logger.warn({ err: error }, 'cannot join the consumer group yet; retrying');
          await sleep(backoff, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
        }
      }
    })();
  }

  async start(): Promise<void> {
    const { consumer, producer, topic, redelivery } = this.#options;
    await producer.connect();
    const consumers: [Consumer, string][] = [[consumer, topic]];
    if (redelivery) consumers.push([redelivery.consumer, redelivery.topic]);
    for (const [each, from] of consumers) {
      await each.connect();
      await each.subscribe({ topic: from, fromBeginning: true });
    }
    this.#running = true;
    for (const [each] of consumers) {
      await each.run({
        partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 3,
        eachMessage: async (payload) => {
          await this.#handle(payload.partition, payload.message, () => payload.heartbeat());
        },
      });
    }
  }

  async #handle(partition: number, message: KafkaMessage, heartbeat: () => Promise<void>) {
    const { logger, topic } = this.#options;
    const round = Number(headerText(message, eventHeaders.retryRound) ?? 0);
    await this.#untilDue(Number(headerText(message, eventHeaders.retryDue) ?? 0), heartbeat);
    let event: OrderPlacedEvent;
    try {
      event = orderPlacedEvent.parse(JSON.parse(message.value?.toString() ?? ''));
    } catch (error) {
      await this.#deadLetter(partition, message, 'invalid_event', describe(error), 0);
      return;
    }
    try {
      await this.#options.deliver(event, heartbeat);
    } catch (error) {
      if (!(error instanceof DeliveryFailedError)) throw error;
      const { redelivery } = this.#options;
      const delay = redelivery?.delaysMs[round];
      if (redelivery && delay !== undefined && !error.permanent) {
        logger.warn(
          { err: error, eventId: event.eventId, topic, partition, offset: message.offset, round },
          `delivery failed; trying again in ${String(Math.round(delay / 1000))} s`,
        );
        await this.#redeliver(redelivery.topic, message, round + 1, delay);
        return;
      }
      logger.warn(
        { err: error, eventId: event.eventId, topic, partition, offset: message.offset },
        'delivery failed; dead-lettering the event',
      );
      await this.#deadLetter(
        partition,
        message,
        `${error.channel}_failed`,
        error.message,
        error.attempts,
      );
    }
  }

  /**
   * Waits until a redelivered message is due, heartbeating so the group keeps the partition.
   * Messages of one round share one delay, so a partition's messages come due in order.
   */
  async #untilDue(due: number, heartbeat: () => Promise<void>): Promise<void> {
    while (this.#now() < due) {
      if (this.#stopping.signal.aborted) throw new Stopping();
      await sleep(Math.min(due - this.#now(), 2000), undefined, {
        signal: this.#stopping.signal,
      }).catch(() => undefined);
      await heartbeat();
    }
  }

  /** To the retry topic for round `round`, due after `delayMs`; sent before the offset commits. */
  async #redeliver(
    topic: string,
    message: KafkaMessage,
    round: number,
    delayMs: number,
  ): Promise<void> {
    await this.#options.producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            [eventHeaders.retryRound]: String(round),
            [eventHeaders.retryDue]: String(this.#now() + delayMs),
          },
        },
      ],
    });
    this.#redeliveries.inc({ round: String(round) });
  }

  async #deadLetter(
    partition: number,
    message: KafkaMessage,
    reason: string,
    detail: string,
    attempts: number,
  ): Promise<void> {
    const { producer, topic, deadLetterTopic } = this.#options;
    const headers = { ...message.headers };
    // Sent before the offset is committed: if this fails, the message is handled again.
    await producer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...headers,
            [eventHeaders.deadLetterReason]: `${reason}: ${detail}`.slice(0, 1000),
            [eventHeaders.deadLetterSource]: `${topic}/${String(partition)}/${message.offset}`,
            [eventHeaders.deadLetterAttempts]: String(attempts),
          },
        },
      ],
    });
    this.#deadLetters.inc({ reason });
    this.#options.logger.warn(
      { reason, detail, partition, offset: message.offset },
      'message sent to the dead-letter topic',
    );
  }

  /** Leaves the group cleanly (the current messages finish, offsets are committed). */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#joining;
    if (this.#running) {
      await Promise.all([
        this.#options.consumer.disconnect(),
        this.#options.redelivery?.consumer.disconnect(),
      ]);
    }
    await this.#options.producer.disconnect();
  }
}

function describe(error: unknown): string {
  if (error instanceof SyntaxError) return `not JSON (${error.message})`;
  if (error instanceof Error && 'issues' in error) {
    const issues = (error as { issues: { path: PropertyKey[]; message: string }[] }).issues;
    return issues
      .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
      .join('; ');
  }
  return String(error);
}
