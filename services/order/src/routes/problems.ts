import { AppError } from '@mela/platform';
import {
  CartEmptyError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  InvalidQuantityError,
  OrderNotFoundError,
  PaymentDeclinedError,
  SoldOutError,
  UnknownProductsError,
} from '../domain/errors.js';

/** The order domain's errors as HTTP problems: the one place that knows their statuses. */
export function orderProblem(error: unknown): AppError | undefined {
  const cause = error;
  if (error instanceof CartEmptyError) {
    return new AppError(error.reason, 422, 'Cart is empty', {
      detail: 'Add products to the cart before placing an order.',
      cause,
    });
  }
  if (error instanceof InvalidQuantityError) {
    return new AppError(error.reason, 422, 'Invalid quantity', {
      detail: `Between 1 and ${error.maxQuantity} units of product ${error.productId} per order.`,
      cause,
    });
  }
  if (error instanceof UnknownProductsError) {
    return new AppError(error.reason, 422, 'Unknown product', {
      detail: `These products are no longer sold: ${error.productIds.join(', ')}.`,
      extensions: { productIds: error.productIds },
      cause,
    });
  }
  if (error instanceof SoldOutError) {
    return new AppError(error.reason, 409, 'Sold out', {
      detail: `Product ${error.productId} is sold out.`,
      extensions: { productId: error.productId },
      cause,
    });
  }
  if (error instanceof PaymentDeclinedError) {
    return new AppError(error.reason, 402, 'Payment declined', {
      detail: 'The payment was declined; nothing was charged and the cart is unchanged.',
      cause,
    });
  }
  if (error instanceof IdempotencyConflictError) {
    return new AppError(error.reason, 409, 'Conflict', {
      detail: 'This Idempotency-Key was used for a different request.',
      cause,
    });
  }
  if (error instanceof IdempotencyInProgressError) {
    return new AppError(error.reason, 409, 'Conflict', {
      detail: 'A request with this Idempotency-Key is still being processed.',
      headers: { 'Retry-After': '1' },
      cause,
    });
  }
  if (error instanceof OrderNotFoundError) {
    return new AppError('order_not_found', 404, 'Not found', { detail: 'No such order.', cause });
  }
  return undefined;
}
