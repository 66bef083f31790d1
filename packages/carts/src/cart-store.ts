import { DependencyUnavailableError } from '@mela/core';
import type { Redis } from 'ioredis';

// Bounds are checked and the change made in one step, so two tabs adding at once cannot
// exceed them. Returns the new quantity, or -1 cart full, -2 over the limit, -3 not in cart.
const changeScript = `
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1])
if ARGV[6] == 'set' and exists == 0 then return -3 end
if exists == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local wanted = tonumber(ARGV[2])
if ARGV[6] == 'add' then wanted = current + wanted end
if wanted > tonumber(ARGV[3]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], wanted)
redis.call('EXPIRE', KEYS[1], ARGV[5])
return wanted
`;

/** A cart lives this long after its last change, unless the cart service is told otherwise. */
export const defaultCartTtlSeconds = 86_400;

/**
 * Carts as Redis hashes `<prefix>user:<user id>` (product → quantity) that expire `ttlSeconds`
 * after the last change, in the carts' own Redis (persistent, never evicting). The one place
 * that knows how a cart is stored: the cart service changes carts through it, and the order
 * service reads and clears the buyer's cart through it at checkout, without a call to the cart
 * service.
 */
export class RedisCartStore {
  readonly #redis: Redis;
  readonly #ttlSeconds: number;
  readonly #prefix: string;

  constructor(
    redis: Redis,
    options: {
      /** `CART_KEY_PREFIX`: the same for every service that reads carts. */
      readonly keyPrefix: string;
      /** How long a cart lives after a change (only changes set it). */
      readonly ttlSeconds?: number;
    },
  ) {
    this.#redis = redis;
    this.#ttlSeconds = options.ttlSeconds ?? defaultCartTtlSeconds;
    this.#prefix = `${options.keyPrefix}user:`;
  }

  #key(userId: string): string {
    return `${this.#prefix}${userId}`;
  }

  async quantities(userId: string): Promise<Map<string, number>> {
    const hash = await this.#call(() => this.#redis.hgetall(this.#key(userId)));
    return new Map(
      Object.entries(hash).map(([productId, quantity]) => [productId, Number(quantity)]),
    );
  }

  async change(
    userId: string,
    productId: string,
    quantity: number,
    mode: 'add' | 'set',
    /** How much one cart may hold (the cart service's settings). */
    limits: { readonly maxItems: number; readonly maxQuantity: number },
  ) {
    const result = Number(
      await this.#call(() =>
        this.#redis.eval(
          changeScript,
          1,
          this.#key(userId),
          productId,
          quantity,
          limits.maxQuantity,
          limits.maxItems,
          this.#ttlSeconds,
          mode,
        ),
      ),
    );
    if (result === -1) return 'too_many_items' as const;
    if (result === -2) return 'quantity_limit' as const;
    if (result === -3) return 'not_in_cart' as const;
    return result;
  }

  async remove(userId: string, productId: string): Promise<boolean> {
    const removed = await this.#call(() => this.#redis.hdel(this.#key(userId), productId));
    if (removed === 1)
      await this.#call(() => this.#redis.expire(this.#key(userId), this.#ttlSeconds));
    return removed === 1;
  }

  async clear(userId: string): Promise<void> {
    await this.#call(() => this.#redis.del(this.#key(userId)));
  }

  /** Carts live only in Redis: without it there is no cart, and the answer is a clear 503. */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }
}
