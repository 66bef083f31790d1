import { AppError } from '@mela/platform';
import type { CartLimits } from '../domain/cart.js';
import {
  CartFullError,
  NotInCartError,
  QuantityLimitError,
  UnknownProductError,
} from '../domain/errors.js';

/** The cart domain's errors as HTTP problems: the one place that knows their statuses. */
export function cartProblem(limits: CartLimits): (error: unknown) => AppError | undefined {
  return (error) => {
    const cause = error;
    if (error instanceof UnknownProductError) {
      return new AppError(error.reason, 422, 'Unknown product', {
        detail: `There is no product ${error.productId}.`,
        cause,
      });
    }
    if (error instanceof NotInCartError) {
      return new AppError(error.reason, 404, 'Not found', {
        detail: `Product ${error.productId} is not in the cart.`,
        cause,
      });
    }
    if (error instanceof CartFullError) {
      return new AppError(error.reason, 409, 'Conflict', {
        detail: `A cart holds at most ${limits.maxItems} different products.`,
        cause,
      });
    }
    if (error instanceof QuantityLimitError) {
      return new AppError(error.reason, 409, 'Conflict', {
        detail: `At most ${limits.maxQuantity} of one product per cart.`,
        cause,
      });
    }
    return undefined;
  };
}
