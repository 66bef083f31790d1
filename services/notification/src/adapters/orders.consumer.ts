import { eventHeaders, orderPlacedEvent, type OrderPlacedEvent } from '@mela/messaging';
import type { Logger } from '@mela/platform';
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
  readonly deliver: (event: OrderPlacedEvent, heartbeat: () => Promise<void>) => Promise<void>;
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
  #running = false;

  constructor(options: OrdersConsumerOptions) {
    this.#options = options;
    this.#deadLetters = new Counter({
      name: 'notification_dead_letters_total',
      help: 'Order events sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers: [options.registry],
    });
    // Exported from the start, so the dead-letter rate reads 0 rather than no data.
    this.#deadLetters.inc({ reason: 'invalid_event' }, 0);
  }

  async start(): Promise<void> {
    const { consumer, producer, topic } = this.#options;
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 3,
      eachMessage: async (payload) => {
        await this.#handle(payload.partition, payload.message, () => payload.heartbeat());
      },
    });
    this.#running = true;
  }

  async #handle(partition: number, message: KafkaMessage, heartbeat: () => Promise<void>) {
    const { logger, topic } = this.#options;
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
    if (this.#running) await this.#options.consumer.disconnect();
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
