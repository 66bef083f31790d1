import type { Redis } from 'ioredis';
import type { CartLine } from '../domain/order.js';
import type { StockGate } from '../domain/ports.js';

// 1: taken; 0: too few units; -1: no counter yet (read the ledger and start one).
const takeScript = `
local units = redis.call('GET', KEYS[1])
if not units then return -1 end
if tonumber(units) < tonumber(ARGV[1]) then return 0 end
redis.call('DECRBY', KEYS[1], ARGV[1])
return 1
`;

// Only a counter that exists grows: giving back must never invent a counter from nothing.
const giveBackScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return -1
`;

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
  readonly #starting = new Map<string, Promise<void>>();

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
    const taken: CartLine[] = [];
    try {
      for (const line of lines) {
        let result = await this.#take(line);
        if (result === -1) {
          await this.#start(line.productId);
          result = await this.#take(line);
        }
        if (result === 0 || result === -1) {
          await this.giveBack(taken);
          return { soldOut: line.productId };
        }
        taken.push(line);
      }
      return 'ok' as const;
    } catch {
      await this.giveBack(taken);
      return 'unavailable' as const;
    }
  }

  async #take(line: CartLine): Promise<number> {
    return Number(await this.#redis.eval(takeScript, 1, this.#key(line.productId), line.quantity));
  }

  /** One ledger read per product and process while the counter is missing. */
  #start(productId: string): Promise<void> {
    let starting = this.#starting.get(productId);
    if (!starting) {
      starting = (async () => {
        const units = await this.#stockOf(productId);
        if (units === undefined) return;
        await this.#redis.set(this.#key(productId), units, 'EX', this.#ttlSeconds, 'NX');
      })().finally(() => this.#starting.delete(productId));
      this.#starting.set(productId, starting);
    }
    return starting;
  }

  async giveBack(lines: readonly CartLine[]): Promise<void> {
    await Promise.all(
      lines.map((line) =>
        this.#redis
          .eval(giveBackScript, 1, this.#key(line.productId), line.quantity)
          .catch(() => undefined),
      ),
    );
  }

  async forget(productIds: readonly string[]): Promise<void> {
    if (productIds.length === 0) return;
    await this.#redis.del(...productIds.map((id) => this.#key(id))).catch(() => undefined);
  }
}
