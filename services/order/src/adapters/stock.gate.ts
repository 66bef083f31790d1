import { createHash } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { CartLine } from '../domain/order.js';
import type { Attempt, StockGate } from '../domain/ports.js';

// All lines or none. KEYS: each line's counter, then the attempt's record; ARGV: each line's
// units, then how long the record is kept (ms). {1}: taken (and the attempt recorded);
// {0, i}: line i has too few units; {2, i}: the same, by an attempt that took units before;
// {-1, i}: line i has no counter yet (read the ledger and start one).
const takeScript = `
local lines = #KEYS - 1
local attempt = KEYS[#KEYS]
for i = 1, lines do
  local units = redis.call('GET', KEYS[i])
  if not units then return {-1, i} end
  if tonumber(units) < tonumber(ARGV[i]) then
    if redis.call('EXISTS', attempt) == 1 then return {2, i} end
    return {0, i}
  end
end
for i = 1, lines do redis.call('DECRBY', KEYS[i], ARGV[i]) end
redis.call('SET', attempt, 1, 'PX', ARGV[#KEYS])
return {1}
`;

// Only a counter that exists grows: giving back must never invent a counter from nothing.
const giveBackScript = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[i]) end
end
return 1
`;

// The scripts as commands of the connection (ioredis's defineCommand): sent by EVALSHA, and
// their text again only when the server does not know them (after a restart or SCRIPT FLUSH).
declare module 'ioredis' {
  interface RedisCommander<Context> {
    melaStockGateTake(
      numKeys: number,
      ...keysThenUnits: (string | number)[]
    ): Result<unknown, Context>;
    melaStockGateGiveBack(
      numKeys: number,
      ...keysThenUnits: (string | number)[]
    ): Result<unknown, Context>;
  }
}

/**
 * Per-product unit counters in Redis, started from the ledger's stock and kept for
 * `ttlSeconds` (then read again, so a restock or any drift heals by itself). In a stampede
 * the counter reaches 0 after the last unit and every later buyer is told "sold out" by one
 * Redis call, without touching MySQL. Redis trouble makes the gate step aside: MySQL's
 * conditional update still guarantees no oversell, only slower.
 */
export class RedisStockGate implements StockGate {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;
  readonly #stockOf: (productId: string) => Promise<number | undefined>;
  readonly #starting = new Map<string, Promise<boolean>>();

  readonly #attemptsKeptMs: number;

  constructor(options: {
    readonly redis: Redis;
    readonly keyPrefix: string;
    readonly ttlSeconds: number;
    /** How long an attempt that took units is remembered: as long as its Idempotency-Key. */
    readonly attemptsKeptMs: number;
    readonly stockOf: (productId: string) => Promise<number | undefined>;
  }) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix;
    this.#ttlSeconds = options.ttlSeconds;
    this.#attemptsKeptMs = options.attemptsKeptMs;
    this.#stockOf = options.stockOf;
    this.#redis.defineCommand('melaStockGateTake', { lua: takeScript });
    this.#redis.defineCommand('melaStockGateGiveBack', { lua: giveBackScript });
  }

  #key(productId: string): string {
    return `${this.#prefix}${productId}`;
  }

  /** A script's KEYS (each line's counter) then its ARGV (each line's units). */
  #keysThenUnits(lines: readonly CartLine[]): (string | number)[] {
    return [...lines.map((l) => this.#key(l.productId)), ...lines.map((l) => l.quantity)];
  }

  /** The attempt's record: a digest of who and which key, so no user id is spelled out. */
  #attemptKey({ userId, key }: Attempt): string {
    const digest = createHash('sha256').update(`${userId}\n${key}`).digest('base64url');
    return `${this.#prefix}attempt:${digest.slice(0, 22)}`;
  }

  async take(lines: readonly CartLine[], attempt: Attempt) {
    try {
      // Each missing counter is started once, then the whole take is tried again.
      for (let tries = 0; ; tries += 1) {
        const [result, index = 0] = await this.#take(lines, attempt);
        if (result === 1) return 'ok' as const;
        const line = lines[index - 1];
        if (!line) throw new Error(`the stock gate answered ${String(result)} for line ${index}`);
        if (result === 0 || result === 2 || tries >= lines.length)
          return { soldOut: line.productId, tookBefore: result !== 0 };
        if (!(await this.#start(line.productId))) return { unknown: line.productId };
      }
    } catch {
      return 'unavailable' as const;
    }
  }

  async #take(lines: readonly CartLine[], attempt: Attempt): Promise<number[]> {
    const answer = await this.#redis.melaStockGateTake(
      lines.length + 1,
      ...lines.map((l) => this.#key(l.productId)),
      this.#attemptKey(attempt),
      ...lines.map((l) => l.quantity),
      this.#attemptsKeptMs,
    );
    return Array.isArray(answer) ? answer.map(Number) : [];
  }

  /**
   * One ledger read per product and process while the counter is missing; false when the
   * ledger does not have the product.
   */
  #start(productId: string): Promise<boolean> {
    let starting = this.#starting.get(productId);
    if (!starting) {
      starting = (async () => {
        const units = await this.#stockOf(productId);
        if (units === undefined) return false;
        await this.#redis.set(this.#key(productId), units, 'EX', this.#ttlSeconds, 'NX');
        return true;
      })().finally(() => this.#starting.delete(productId));
      this.#starting.set(productId, starting);
    }
    return starting;
  }

  async giveBack(lines: readonly CartLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.#redis
      .melaStockGateGiveBack(lines.length, ...this.#keysThenUnits(lines))
      .catch(() => undefined);
  }

  async forget(productIds: readonly string[]): Promise<void> {
    if (productIds.length === 0) return;
    await this.#redis.del(...productIds.map((id) => this.#key(id))).catch(() => undefined);
  }
}
