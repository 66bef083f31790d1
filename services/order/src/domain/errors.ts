/**
 * Why an order was not placed, in the domain's words. The routes turn each into its HTTP
 * problem (routes/problems.ts); `reason` is the stable code both the problem and the
 * `orders_rejected_total` metric carry.
 */
export abstract class OrderRefusal extends Error {
  abstract readonly reason: string;
}

/** The cart holds nothing to order. */
export class CartEmptyError extends OrderRefusal {
  override readonly name = 'CartEmptyError';
  readonly reason = 'cart_empty';
  constructor() {
    super('the cart is empty');
  }
}

/** A line asks for fewer than one or more than the policy's units of a product. */
export class InvalidQuantityError extends OrderRefusal {
  override readonly name = 'InvalidQuantityError';
  readonly reason = 'invalid_quantity';
  constructor(
    readonly productId: string,
    readonly maxQuantity: number,
  ) {
    super(`between 1 and ${maxQuantity} units of product ${productId}`);
  }
}

/** Products in the cart that commerce no longer sells. */
export class UnknownProductsError extends OrderRefusal {
  override readonly name = 'UnknownProductsError';
  readonly reason = 'unknown_product';
  constructor(readonly productIds: readonly string[]) {
    super(`unknown products: ${productIds.join(', ')}`);
  }
}

/** Not enough units of a product (the gate or the ledger said so). */
export class SoldOutError extends OrderRefusal {
  override readonly name = 'SoldOutError';
  readonly reason = 'sold_out';
  constructor(readonly productId: string) {
    super(`product ${productId} is sold out`);
  }
}

/** The provider said no (declined, insufficient funds): nothing was charged. */
export class PaymentDeclinedError extends OrderRefusal {
  override readonly name = 'PaymentDeclinedError';
  readonly reason = 'payment_declined';
}

/** The Idempotency-Key was used before for a different request. */
export class IdempotencyConflictError extends OrderRefusal {
  override readonly name = 'IdempotencyConflictError';
  readonly reason = 'idempotency_conflict';
  constructor() {
    super('the key was used for a different request');
  }
}

/** The first request with this key is still running. */
export class IdempotencyInProgressError extends OrderRefusal {
  override readonly name = 'IdempotencyInProgressError';
  readonly reason = 'idempotency_in_progress';
  constructor() {
    super('a request with this key is still being processed');
  }
}

/** No such order, or not the caller's (the same answer, so ids reveal nothing). */
export class OrderNotFoundError extends Error {
  override readonly name = 'OrderNotFoundError';
  constructor(readonly orderId: string) {
    super(`no order ${orderId} for this user`);
  }
}
