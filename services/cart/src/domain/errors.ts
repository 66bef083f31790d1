/** Why the cart refused a change, in the domain's words; routes/problems.ts gives each its HTTP problem. */
export abstract class CartRefusal extends Error {
  abstract readonly reason: string;
  constructor(readonly productId: string) {
    super(productId);
  }
}

/** The catalog has no such product. */
export class UnknownProductError extends CartRefusal {
  override readonly name = 'UnknownProductError';
  readonly reason = 'unknown_product';
}

/** The product is not in the cart (to change or remove). */
export class NotInCartError extends CartRefusal {
  override readonly name = 'NotInCartError';
  readonly reason = 'not_in_cart';
}

/** The cart already holds its most different products. */
export class CartFullError extends CartRefusal {
  override readonly name = 'CartFullError';
  readonly reason = 'cart_full';
}

/** More units of one product than a cart may hold. */
export class QuantityLimitError extends CartRefusal {
  override readonly name = 'QuantityLimitError';
  readonly reason = 'quantity_limit';
}
