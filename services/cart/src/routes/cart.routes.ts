import type { Router } from 'express';
import {
  createRouter,
  domainProblems,
  parseInput,
  requireUserPrivately,
  userIdOf,
  type TokenVerifier,
} from '@mela/platform';
import { z } from 'zod';
import {
  addItemSchema,
  productIdSchema,
  setQuantitySchema,
  type CartLimits,
} from '../domain/cart.js';
import type { CartService } from '../domain/cart.service.js';
import { cartProblem } from './problems.js';

const itemParams = z.object({ productId: productIdSchema });

/** `/api/cart*`: always the caller's own cart (the user comes from the token, never the URL). */
export function cartRoutes(options: {
  readonly carts: CartService;
  readonly tokens: TokenVerifier;
  readonly limits: CartLimits;
}): Router {
  const { carts } = options;
  const addItem = addItemSchema(options.limits);
  const setQuantity = setQuantitySchema(options.limits);
  const router = createRouter();
  router.use('/api/cart', requireUserPrivately(options.tokens));

  router.get('/api/cart', async (req, res) => {
    res.json(await carts.view(userIdOf(req)));
  });
  router.post('/api/cart/items', async (req, res) => {
    const item = parseInput(addItem, req.body, 'body');
    res.status(201).json(await carts.add(userIdOf(req), item.productId, item.quantity));
  });
  router.patch('/api/cart/items/:productId', async (req, res) => {
    const { productId } = parseInput(itemParams, req.params, 'params');
    const { quantity } = parseInput(setQuantity, req.body, 'body');
    res.json(await carts.setQuantity(userIdOf(req), productId, quantity));
  });
  router.delete('/api/cart/items/:productId', async (req, res) => {
    const { productId } = parseInput(itemParams, req.params, 'params');
    res.json(await carts.remove(userIdOf(req), productId));
  });
  router.delete('/api/cart', async (req, res) => {
    await carts.clear(userIdOf(req));
    res.status(204).end();
  });
  router.use(domainProblems(cartProblem(options.limits)));
  return router;
}
