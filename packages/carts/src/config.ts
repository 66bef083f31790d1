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
