import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CartLine } from '../domain/order.js';
import type { StockGate } from '../domain/ports.js';

// All lines or none. {1}: taken; {0, i}: line i has too few units; {-1, i}: line i has no
// counter yet (read the ledger and start one).
const takeScript = `
for i, key in ipairs(KEYS) do
  local units = redis.call('GET', key)
  if not units then return {-1, i} end
  if tonumber(units) < tonumber(ARGV[i]) then return {0, i} end
end
for i, key in ipairs(KEYS) do redis.call('DECRBY', key, ARGV[i]) end
return {1}
`;

// Only a counter that exists grows: giving back must never invent a counter from nothing.
const giveBackScript = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[i]) end
end
return 1
`;

/**
 * A Lua script run by its SHA1 (EVALSHA), so the script's text crosses the wire only when the
 * server does not know it yet (after a restart or SCRIPT FLUSH).
 */
class RedisScript {
  readonly #lua: string;
  readonly #sha: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]) {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.#lua, keys.length, ...keys, ...args);
    }
  }
}

const take = new RedisScript(takeScript);
const giveBack = new RedisScript(giveBackScript);

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

  constructor(options: {
    readonly redis: Redis;
    readonly keyPrefix: string;
    readonly ttlSeconds: number;
    readonly stockOf: (productId: string) => Promise<number | undefined>;
  }) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix;
    this.#ttlSeconds = options.ttlSeconds;
    this.#stockOf = options.stockOf;
  }

  #key(productId: string): string {
    return `${this.#prefix}${productId}`;
  }

  async take(lines: readonly CartLine[]) {
    try {
      // Each missing counter is started once, then the whole take is tried again.
      for (let attempt = 0; ; attempt += 1) {
        const [result, index = 0] = await this.#take(lines);
        if (result === 1) return 'ok' as const;
        const line = lines[index - 1];
        if (!line) throw new Error(`the stock gate answered ${String(result)} for line ${index}`);
        if (result === 0 || attempt >= lines.length) return { soldOut: line.productId };
        if (!(await this.#start(line.productId))) return { unknown: line.productId };
      }
    } catch {
      return 'unavailable' as const;
    }
  }

  async #take(lines: readonly CartLine[]): Promise<number[]> {
    const answer = await take.run(
      this.#redis,
      lines.map((l) => this.#key(l.productId)),
      lines.map((l) => l.quantity),
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
    await giveBack
      .run(
        this.#redis,
        lines.map((l) => this.#key(l.productId)),
        lines.map((l) => l.quantity),
      )
      .catch(() => undefined);
  }

  async forget(productIds: readonly string[]): Promise<void> {
    if (productIds.length === 0) return;
    await this.#redis.del(...productIds.map((id) => this.#key(id))).catch(() => undefined);
  }
}
