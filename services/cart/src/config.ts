import {
  checkPlatformEnv,
  envInt,
  loadConfig,
  platformConfigFrom,
  platformEnv,
  type PlatformConfig,
} from '@mela/platform';
import { cartsConfigFrom, cartsEnv, defaultCartTtlSeconds } from '@mela/carts';
import { z } from 'zod';
import { defaultCartLimits, type CartLimits } from './domain/cart.js';

const cartEnv = z
  .object({
    ...platformEnv,
    PORT: platformEnv.PORT.default(3002),
    /** Redis for what may be lost or evicted: the short product cache and the rate limiter. */
    REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
    ...cartsEnv,
    /** Base URL of the catalog service. */
    CATALOG_URL: z.url().default('http://127.0.0.1:3001'),
    /** A cart lives this long after its last change. */
    CART_TTL_SECONDS: envInt({ min: 60, max: 30 * 86_400 }).default(defaultCartTtlSeconds),
    CART_MAX_ITEMS: envInt({ min: 1, max: 500 }).default(defaultCartLimits.maxItems),
    CART_MAX_QUANTITY: envInt({ min: 1, max: 1000 }).default(defaultCartLimits.maxQuantity),
    /** How long the cart trusts what the catalog said about a product. */
    CART_PRODUCT_CACHE_SECONDS: envInt({ min: 1, max: 3600 }).default(30),
    CATALOG_TIMEOUT_MS: envInt({ min: 50, max: 30_000 }).default(1000),
  })
  .superRefine(checkPlatformEnv);

/** Every variable the cart reads: the manifests' environment is checked against it. */
export const cartVariables: readonly string[] = [...Object.keys(cartEnv.shape)];

export interface CartConfig {
  readonly platform: PlatformConfig;
  readonly redisUrl: string;
  /** Where the carts are (`CART_REDIS_URL`, else `REDIS_URL`) and their key prefix. */
  readonly carts: { readonly redisUrl: string; readonly keyPrefix: string };
  readonly catalogUrl: string;
  readonly ttlSeconds: number;
  readonly limits: CartLimits;
  readonly productCacheSeconds: number;
  readonly catalogTimeoutMs: number;
}

/** The cart's configuration from the environment; every bad variable is reported at once. */
export function loadCartConfig(env: Readonly<Record<string, string | undefined>>): CartConfig {
  const e = loadConfig(cartEnv, env);
  return Object.freeze({
    platform: platformConfigFrom(e),
    redisUrl: e.REDIS_URL,
    carts: cartsConfigFrom(e),
    catalogUrl: e.CATALOG_URL,
    ttlSeconds: e.CART_TTL_SECONDS,
    limits: Object.freeze({ maxItems: e.CART_MAX_ITEMS, maxQuantity: e.CART_MAX_QUANTITY }),
    productCacheSeconds: e.CART_PRODUCT_CACHE_SECONDS,
    catalogTimeoutMs: e.CATALOG_TIMEOUT_MS,
  });
}
