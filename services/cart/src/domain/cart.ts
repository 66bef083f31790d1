import { z } from 'zod';

/** Limits that keep one cart from becoming a denial of service, or a reseller's stockpile. */
export interface CartLimits {
  /** Different products in one cart. */
  readonly maxItems: number;
  /** Units of one product. */
  readonly maxQuantity: number;
}

export const defaultCartLimits: CartLimits = { maxItems: 50, maxQuantity: 10 };

export const productIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,18}$/, 'must be a positive integer id')
  .meta({ examples: ['1'] });

/** `POST /api/cart/items` */
export function addItemSchema(limits: CartLimits) {
  return z.strictObject({
    productId: productIdSchema,
    quantity: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(limits.maxQuantity, `must be at most ${limits.maxQuantity}`)
      .default(1),
  });
}

/** `PATCH /api/cart/items/:productId` */
export function setQuantitySchema(limits: CartLimits) {
  return z.strictObject({
    quantity: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1 (DELETE the item to remove it)')
      .max(limits.maxQuantity, `must be at most ${limits.maxQuantity}`),
  });
}

/** What the catalog says about a product, as far as a cart cares. */
export interface CatalogProduct {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly stock: number;
  readonly imageUrl: string;
}

export interface CartLine {
  readonly productId: string;
  readonly quantity: number;
  /** Absent when the catalog could not be asked (degraded mode). */
  readonly product?: CatalogProduct;
  readonly lineTotalCents?: number;
}

export interface CartView {
  readonly items: readonly CartLine[];
  readonly itemCount: number;
  /** Absent in degraded mode. */
  readonly subtotalCents?: number;
  readonly currency: string;
  /** True when prices could not be shown because the catalog is unavailable. */
  readonly degraded: boolean;
}

/** Prices each line; lines whose product has gone from the catalog are dropped from the view. */
export function priceCart(
  quantities: ReadonlyMap<string, number>,
  products: ReadonlyMap<string, CatalogProduct> | undefined,
): CartView {
  if (!products) {
    const items = [...quantities].map(([productId, quantity]) => ({ productId, quantity }));
    return {
      items,
      itemCount: items.reduce((n, i) => n + i.quantity, 0),
      currency: 'INR',
      degraded: true,
    };
  }
  const items = [...quantities].flatMap(([productId, quantity]) => {
    const product = products.get(productId);
    return product
      ? [{ productId, quantity, product, lineTotalCents: product.priceCents * quantity }]
      : [];
  });
  return {
    items,
    itemCount: items.reduce((n, i) => n + i.quantity, 0),
    subtotalCents: items.reduce((n, i) => n + i.lineTotalCents, 0),
    currency: 'INR',
    degraded: false,
  };
}
