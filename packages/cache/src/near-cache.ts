import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** Each replica's memory in front of Redis; see {@link NearCache}. */
export interface NearCacheOptions {
  /** Entries kept per replica; the least recently read go first. @default 10000 */
  readonly maxEntries?: number;
  /** The longest an entry is served from memory (never past its freshness in Redis). @default 1000 */
  readonly ttlMs?: number;
  /**
   * A connection for the invalidations alone (subscribing takes it over), one that waits for
   * Redis rather than failing (`maxRetriesPerRequest: null`).
   */
  readonly subscriber: Redis;
}

/** What the near cache keeps of a Redis entry: the value and until when it is fresh. */
export interface NearEntry {
  readonly v?: unknown;
  /** Fresh until this time (ms since the epoch), as in Redis. */
  readonly f: number;
}

/**
 * The hottest entries of a Redis cache, in this process: a flash sale sends most reads to one
 * product, and those are answered from memory without a Redis round trip. Bounded (least
 * recently read dropped first) and short-lived; an entry is dropped as soon as any replica
 * invalidates its key — every invalidation is published on the cache's channel and each
 * replica listens. While this replica cannot hear the channel (its connection dropped, or not
 * subscribed yet) nothing is served from memory: an invalidation might be missed.
 */
export class NearCache {
  readonly #entries: LRUCache<string, NearEntry>;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #ttlMs: number;
  readonly #onError: (error: unknown) => void;
  /** Bumped by every invalidation heard: a Redis read that spans one is not kept. */
  #epoch = 0;
  #listening = false;
  #stopped = false;

  constructor(
    options: NearCacheOptions,
    channel: string,
    onError: (error: unknown) => void = () => undefined,
  ) {
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#entries = new LRUCache({ max: options.maxEntries ?? 10_000 });
    this.#subscriber = options.subscriber;
    this.#channel = channel;
    this.#onError = onError;
  }

  /** Entries held now (none while the invalidations are not heard: they are dropped then). */
  get size(): number {
    return this.#entries.size;
  }

  /** A counter to hand back to {@link keep}: it tells whether an invalidation came meanwhile. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Subscribes, and again after every reconnect; entries are served once subscribed. */
  async start(): Promise<void> {
    const subscriber = this.#subscriber;
    subscriber.on('error', this.#onError);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) this.drop(parseKeys(message));
    });
    // Invalidations published while the connection was down are lost: forget everything.
    subscriber.on('close', () => this.#deafen());
    subscriber.on('ready', () => void this.#listen());
    if (subscriber.status === 'ready') await this.#listen();
  }

  async #listen(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel);
    } catch (error) {
      this.#onError(error);
      return;
    }
    if (this.#stopped || this.#subscriber.status !== 'ready') return;
    this.#deafen();
    this.#listening = true;
  }

  #deafen(): void {
    this.#listening = false;
    this.#epoch += 1;
    this.#entries.clear();
  }

  /** The entry for `key` while it is fresh and the invalidations are heard. */
  get(key: string, now: number): NearEntry | undefined {
    if (!this.#listening) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.f <= now) return undefined;
    return entry;
  }

  /** Keeps what Redis answered, unless an invalidation was heard since `epoch` was read. */
  keep(key: string, entry: NearEntry, epoch: number, now: number): void {
    if (!this.#listening || epoch !== this.#epoch) return;
    const ttl = Math.min(this.#ttlMs, entry.f - now);
    if (ttl >= 1) this.#entries.set(key, entry, { ttl });
  }

  /** Forgets `keys` here (another replica's invalidation, or this one's). */
  drop(keys: readonly string[]): void {
    this.#epoch += 1;
    for (const key of keys) this.#entries.delete(key);
  }

  /** Closes the subscriber connection and forgets everything. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#deafen();
    this.#subscriber.disconnect();
  }
}

/** Keys from an invalidation; anything else on the channel is ignored. */
function parseKeys(message: string): string[] {
  try {
    const value: unknown = JSON.parse(message);
    return Array.isArray(value)
      ? value.filter((key): key is string => typeof key === 'string')
      : [];
  } catch {
    return [];
  }
}
