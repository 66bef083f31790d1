import { z } from 'zod';

/** Where carts are kept: the variables every service that reads carts shares. */
export const cartsEnv = {
  /**
   * Redis holding the carts: persistent (append-only file) and never evicting. Default: the
   * same as REDIS_URL, which is right only when that one persists and does not evict.
   */
  CART_REDIS_URL: z.url().optional(),
  CART_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('cart:'),
};

/** Where a service finds the carts, from its parsed variables (REDIS_URL when no carts' Redis). */
export function cartsConfigFrom(e: {
  readonly REDIS_URL: string;
  readonly CART_REDIS_URL?: string | undefined;
  readonly CART_KEY_PREFIX: string;
}): { readonly redisUrl: string; readonly keyPrefix: string } {
  return { redisUrl: e.CART_REDIS_URL ?? e.REDIS_URL, keyPrefix: e.CART_KEY_PREFIX };
}
