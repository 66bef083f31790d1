import { annotate, type Attributes } from '@mela/core';
import type { Redis } from 'ioredis';
import CircuitBreaker from 'opossum';
import { Counter, Gauge, type Registry } from 'prom-client';
import { NearCache, type NearCacheOptions, type NearEntry } from './near-cache.js';

/** How long one kind of data may be served from the cache. */
export interface CachePolicy {
  /** Fresh for this long. */
  readonly ttlSeconds: number;
  /** ± this fraction of the TTL, at random, so keys written together do not expire together. @default 0.1 */
  readonly jitter?: number;
  /** After going stale, served for this long more while one request refreshes it. @default 0 */
  readonly staleSeconds?: number;
  /** "Not found" is remembered this long. @default 30 */
  readonly negativeTtlSeconds?: number;
}

export interface CacheAsideOptions {
  /** `cache` label of the metrics, e.g. `catalog`. */
  readonly name: string;
  /** A client set to fail fast (`enableOfflineQueue: false`); see {@link cacheRedisOptions}. */
  readonly redis: Redis;
  readonly registry: Registry;
  /** Prepended to every key. */
  readonly keyPrefix: string;
  /** Bound on every Redis call (it includes event-loop delay, so not too tight). @default 100 */
  readonly timeoutMs?: number;
  /** Breaker: open after this share of failed calls in the window. @default 50 */
  readonly errorThresholdPercentage?: number;
  /** Breaker: minimum calls in the window before it may open. @default 5 */
  readonly volumeThreshold?: number;
  /** Breaker: time open before one probe call is let through. @default 5000 */
  readonly resetTimeoutMs?: number;
  /** Called with errors of background refreshes and Redis writes, which never fail a read. */
  readonly onError?: (error: unknown) => void;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * The hottest entries kept in this process too, dropped on every replica's invalidation
   * (published on `<keyPrefix>invalidated`); start it with {@link CacheAside.start}.
   */
  readonly near?: NearCacheOptions | undefined;
}

/** Options for the ioredis client behind a cache: never queue behind a dead connection. */
export const cacheRedisOptions = {
  // Commands issued in the same tick (a page's MGETs) go out in one write.
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 1000,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
} as const;

interface Envelope<T> {
  /** The value; absent for a remembered "not found". */
  readonly v?: T;
  /** Fresh until this time (ms since the epoch). */
  readonly f: number;
}

/** `near`: a hit served from this process's memory, without asking Redis. */
export type CacheResult = 'near' | 'hit' | 'miss' | 'stale' | 'error';
const cacheResults: readonly CacheResult[] = ['near', 'hit', 'miss', 'stale', 'error'];

/** How long a freshly loaded value stands in for Redis while its write is on the way. */
const recentMs = 250;

/**
 * Cache-aside over Redis. Reads try Redis (each call bounded by a timeout and guarded by a
 * circuit breaker), fall back to the loader on a miss with one load per key per process
 * however many requests wait (single-flight), serve stale entries while one request refreshes
 * them, and remember "not found" briefly. When Redis is down or slow, reads go straight to the
 * loader: slower, never failing because of the cache.
 */
export class CacheAside {
  readonly #options: CacheAsideOptions;
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>]>;
  readonly #inFlight = new Map<string, Promise<unknown>>();
  /**
   * Values loaded in the last moments, by key: a request whose MGET was answered just before
   * the write of a concurrent load landed uses this instead of loading again.
   */
  readonly #recent = new Map<
    string,
    { readonly value: unknown; readonly until: number; readonly generation: number }
  >();
  readonly #writes = new Set<Promise<unknown>>();
  /**
   * Per key being loaded, bumped by an invalidation meanwhile: that load must not be written
   * back or remembered. Only keys with a load in flight are here (it stays bounded).
   */
  readonly #generations = new Map<string, number>();
  /** Lookups by outcome since the counter was last read. */
  readonly #tally: Record<CacheResult, number> = { near: 0, hit: 0, miss: 0, stale: 0, error: 0 };
  /** The span attribute of each outcome, made once. */
  readonly #annotations: Record<CacheResult, Attributes>;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #near: NearCache | undefined;
  /** Where every invalidation is published, for the replicas' near caches. */
  readonly #invalidations: string;

  constructor(options: CacheAsideOptions) {
    this.#options = options;
    this.#invalidations = `${options.keyPrefix}invalidated`;
    this.#near = options.near
      ? new NearCache(options.near, this.#invalidations, options.onError)
      : undefined;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#breaker = new CircuitBreaker((operation: () => Promise<unknown>) => operation(), {
      timeout: options.timeoutMs ?? 100,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 5,
      resetTimeout: options.resetTimeoutMs ?? 5000,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
    });
    const registers = [options.registry];
    const tally = this.#tally;
    new Counter({
      name: 'cache_requests_total',
      help: 'Cache lookups by outcome: hit, miss, stale (served while refreshing) or error (Redis unusable)',
      labelNames: ['cache', 'result'] as const,
      registers,
      collect() {
        // Every outcome exported from the start, so a ratio over them is 0, not "no data".
        for (const result of cacheResults) {
          this.inc({ cache: options.name, result }, tally[result]);
          tally[result] = 0;
        }
      },
    });
    this.#annotations = Object.fromEntries(
      cacheResults.map((result) => [result, { [`mela.cache.${options.name}`]: result }]),
    ) as Record<CacheResult, Attributes>;
    const breaker = this.#breaker;
    new Gauge({
      name: 'cache_breaker_open',
      help: 'Circuit breaker in front of Redis: 0 closed, 0.5 half-open (probing), 1 open (Redis skipped)',
      labelNames: ['cache'] as const,
      registers,
      collect() {
        this.set({ cache: options.name }, breaker.opened ? 1 : breaker.halfOpen ? 0.5 : 0);
      },
    });
    const near = this.#near;
    if (near) {
      new Gauge({
        name: 'cache_near_entries',
        help: "Entries in this replica's near cache (served from memory while invalidations are heard)",
        labelNames: ['cache'] as const,
        registers,
        collect() {
          this.set({ cache: options.name }, near.size);
        },
      });
    }
  }

  /** Starts hearing invalidations, after which the near cache serves (when there is one). */
  start(): Promise<void> {
    return this.#near?.start() ?? Promise.resolve();
  }

  /** `closed` (Redis used), `open` (Redis skipped) or `half-open` (probing it). */
  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#breaker.opened) return 'open';
    return this.#breaker.halfOpen ? 'half-open' : 'closed';
  }

  /**
   * The values of `keys` when this replica's memory (the near cache) holds every one of them,
   * in their order, without waiting (`undefined`: a "not found" it holds); otherwise nothing,
   * and nothing counted: ask `get` or `getMany`.
   */
  fromMemory(keys: readonly string[]): readonly unknown[] | undefined {
    const near = this.#near;
    if (near === undefined) return undefined;
    const now = this.#now();
    const entries: NearEntry[] = [];
    for (const key of keys) {
      const entry = near.get(key, now);
      if (entry === undefined) return undefined;
      entries.push(entry);
    }
    for (let i = 0; i < entries.length; i += 1) this.#count('near');
    return entries.map((entry) => entry.v);
  }

  /**
   * The cached value of `key`, or `load()`'s (cached for next time). `undefined` means
   * "not found" and is cached for `negativeTtlSeconds`.
   */
  async get<T>(
    key: string,
    policy: CachePolicy,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const near = this.#near?.get(key, this.#now());
    if (near) {
      this.#count('near');
      return near.v as T | undefined;
    }
    const found = await this.#read<T>([key]);
    if (found === 'error') {
      this.#count('error');
      return this.#load(key, policy, load, false);
    }
    const entry = found.get(key);
    if (entry === undefined) {
      this.#count('miss');
      return this.#load(key, policy, load, true);
    }
    const now = this.#now();
    if (entry.f > now) {
      this.#count('hit');
      return entry.v;
    }
    if (entry.v !== undefined && now < entry.f + (policy.staleSeconds ?? 0) * 1000) {
      this.#count('stale');
      this.#load(key, policy, load, true).catch((error: unknown) => this.#options.onError?.(error));
      return entry.v;
    }
    this.#count('miss');
    return this.#load(key, policy, load, true);
  }

  /**
   * Many keys in one round trip (MGET); the missing ones are loaded together by `loadMany`,
   * which returns the values it found (keys it does not return are "not found").
   */
  async getMany<T>(
    keys: readonly string[],
    policy: CachePolicy,
    loadMany: (keys: readonly string[]) => Promise<ReadonlyMap<string, T>>,
  ): Promise<Map<string, T>> {
    const result = new Map<string, T>();
    if (keys.length === 0) return result;
    const now = this.#now();
    const far: string[] = [];
    for (const key of keys) {
      const near = this.#near?.get(key, now);
      if (near === undefined) far.push(key);
      else {
        this.#count('near');
        if (near.v !== undefined) result.set(key, near.v as T);
      }
    }
    if (far.length === 0) return result;
    const found = await this.#read<T>(far);
    const missing: string[] = [];
    for (const key of far) {
      const entry = found === 'error' ? undefined : found.get(key);
      if (found === 'error') this.#count('error');
      else if (entry === undefined) this.#count('miss');
      else this.#count(entry.f > this.#now() ? 'hit' : 'stale');
      if (entry === undefined || entry.f <= this.#now()) missing.push(key);
      if (entry?.v !== undefined) result.set(key, entry.v);
    }
    if (missing.length === 0) return result;
    // Keys another request is loading already are awaited; the rest are loaded in one batch.
    const waits: Promise<void>[] = [];
    const toLoad: string[] = [];
    for (const key of missing) {
      const recent = this.#recentValue(key);
      if (recent) {
        this.#place(result, key, recent.value as T | undefined);
        continue;
      }
      const running = this.#inFlight.get(key) as Promise<T | undefined> | undefined;
      if (running)
        waits.push(
          running.then((value) => {
            this.#place(result, key, value);
          }),
        );
      else toLoad.push(key);
    }
    if (toLoad.length > 0) {
      const generations = toLoad.map((key) => this.#generation(key));
      const batch = loadMany(toLoad).then((loaded) => {
        const writes: [string, Envelope<T>, number][] = [];
        toLoad.forEach((key, i) => {
          this.#remember(key, loaded.get(key), generations[i] ?? 0);
          if (found !== 'error' && generations[i] === this.#generation(key)) {
            writes.push([key, ...this.#envelope(loaded.get(key), policy)]);
          }
        });
        return { loaded, written: this.#write(writes) };
      });
      for (const key of toLoad) {
        const one = batch.then(({ loaded }) => loaded.get(key));
        this.#inFlight.set(key, one);
        // In flight until Redis has it: a request arriving meanwhile waits instead of loading again.
        void batch
          .then(({ written }) => written)
          .catch(() => undefined)
          .finally(() => this.#landed(key));
        waits.push(
          one.then((value) => {
            this.#place(result, key, value);
          }),
        );
      }
    }
    await Promise.all(waits);
    return result;
  }

  /**
   * Drops keys after a write, so the next read sees the new data. A second drop shortly after
   * catches a concurrent reader in another process that loaded the old row just before the write.
   */
  async invalidate(
    keys: readonly string[],
    options: { readonly repeatAfterMs?: number } = {},
  ): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) {
      if (this.#inFlight.has(key)) this.#generations.set(key, this.#generation(key) + 1);
      this.#recent.delete(key);
    }
    this.#near?.drop(keys);
    await this.#dropEverywhere(keys);
    const repeat = options.repeatAfterMs ?? 500;
    if (repeat > 0) {
      setTimeout(() => void this.#dropEverywhere(keys), repeat).unref();
    }
  }

  /**
   * Deletes the keys in Redis and tells every replica's near cache to drop them, in one round
   * trip. Never fails: errors are reported and counted by the breaker.
   */
  #dropEverywhere(keys: readonly string[]): Promise<void> {
    const { redis, keyPrefix } = this.#options;
    return this.#guarded(async () => {
      const replies = await redis
        .pipeline()
        .del(...keys.map((key) => keyPrefix + key))
        .publish(this.#invalidations, JSON.stringify(keys))
        .exec();
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
    }).catch((error: unknown) => this.#options.onError?.(error));
  }

  /** A readiness probe: PING through the breaker. Register it as non-critical: the cache is optional. */
  probe(): Promise<unknown> {
    if (this.#breaker.opened)
      return Promise.reject(new Error('circuit open: Redis is being skipped'));
    return this.#guarded(() => this.#options.redis.ping());
  }

  /** Resolves when the writes and refreshes started so far have finished (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.#writes.size > 0 || this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#writes, ...this.#inFlight.values()]);
    }
  }

  /** Stops the breaker's timers and the near cache's connection. */
  shutdown(): void {
    this.#breaker.shutdown();
    this.#near?.stop();
  }

  #place<T>(result: Map<string, T>, key: string, value: T | undefined): void {
    if (value === undefined) result.delete(key);
    else result.set(key, value);
  }

  /** A load and its write are over: nothing is left to fence for the key. */
  #landed(key: string): void {
    this.#inFlight.delete(key);
    this.#generations.delete(key);
  }

  /** Keys whose loads an invalidation has fenced off and that are still in flight. */
  get fencedKeys(): number {
    return this.#generations.size;
  }

  #remember(key: string, value: unknown, generation: number): void {
    // A load the key was invalidated during is not remembered (its value may be the old one).
    if (generation !== this.#generation(key)) return;
    const now = this.#now();
    if (this.#recent.size > 10_000) {
      for (const [k, entry] of this.#recent) if (entry.until <= now) this.#recent.delete(k);
    }
    this.#recent.set(key, { value, until: now + recentMs, generation });
  }

  #recentValue(key: string): { readonly value: unknown } | undefined {
    const entry = this.#recent.get(key);
    if (!entry || entry.until <= this.#now() || entry.generation !== this.#generation(key))
      return undefined;
    return { value: entry.value };
  }

  #generation(key: string): number {
    return this.#generations.get(key) ?? 0;
  }

  #count(result: CacheResult): void {
    // Tallied here, added to the counter when it is read (prom-client hashes the labels of
    // every increment: not on the hot path).
    this.#tally[result] += 1;
    // The request's span says how its read went (the last key's, for a batch).
    annotate(this.#annotations[result]);
  }

  #guarded<R>(operation: () => Promise<R>): Promise<R> {
    return this.#breaker.fire(operation) as Promise<R>;
  }

  async #read<T>(keys: readonly string[]): Promise<Map<string, Envelope<T>> | 'error'> {
    let raw: (string | null)[];
    const epoch = this.#near?.epoch ?? 0;
    try {
      raw = await this.#guarded(() =>
        this.#options.redis.mget(...keys.map((k) => this.#options.keyPrefix + k)),
      );
    } catch (error) {
      this.#options.onError?.(error);
      return 'error';
    }
    const entries = new Map<string, Envelope<T>>();
    const now = this.#now();
    raw.forEach((text, i) => {
      const key = keys[i];
      if (text === null || key === undefined) return;
      try {
        const entry = JSON.parse(text) as Envelope<T>;
        entries.set(key, entry);
        this.#near?.keep(key, entry, epoch, now);
      } catch {
        // An unreadable entry is a miss; the load overwrites it.
      }
    });
    return entries;
  }

  #load<T>(
    key: string,
    policy: CachePolicy,
    load: () => Promise<T | undefined>,
    store: boolean,
  ): Promise<T | undefined> {
    const running = this.#inFlight.get(key) as Promise<T | undefined> | undefined;
    if (running) return running;
    const recent = this.#recentValue(key);
    if (recent) return Promise.resolve(recent.value as T | undefined);
    const generation = this.#generation(key);
    const loading = load();
    // In flight until Redis has the value: a request arriving meanwhile waits instead of loading again.
    void loading
      .then((value) => {
        this.#remember(key, value, generation);
        return value;
      })
      .then((value) =>
        store && generation === this.#generation(key)
          ? this.#write([[key, ...this.#envelope(value, policy)]])
          : undefined,
      )
      .catch(() => undefined)
      .finally(() => this.#landed(key));
    this.#inFlight.set(key, loading);
    return loading;
  }

  #envelope<T>(value: T | undefined, policy: CachePolicy): [Envelope<T>, number] {
    const jitter = policy.jitter ?? 0.1;
    const base = value === undefined ? (policy.negativeTtlSeconds ?? 30) : policy.ttlSeconds;
    const fresh = Math.max(1, base * (1 + jitter * (this.#random() * 2 - 1)));
    const stale = value === undefined ? 0 : (policy.staleSeconds ?? 0);
    const envelope: Envelope<T> =
      value === undefined
        ? { f: this.#now() + fresh * 1000 }
        : { v: value, f: this.#now() + fresh * 1000 };
    return [envelope, Math.ceil(fresh + stale)];
  }

  /** Writes never fail a read: errors are reported and counted by the breaker. */
  #write<T>(entries: readonly [string, Envelope<T>, number][]): Promise<unknown> {
    if (entries.length === 0) return Promise.resolve();
    const pipeline = this.#options.redis.pipeline();
    for (const [key, envelope, ttl] of entries)
      pipeline.set(this.#options.keyPrefix + key, JSON.stringify(envelope), 'EX', ttl);
    const write = this.#guarded(() => pipeline.exec())
      .catch((error: unknown) => this.#options.onError?.(error))
      .finally(() => this.#writes.delete(write));
    this.#writes.add(write);
    return write;
  }
}
