import type { Express, RequestHandler } from 'express';
import { createServiceApp, type Platform } from '@mela/platform';
import type { OrderService } from './domain/order.service.js';
import type { CallerCart } from './domain/ports.js';
import { orderRoutes } from './routes/order.routes.js';

/** The order service's express app; everything it uses is passed in. */
export function createApp(deps: {
  readonly platform: Platform;
  readonly orders: OrderService;
  /** The cart of the user placing the order (authenticated by this service). */
  readonly cartOf: (userId: string) => CallerCart;
  /** Applied before every route, when configured. */
  readonly rateLimit?: RequestHandler | undefined;
}): Express {
  return createServiceApp(
    deps.platform,
    (_app, mount) => {
      mount(
        orderRoutes({ orders: deps.orders, cartOf: deps.cartOf, tokens: deps.platform.tokens }),
      );
    },
    deps.rateLimit ? { rateLimit: deps.rateLimit } : {},
  );
}
