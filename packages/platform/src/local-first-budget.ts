import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';

/** What this replica knows of one key's budget in the current window. */
interface Tally {
  /** The count Redis last returned (every replica's points, as of then). */
  known: number;
  /** Points spent here and not yet sent to Redis. */
  pending: number;
  /** Points on their way to Redis now. */
  sending: number;
  /** When the window ends (ms since the epoch), as far as this replica knows. */
  resetAt: number;
}

/** A decision made in memory: the points left after it, and the seconds until the window ends. */
export interface LocalDecision {
  readonly remaining: number;
  readonly resetSeconds: number;
}

export interface LocalFirstOptions {
  /** The shared counters (rate-limiter-flexible's Redis limiter: same keys, same window). */
  readonly shared: RateLimiterRedis;
  readonly points: number;
  readonly windowSeconds: number;
  /**
   * Decided in memory while this replica's count of the key stays under this share of the
   * points; from there on every request asks Redis. @default 0.25
   */
  readonly localShare?: number;
  /** How often the points spent in memory are sent to Redis. @default 50 */
  readonly syncMs?: number;
  /** Keys tracked in memory at most; beyond it new keys ask Redis. @default 100000 */
  readonly maxKeys?: number;
  /** A batch Redis could not take (its points are sent again with the next). */
  readonly onSyncError?: (error: unknown) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A budget spent in memory first, for browsing limits that need not be exact to the request:
 * while a key is far from its limit, a request is decided here with no Redis round trip and its
 * point reaches the shared counter with the next batch (one pipelined write for every key
 * every `syncMs`); from `localShare` of the points on, every request goes to Redis and carries
 * this replica's unsent points with it, so the refusal at the limit is Redis's, exact. A key can
 * be over-served only by what other replicas allowed it, under their share, within one sync
 * interval.
 */
export class LocalFirstBudget {
  readonly #options: LocalFirstOptions;
  readonly #tallies = new Map<string, Tally>();
  /** Keys with points not yet sent: a batch visits these, not every key of the window. */
  #dirty = new Set<string>();
  #sweptAt = 0;
  readonly #localLimit: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;

  constructor(options: LocalFirstOptions) {
    this.#options = options;
    this.#localLimit = Math.floor(options.points * (options.localShare ?? 0.25));
    this.#now = options.now ?? Date.now;
  }

  /** Spends one point in memory, or returns undefined: ask Redis (see {@link spendShared}). */
  trySpend(key: string): LocalDecision | undefined {
    if (this.#localLimit < 1) return undefined;
    const now = this.#now();
    let tally = this.#tallies.get(key);
    if (tally !== undefined && tally.resetAt <= now && tally.pending + tally.sending === 0) {
      this.#tallies.delete(key);
      tally = undefined;
    }
    if (tally === undefined) {
      if (this.#tallies.size >= (this.#options.maxKeys ?? 100_000)) return undefined;
      tally = {
        known: 0,
        pending: 0,
        sending: 0,
        resetAt: now + this.#options.windowSeconds * 1000,
      };
      this.#tallies.set(key, tally);
    }
    const spent = tally.known + tally.pending + tally.sending;
    if (spent + 1 > this.#localLimit) return undefined;
    tally.pending += 1;
    this.#dirty.add(key);
    this.#schedule();
    return {
      remaining: this.#options.points - spent - 1,
      resetSeconds: Math.max(1, Math.ceil((tally.resetAt - now) / 1000)),
    };
  }

  /**
   * Spends one point through Redis, with this replica's unsent points for the key: resolves
   * with Redis's answer, rejects as rate-limiter-flexible does (a `RateLimiterRes` when over,
   * an error when Redis cannot answer — then the unsent points stay for the next batch).
   */
  async spendShared(key: string): Promise<RateLimiterRes> {
    const tally = this.#tallies.get(key);
    const carried = tally?.pending ?? 0;
    if (tally) tally.pending = 0;
    try {
      const res = await this.#options.shared.consume(key, 1 + carried);
      this.#learn(key, res);
      return res;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) this.#learn(key, rejection, true);
      else if (tally && carried > 0) {
        tally.pending += carried;
        this.#dirty.add(key);
      }
      throw rejection;
    }
  }

  /** Sends what is pending now (and waits for it); for tests and shutdown. */
  async sync(): Promise<void> {
    await this.#syncing;
    this.#syncing = this.#send().finally(() => {
      this.#syncing = undefined;
    });
    await this.#syncing;
  }

  /** Stops the batch timer; what is pending is not sent. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.sync();
    }, this.#options.syncMs ?? 50).unref();
  }

  async #send(): Promise<void> {
    this.#sweep();
    const batch: Promise<void>[] = [];
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const key of dirty) {
      const tally = this.#tallies.get(key);
      if (tally === undefined || tally.pending === 0) continue;
      const points = tally.pending;
      tally.pending = 0;
      tally.sending += points;
      // Issued in one tick: the client's auto-pipelining writes the batch at once.
      batch.push(
        this.#options.shared.consume(key, points).then(
          (res) => {
            tally.sending -= points;
            this.#learn(key, res);
          },
          (rejection: unknown) => {
            tally.sending -= points;
            if (rejection instanceof RateLimiterRes) this.#learn(key, rejection, true);
            else {
              tally.pending += points;
              this.#dirty.add(key);
              this.#options.onSyncError?.(rejection);
              this.#schedule();
            }
          },
        ),
      );
    }
    await Promise.all(batch);
  }

  /** Once a window: forgets the keys whose window has ended with nothing left to send. */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#sweptAt < this.#options.windowSeconds * 1000) return;
    this.#sweptAt = now;
    for (const [key, tally] of this.#tallies) {
      if (tally.resetAt <= now && tally.pending + tally.sending === 0) this.#tallies.delete(key);
    }
  }

  /**
   * Redis's count for the key (every replica's), and when its window ends. A refusal spends the
   * key's window: one refused from memory (rate-limiter-flexible's block) says 0 points.
   */
  #learn(key: string, res: RateLimiterRes, refused = false): void {
    const tally = this.#tallies.get(key);
    if (!tally) return;
    tally.known = refused ? Math.max(res.consumedPoints, this.#options.points) : res.consumedPoints;
    tally.resetAt = this.#now() + res.msBeforeNext;
  }
}
