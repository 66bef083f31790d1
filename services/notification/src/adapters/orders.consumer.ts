import {
  consumeInOrder,
  eventHeaders,
  orderPlacedEvent,
  type EventConsumer,
  type EventMessage,
  type EventProducer,
  type InOrderConsumption,
  type OrderPlacedEvent,
} from '@mela/messaging';
import { contextOf, inSpan, SpanKind, traceparentHeader } from '@mela/core';
import type { Logger } from '@mela/platform';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, type Registry } from 'prom-client';
import { DeliveryFailedError } from '../domain/notifier.js';

export interface OrdersConsumerOptions {
  readonly consumer: EventConsumer;
  /** Writes dead letters and redeliveries. */
  readonly producer: EventProducer;
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
    readonly consumer: EventConsumer;
  };
  readonly deliver: (event: OrderPlacedEvent) => Promise<void>;
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
  readonly #running: InOrderConsumption[] = [];
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
    const { consumer, topic, redelivery, logger } = this.#options;
    const consumers: [EventConsumer, string][] = [[consumer, topic]];
    if (redelivery) consumers.push([redelivery.consumer, redelivery.topic]);
    for (const [each, from] of consumers.slice(this.#running.length)) {
      this.#running.push(
        await consumeInOrder({
          consumer: each,
          topic: from,
          concurrency: this.#options.partitionsConsumedConcurrently ?? 3,
          handle: (message) => this.#handle(message),
          onError: (error, { message }) => {
            if (error instanceof Stopping) return;
            logger.warn(
              { err: error, topic: from, partition: message?.partition, offset: message?.offset },
              message ? 'handling an order event failed; trying it again' : 'consuming failed',
            );
          },
        }),
      );
    }
  }

  async #handle(message: EventMessage) {
    const { topic, partition } = message;
    const offset = String(message.offset);
    const round = Number(message.headers.get(eventHeaders.retryRound) ?? 0);
    await this.#untilDue(Number(message.headers.get(eventHeaders.retryDue) ?? 0));
    // Handled in the trace the message carries (the checkout's, through the outbox).
    await inSpan(
      `${topic} process`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextOf(message.headers.get(traceparentHeader)),
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
          'messaging.kafka.offset': Number(offset),
          'mela.retry.round': round,
        },
      },
      () => this.#process(message, round),
    );
  }

  async #process(message: EventMessage, round: number): Promise<void> {
    const { logger } = this.#options;
    const { topic, partition } = message;
    const offset = String(message.offset);
    let event: OrderPlacedEvent;
    try {
      event = orderPlacedEvent.parse(JSON.parse(message.value));
    } catch (error) {
      await this.#deadLetter(message, 'invalid_event', describe(error), 0);
      return;
    }
    try {
      await this.#options.deliver(event);
    } catch (error) {
      if (!(error instanceof DeliveryFailedError)) throw error;
      const { redelivery } = this.#options;
      const delay = redelivery?.delaysMs[round];
      if (redelivery && delay !== undefined && !error.permanent) {
        logger.warn(
          { err: error, eventId: event.eventId, topic, partition, offset, round },
          `delivery failed; trying again in ${String(Math.round(delay / 1000))} s`,
        );
        await this.#redeliver(redelivery.topic, message, round + 1, delay);
        return;
      }
      logger.warn(
        { err: error, eventId: event.eventId, topic, partition, offset },
        'delivery failed; dead-lettering the event',
      );
      await this.#deadLetter(message, `${error.channel}_failed`, error.message, error.attempts);
    }
  }

  /**
   * Waits until a redelivered message is due (the client heartbeats meanwhile, so the group
   * keeps the partition). Messages of one round share one delay, so a partition's messages
   * come due in order.
   */
  async #untilDue(due: number): Promise<void> {
    while (this.#now() < due) {
      if (this.#stopping.signal.aborted) throw new Stopping();
      await sleep(Math.min(due - this.#now(), 2000), undefined, {
        signal: this.#stopping.signal,
      }).catch(() => undefined);
    }
    if (this.#stopping.signal.aborted) throw new Stopping();
  }

  /** To the retry topic for round `round`, due after `delayMs`; sent before the offset commits. */
  async #redeliver(
    topic: string,
    message: EventMessage,
    round: number,
    delayMs: number,
  ): Promise<void> {
    await this.#options.producer.send({
      messages: [
        {
          topic,
          key: message.key,
          value: message.value,
          headers: new Map([
            ...message.headers,
            [eventHeaders.retryRound, String(round)],
            [eventHeaders.retryDue, String(this.#now() + delayMs)],
          ]),
        },
      ],
    });
    this.#redeliveries.inc({ round: String(round) });
  }

  async #deadLetter(
    message: EventMessage,
    reason: string,
    detail: string,
    attempts: number,
  ): Promise<void> {
    const { producer, deadLetterTopic } = this.#options;
    const { partition } = message;
    const offset = String(message.offset);
    // Sent before the offset is committed: if this fails, the message is handled again.
    await producer.send({
      messages: [
        {
          topic: deadLetterTopic,
          key: message.key,
          value: message.value,
          headers: new Map([
            ...message.headers,
            [eventHeaders.deadLetterReason, `${reason}: ${detail}`.slice(0, 1000)],
            [eventHeaders.deadLetterSource, `${message.topic}/${String(partition)}/${offset}`],
            [eventHeaders.deadLetterAttempts, String(attempts)],
          ]),
        },
      ],
    });
    this.#deadLetters.inc({ reason });
    this.#options.logger.warn(
      { reason, detail, partition, offset },
      'message sent to the dead-letter topic',
    );
  }

  /** Leaves the group cleanly (the current messages finish, offsets are committed). */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#joining;
    await Promise.all(this.#running.map((running) => running.stop()));
    await this.#options.producer.close();
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
