import type { Redis } from 'ioredis';
import { z } from 'zod';

/** The Redis channel stock changes are announced on, unless configured otherwise. */
export const defaultStockChangesChannel = 'mela:stock-changed';

/**
 * The variable every service that changes or shows stock reads (spread into its schema), so
 * the writers and the listeners agree on the channel.
 */
export const stockChangesEnv = {
  /** Redis pub/sub channel of stock changes (catalog listens; order and catalog announce). */
  STOCK_CHANGES_CHANNEL: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,128}$/)
    .default(defaultStockChangesChannel),
};

/**
 * A {@link StockLedger} `onChange` that publishes the product ids (a JSON array) on `channel`,
 * without waiting: a lost notice only means a cache serves the old count until its TTL.
 */
export function announceStockChanges(
  redis: Pick<Redis, 'publish'>,
  channel: string,
  onError: (error: unknown) => void = () => undefined,
): (productIds: readonly string[]) => void {
  return (productIds) => {
    redis.publish(channel, JSON.stringify([...new Set(productIds)])).catch(onError);
  };
}

/**
 * Hears stock changes on a subscriber connection of its own and hands them on in batches:
 * ids arriving within `coalesceMs` are delivered once, so a flash sale's thousand orders a
 * second on one product drop its cache entry a few times a second, not a thousand.
 */
export class StockChangeListener {
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #coalesceMs: number;
  readonly #onChanged: (productIds: readonly string[]) => Promise<void> | void;
  readonly #onError: (error: unknown) => void;
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    /** A connection for this listener alone (subscribing takes it over), e.g. `redis.duplicate()`. */
    readonly subscriber: Redis;
    readonly channel: string;
    /** @default 100 */
    readonly coalesceMs?: number;
    readonly onChanged: (productIds: readonly string[]) => Promise<void> | void;
    readonly onError?: (error: unknown) => void;
  }) {
    this.#subscriber = options.subscriber;
    this.#channel = options.channel;
    this.#coalesceMs = options.coalesceMs ?? 100;
    this.#onChanged = options.onChanged;
    this.#onError = options.onError ?? (() => undefined);
    this.#subscriber.on('error', this.#onError);
  }

  /** Subscribes (ioredis subscribes again by itself after a reconnect). */
  async start(): Promise<void> {
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      const ids = parseIds(message);
      if (ids.length === 0) return;
      for (const id of ids) this.#pending.add(id);
      this.#timer ??= setTimeout(() => void this.#flush(), this.#coalesceMs);
    });
    await this.#subscriber.subscribe(this.#channel);
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    const ids = [...this.#pending];
    this.#pending = new Set();
    try {
      await this.#onChanged(ids);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Delivers what is pending and closes the subscriber connection. Idempotent. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      await this.#flush();
    }
    this.#subscriber.disconnect();
  }
}

/** Product ids from a notice; anything else on the channel is ignored. */
function parseIds(message: string): string[] {
  try {
    const value: unknown = JSON.parse(message);
    return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}
