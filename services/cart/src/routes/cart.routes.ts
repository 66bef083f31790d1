import { ApiRouter, domainProblems, userIdOf, type TokenVerifier } from '@mela/platform';
import type { CartLimits } from '../domain/cart.js';
import type { CartService } from '../domain/cart.service.js';
import { cartOperations } from './cart.operations.js';
import { cartProblem } from './problems.js';

/** `/api/cart*`: always the caller's own cart (the user comes from the token, never the URL). */
export function cartRoutes(options: {
  readonly carts: CartService;
  readonly tokens: TokenVerifier;
  readonly limits: CartLimits;
}): ApiRouter {
  const { carts } = options;
  const ops = cartOperations(options.limits);
  const api = new ApiRouter(options.tokens)
    .handle(ops.view, async (_input, req, res) => {
      res.json(await carts.view(userIdOf(req)));
    })
    .handle(ops.add, async ({ body }, req, res) => {
      res.status(201).json(await carts.add(userIdOf(req), body.productId, body.quantity));
    })
    .handle(ops.setQuantity, async ({ params, body }, req, res) => {
      res.json(await carts.setQuantity(userIdOf(req), params.productId, body.quantity));
    })
    .handle(ops.remove, async ({ params }, req, res) => {
      res.json(await carts.remove(userIdOf(req), params.productId));
    })
    .handle(ops.clear, async (_input, req, res) => {
      await carts.clear(userIdOf(req));
      res.status(204).end();
    });
  api.onError(domainProblems(cartProblem(options.limits)));
  return api;
}
