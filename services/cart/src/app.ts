import type { Express, RequestHandler } from 'express';
import { createServiceApp, type Platform } from '@mela/platform';
import type { CartLimits } from './domain/cart.js';
import type { CartService } from './domain/cart.service.js';
import { cartRoutes } from './routes/cart.routes.js';

/** The cart's express app; everything it uses is passed in. */
export function createApp(deps: {
  readonly platform: Platform;
  readonly carts: CartService;
  readonly limits: CartLimits;
  /** Applied before every route, when configured. */
  readonly rateLimit?: RequestHandler | undefined;
}): Express {
  return createServiceApp(
    deps.platform,
    (_app, mount) => {
      mount(cartRoutes({ carts: deps.carts, tokens: deps.platform.tokens, limits: deps.limits }));
    },
    deps.rateLimit ? { rateLimit: deps.rateLimit } : {},
  );
}
