import type { Router } from 'express';
import {
  createRouter,
  AppError,
  domainProblems,
  parseInput,
  requireUserPrivately,
  userIdOf,
  type TokenVerifier,
} from '@mela/platform';
import { z } from 'zod';
import {
  decodeOrderCursor,
  encodeOrderCursor,
  listOrdersQuery,
  orderIdSchema,
  orderView,
  parseIdempotencyKey,
  placeOrderSchema,
} from '../domain/order.js';
import type { OrderService } from '../domain/order.service.js';
import type { CallerCart } from '../domain/ports.js';
import { orderProblem } from './problems.js';

const orderParams = z.object({ id: orderIdSchema });

/** `/api/orders*`: the caller's own orders (the user comes from the token, never the request). */
export function orderRoutes(options: {
  readonly orders: OrderService;
  readonly tokens: TokenVerifier;
  /** The cart of the user placing the order (authenticated by this service). */
  readonly cartOf: (userId: string) => CallerCart;
}): Router {
  const { orders } = options;
  const router = createRouter();
  router.use('/api/orders', requireUserPrivately(options.tokens));

  router.post('/api/orders', async (req, res) => {
    const parsed = parseIdempotencyKey(req.get('idempotency-key'));
    if ('problem' in parsed) {
      throw new AppError(`idempotency_key_${parsed.problem}`, 400, 'Idempotency-Key required', {
        detail:
          parsed.problem === 'missing'
            ? 'Send an Idempotency-Key header (a UUID, say) so a retried request cannot order twice.'
            : 'The Idempotency-Key must be 8–255 characters of letters, digits and - _ . :',
      });
    }
    const input = parseInput(placeOrderSchema, req.body ?? {}, 'body');
    const userId = userIdOf(req);
    const { order, replayed } = await orders.place({
      userId,
      key: parsed.key,
      input,
      cart: options.cartOf(userId),
    });
    res
      .status(201)
      .set('Location', `/api/orders/${order.id}`)
      .set('Idempotent-Replayed', String(replayed))
      .json(orderView(order));
  });

  router.get('/api/orders', async (req, res) => {
    const query = parseInput(listOrdersQuery, req.query, 'query');
    const before = query.cursor ? decodeOrderCursor(query.cursor) : undefined;
    const page = await orders.list(userIdOf(req), query.limit, before);
    res.json({
      orders: page.orders.map(orderView),
      nextCursor: page.nextBefore ? encodeOrderCursor(page.nextBefore) : null,
    });
  });

  router.get('/api/orders/:id', async (req, res) => {
    const { id } = parseInput(orderParams, req.params, 'params');
    res.json(orderView(await orders.get(userIdOf(req), id)));
  });
  router.use(domainProblems(orderProblem));
  return router;
}
