/** A category as the storefront lists it. */
export interface Category {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
}

/** What changes rarely about a product (cached for minutes). */
export interface ProductDetails {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly featured: boolean;
  readonly imageUrl: string;
  /** Grows with every admin change; a `PUT` names the version it read. */
  readonly version: number;
}

/** What changes often: price and stock (cached for a minute, dropped on every write). */
export interface PriceAndStock {
  readonly priceCents: number;
  readonly currency: string;
  readonly stock: number;
}

/** A product as the API returns it. */
export interface Product extends ProductDetails {
  readonly priceCents: number;
  readonly currency: string;
  readonly stock: number;
  readonly inStock: boolean;
}

export function assembleProduct(details: ProductDetails, price: PriceAndStock): Product {
  return { ...details, ...price, inStock: price.stock > 0 };
}

/** A page of a listing: products and the cursor of the next page, if any. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}
