import type { Redis } from 'ioredis';
import QuickLRU from 'quick-lru';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** What a budget answered for one request. */
export interface Taken {
  readonly allowed: boolean;
  /** Points left in the window, as far as this replica knows. */
  readonly remaining: number;
  readonly resetSeconds: number;
}

/**
 * Takes up to ARGV[3] points from the counter KEYS[1] (at most ARGV[1] per window of ARGV[2]
 * ms), never more than ARGV[4]-th of what is left unless one point is all that is asked or
 * left; ARGV[3] = 0 only looks. Answers {granted, left after, ms until the window ends}. The
 * counter is the integer with a TTL that rate-limiter-flexible keeps, so replicas of the
 * previous version count in the same key during a rolling update.
 */
const takeScript = `
local points = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = math.max(0, points - used)
local granted = math.min(tonumber(ARGV[3]), left)
if granted > 1 then granted = math.max(1, math.min(granted, math.floor(left / tonumber(ARGV[4])))) end
if granted > 0 then left = math.max(0, points - redis.call('INCRBY', KEYS[1], granted)) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if ttl < 0 then ttl = tonumber(ARGV[2]) end
return {granted, left, ttl}`;

type TakeAnswer = [granted: number, left: number, ttlMs: number];
type WithTake = Redis & {
  melaBudgetTake(
    key: string,
    points: number,
    ms: number,
    want: number,
    share: number,
  ): Promise<TakeAnswer>;
};

/** The most points one lease takes; it is also never more than {@link leaseShare}-th of what is left. */
const maxLease = 16;
/** A lease takes at most this fraction (1/n) of what is left, so replicas leave one another most of it. */
const leaseShare = 8;
/**
 * A key's first lease in a window is this fraction (1/n) of the budget, and at least one point:
 * a client's budget of 100 starts at one point, an address's ceiling over its clients (50 times
 * that) at {@link maxLease}. What a replica can strand of a key it never sees again is then the
 * same small share of any budget.
 */
const firstLeaseShare = 256;

/** The points a replica holds of one key's budget, taken from Redis. */
interface Lease {
  tokens: number;
  /** How many points the last take asked for; the next asks for twice as many. */
  readonly asked: number;
  /** What Redis had left after the last take. */
  readonly left: number;
  /** When the window ends (ms since the epoch). */
  readonly resetAt: number;
}

const answer = (allowed: boolean, remaining: number, resetMs: number): Taken => ({
  allowed,
  remaining,
  resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
});

/**
 * One budget size: counters in Redis shared by the replicas, spent through leases, and an
 * in-process limit of the same size for when Redis cannot be reached.
 *
 * A replica takes a key's points from Redis a few at a time. The first request of a key in a
 * window takes one point, or the budget's share 1/{@link firstLeaseShare} when that is more;
 * each time the lease runs out, the next takes twice as many (at most {@link maxLease}, and at
 * most an eighth of what is left). So a client whose requests reach this replica often costs
 * Redis one command per lease instead of one per request, while a client spread thinly over
 * many replicas (or near its limit) is counted one point at a time.
 * The replicas together never serve more than the limit. A client spread over replicas may be
 * refused by one while another still holds a few of its points (at most an eighth of what was
 * left when they were taken); they are served there until the window ends.
 *
 * A key found spent is refused from memory until its window ends: a bot's flood of retries
 * costs no Redis round trips.
 */
export class Budget {
  readonly #redis: WithTake;
  readonly #leases: QuickLRU<string, Lease>;
  readonly #firstLease: number;
  readonly local: RateLimiterMemory;

  constructor(
    redis: Redis,
    readonly policy: string,
    readonly points: number,
    readonly windowSeconds: number,
    readonly keyPrefix: string,
    maxLeases = 100_000,
  ) {
    if (!('melaBudgetTake' in redis))
      redis.defineCommand('melaBudgetTake', { numberOfKeys: 1, lua: takeScript });
    this.#redis = redis as WithTake;
    // Two generations of at most `maxLeases` keys each, grown as clients come: nothing is
    // allocated up front (lru-cache's `max` is, and thirteen such stores slowed every request).
    this.#leases = new QuickLRU({ maxSize: maxLeases });
    this.#firstLease = Math.min(maxLease, Math.max(1, Math.floor(points / firstLeaseShare)));
    this.local = new RateLimiterMemory({ keyPrefix, points, duration: windowSeconds });
  }

  #take(key: string, want: number): Promise<TakeAnswer> {
    if (this.#redis.status !== 'ready')
      return Promise.reject(new Error(`Redis is not ready (${this.#redis.status})`));
    return this.#redis.melaBudgetTake(
      `${this.keyPrefix}:${key}`,
      this.points,
      this.windowSeconds * 1000,
      want,
      leaseShare,
    );
  }

  /**
   * Spends one point of `key`'s budget: at once from this replica's lease (or its record that
   * the key is spent), else from Redis.
   */
  spend(key: string): Taken | Promise<Taken> {
    const now = Date.now();
    const held = this.#leases.get(key);
    const current = held !== undefined && now < held.resetAt ? held : undefined;
    if (current !== undefined) {
      if (current.tokens > 0) {
        current.tokens -= 1;
        return answer(true, current.left + current.tokens, current.resetAt - now);
      }
      if (current.left === 0) return answer(false, 0, current.resetAt - now);
    }
    return this.#lease(
      key,
      current === undefined ? this.#firstLease : Math.min(current.asked * 2, maxLease),
    );
  }

  /** Takes a lease of up to `want` points from Redis and spends one of them. */
  async #lease(key: string, want: number): Promise<Taken> {
    const [granted, left, ttl] = await this.#take(key, want);
    const after = Date.now();
    // A take of this replica's that answered meanwhile keeps its points.
    const meanwhile = this.#leases.get(key);
    const kept = meanwhile !== undefined && after < meanwhile.resetAt ? meanwhile.tokens : 0;
    // This request is served from what was granted, else from points held already.
    const allowed = granted > 0 || kept > 0;
    const lease = {
      tokens: kept + granted - (allowed ? 1 : 0),
      asked: want,
      left,
      resetAt: after + ttl,
    };
    this.#leases.set(key, lease);
    return answer(allowed, left + lease.tokens, ttl);
  }

  /** Whether `key` has a point left, without spending it (asks Redis: others may have spent). */
  async check(key: string): Promise<Taken> {
    const [, left, ttl] = await this.#take(key, 0);
    return answer(left > 0, left, ttl);
  }

  /** Spends one point in Redis directly (a failed attempt, counted after its answer). */
  async spendShared(key: string): Promise<void> {
    await this.#take(key, 1);
  }

  /** The in-process limit's answer, for when Redis cannot be reached. */
  async spendLocally(key: string): Promise<Taken> {
    try {
      const res = await this.local.consume(key);
      return answer(true, Math.max(0, res.remainingPoints), res.msBeforeNext);
    } catch (refused) {
      if (!(refused instanceof RateLimiterRes)) throw refused;
      return answer(false, 0, refused.msBeforeNext);
    }
  }
}
