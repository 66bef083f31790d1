import type { RedisCartStore } from '@mela/carts';
import { inSpan } from '@mela/core';
import type { CallerCart } from '../domain/ports.js';

/**
 * The buyer's cart, read and cleared where the cart service keeps it (`@mela/carts`), for the
 * user the order service authenticated: no call to the cart service, no second check of the
 * same token. The order service only reads and clears; every change goes through the cart
 * service, which validates it against the catalog.
 */
export function cartOf(store: RedisCartStore, userId: string): CallerCart {
  return {
    lines: () =>
      inSpan('cart read', {}, async (span) => {
        const lines = [...(await store.quantities(userId))].map(([productId, quantity]) => ({
          productId,
          quantity,
        }));
        span.setAttribute('mela.cart.lines', lines.length);
        return lines;
      }),
    clear: () => store.clear(userId),
  };
}
