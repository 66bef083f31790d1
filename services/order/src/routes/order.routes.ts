import { ApiRouter, AppError, domainProblems, userIdOf, type TokenVerifier } from '@mela/platform';
import { orderView, parseIdempotencyKey } from '../domain/order.js';
import type { OrderService } from '../domain/order.service.js';
import type { CallerCart } from '../domain/ports.js';
import { orderOperations as ops } from './order.operations.js';
import { orderProblem } from './problems.js';

/** `/api/orders*`: the caller's own orders (the user comes from the token, never the request). */
export function orderRoutes(options: {
  readonly orders: OrderService;
  readonly tokens: TokenVerifier;
  /** The cart of the user placing the order (authenticated by this service). */
  readonly cartOf: (userId: string) => CallerCart;
}): ApiRouter {
  const { orders } = options;
  const api = new ApiRouter(options.tokens)
    .handle(ops.place, async ({ body }, req, res) => {
      const parsed = parseIdempotencyKey(req.get('idempotency-key'));
      if ('problem' in parsed) {
        throw new AppError(`idempotency_key_${parsed.problem}`, 400, 'Idempotency-Key required', {
          detail:
            parsed.problem === 'missing'
              ? 'Send an Idempotency-Key header (a UUID, say) so a retried request cannot order twice.'
              : 'The Idempotency-Key must be 8–255 characters of letters, digits and - _ . :',
        });
      }
      const userId = userIdOf(req);
      const { order, replayed } = await orders.place({
        userId,
        key: parsed.key,
        input: body,
        cart: options.cartOf(userId),
      });
      res
        .status(201)
        .set('Location', `/api/orders/${order.id}`)
        .set('Idempotent-Replayed', String(replayed))
        .json(orderView(order));
    })
    .handle(ops.list, async ({ query }, req, res) => {
      const page = await orders.list(userIdOf(req), query.limit, query.cursor);
      res.json({ orders: page.orders.map(orderView), nextCursor: page.nextBefore ?? null });
    })
    .handle(ops.get, async ({ params }, req, res) => {
      res.json(orderView(await orders.get(userIdOf(req), params.id)));
    });
  api.onError(domainProblems(orderProblem));
  return api;
}
