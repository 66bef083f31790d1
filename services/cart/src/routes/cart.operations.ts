import { operation } from '@mela/platform';
import { z } from 'zod';
import {
  addItemSchema,
  productIdSchema,
  setQuantitySchema,
  type CartLimits,
  type CartView,
} from '../domain/cart.js';

/** The caller's cart as the API answers it (checked against the domain's type when compiling). */
const cartView = z
  .object({
    items: z.array(
      z.object({
        productId: productIdSchema,
        quantity: z.int().min(1),
        product: z
          .object({
            id: productIdSchema,
            name: z.string(),
            priceCents: z.int().min(0),
            currency: z.string(),
            stock: z.int().min(0),
            imageUrl: z.string(),
          })
          .optional()
          .meta({ description: 'Absent while the catalog cannot be asked (degraded).' }),
        lineTotalCents: z.int().min(0).optional(),
      }),
    ),
    itemCount: z.int().min(0),
    subtotalCents: z.int().min(0).optional(),
    currency: z.string(),
    degraded: z
      .boolean()
      .meta({ description: 'True when prices could not be shown: the catalog is unavailable.' }),
  })
  .meta({ id: 'Cart' }) satisfies z.ZodType<CartView>;

const itemParams = z.object({ productId: productIdSchema });
const tag = 'cart';

/** The cart's API, always the caller's own cart: every route in cart.routes.ts serves one. */
export function cartOperations(limits: CartLimits) {
  return {
    view: operation({
      method: 'get',
      path: '/api/cart',
      operationId: 'getCart',
      summary: 'The caller’s cart, priced by the catalog',
      tag,
      auth: 'user',
      responses: { 200: { description: 'The cart.', body: cartView } },
      problems: [503],
    }),
    add: operation({
      method: 'post',
      path: '/api/cart/items',
      operationId: 'addCartItem',
      summary: 'Adds units of a product',
      tag,
      auth: 'user',
      body: addItemSchema(limits),
      responses: {
        201: {
          description: 'The cart with the item.',
          body: cartView,
          links: Object.fromEntries(
            (['setCartItemQuantity', 'removeCartItem'] as const).map((operationId) => [
              operationId,
              { operationId, parameters: { productId: '$request.body#/productId' } },
            ]),
          ),
        },
      },
      problems: [409, 422, 503],
    }),
    setQuantity: operation({
      method: 'patch',
      path: '/api/cart/items/:productId',
      operationId: 'setCartItemQuantity',
      summary: 'Sets how many units of a product the cart holds',
      tag,
      auth: 'user',
      params: itemParams,
      body: setQuantitySchema(limits),
      responses: { 200: { description: 'The cart.', body: cartView } },
      problems: [404, 409, 503],
    }),
    remove: operation({
      method: 'delete',
      path: '/api/cart/items/:productId',
      operationId: 'removeCartItem',
      summary: 'Takes a product out of the cart',
      tag,
      auth: 'user',
      params: itemParams,
      responses: { 200: { description: 'The cart without it.', body: cartView } },
      problems: [404, 503],
    }),
    clear: operation({
      method: 'delete',
      path: '/api/cart',
      operationId: 'clearCart',
      summary: 'Empties the cart',
      tag,
      auth: 'user',
      responses: { 204: { description: 'Emptied.' } },
      problems: [503],
    }),
  };
}
