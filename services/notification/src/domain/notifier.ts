import type { OrderPlacedEvent } from '@mela/messaging';

/** A way to reach a shopper. `send` must pass `idempotencyKey` on, so a provider can dedupe. */
export interface Channel {
  readonly name: string;
  /** Whether this event has what the channel needs (an address, a number, a token). */
  applies(event: OrderPlacedEvent): boolean;
  send(event: OrderPlacedEvent, idempotencyKey: string): Promise<void>;
}

/** The channel refused for good (a 4xx, a bad address): retrying cannot help. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

/** Which (event, channel) effects have happened, durable across restarts. */
export interface DeliveryLog {
  /** Whether the effect is already done; records the attempt otherwise. */
  begin(eventId: string, channel: string, userId: string): Promise<'done' | 'todo'>;
  /** Records the effect as done (right after the provider accepted it). */
  finish(eventId: string, channel: string, userId: string): Promise<void>;
}

/**
 * One channel kept failing: the event is delivered again later (a transient failure) or goes
 * to the dead-letter topic with this reason (a permanent one, or out of delayed rounds).
 */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError';
  constructor(
    readonly channel: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `${channel} failed after ${String(attempts)} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }

  /** The channel refused for good: waiting cannot help. */
  get permanent(): boolean {
    return this.cause instanceof PermanentDeliveryError;
  }
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Exponential backoff with full jitter: attempt 1 waits up to base, then 2×, 4×, … capped. */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export interface NotifierMetrics {
  sent(channel: string): void;
  skipped(channel: string): void;
  failed(channel: string): void;
}

export interface NotifierDeps {
  readonly channels: readonly Channel[];
  readonly log: DeliveryLog;
  readonly retry: RetryPolicy;
  readonly metrics: NotifierMetrics;
}

/**
 * Delivers an order event on every channel that applies, each at most once as far as this
 * service can know: an effect marked done is never repeated; one that crashed between the
 * provider's acceptance and the mark is repeated with the same idempotency key (so the
 * provider can drop it). A channel that keeps failing throws {@link DeliveryFailedError}
 * after the channels that could deliver have done so.
 */
export class Notifier {
  readonly #deps: NotifierDeps;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
  }

  /** `pause` waits between attempts (the consumer heartbeats in it, to keep its partitions). */
  async deliver(event: OrderPlacedEvent, pause: (ms: number) => Promise<void>): Promise<void> {
    const failures: DeliveryFailedError[] = [];
    for (const channel of this.#deps.channels) {
      if (!channel.applies(event)) continue;
      try {
        await this.#deliverOn(channel, event, pause);
      } catch (error) {
        if (error instanceof DeliveryFailedError) failures.push(error);
        else throw error;
      }
    }
    const [first] = failures;
    if (first) throw first;
  }

  async #deliverOn(
    channel: Channel,
    event: OrderPlacedEvent,
    pause: (ms: number) => Promise<void>,
  ): Promise<void> {
    const { log, retry, metrics } = this.#deps;
    const userId = event.order.userId;
    if ((await log.begin(event.eventId, channel.name, userId)) === 'done') {
      metrics.skipped(channel.name);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await channel.send(event, `${event.eventId}:${channel.name}`);
        break;
      } catch (error) {
        if (error instanceof PermanentDeliveryError || attempt >= retry.maxAttempts) {
          metrics.failed(channel.name);
          throw new DeliveryFailedError(channel.name, attempt, error);
        }
        await pause(backoffMs(retry, attempt));
      }
    }
    await log.finish(event.eventId, channel.name, userId);
    metrics.sent(channel.name);
  }
}
