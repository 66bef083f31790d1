import { DependencyUnavailableError } from '@mela/core';
import {
  CartFullError,
  NotInCartError,
  QuantityLimitError,
  UnknownProductError,
} from './errors.js';
import { priceCart, type CartLimits, type CartView, type CatalogProduct } from './cart.js';

/** Where carts live (Redis). Quantities change atomically, within the limits. */
export interface CartStore {
  quantities(userId: string): Promise<Map<string, number>>;
  /** Adds `quantity` (or sets it with `mode: 'set'`); the cart's TTL starts again. */
  change(
    userId: string,
    productId: string,
    quantity: number,
    mode: 'add' | 'set',
    limits: CartLimits,
  ): Promise<number | 'too_many_items' | 'quantity_limit' | 'not_in_cart'>;
  remove(userId: string, productId: string): Promise<boolean>;
  clear(userId: string): Promise<void>;
}

/** The catalog, as seen from the cart (through its API). */
export interface ProductCatalog {
  /** The products that exist among `ids`; throws DependencyUnavailableError when the catalog is down. */
  products(ids: readonly string[]): Promise<ReadonlyMap<string, CatalogProduct>>;
}

/** A user's cart: what they may put in it, and how it is priced. */
export class CartService {
  readonly #store: CartStore;
  readonly #catalog: ProductCatalog;
  readonly #limits: CartLimits;

  constructor(store: CartStore, catalog: ProductCatalog, limits: CartLimits) {
    this.#store = store;
    this.#catalog = catalog;
    this.#limits = limits;
  }

  /** The cart, priced from the catalog; when the catalog is down, the lines without prices. */
  async view(userId: string): Promise<CartView> {
    const quantities = await this.#store.quantities(userId);
    if (quantities.size === 0) return priceCart(quantities, new Map());
    try {
      return priceCart(quantities, await this.#catalog.products([...quantities.keys()]));
    } catch (error) {
      if (error instanceof DependencyUnavailableError) return priceCart(quantities, undefined);
      throw error;
    }
  }

  /** Adds units of a product that exists in the catalog. */
  async add(userId: string, productId: string, quantity: number): Promise<CartView> {
    const found = await this.#catalog.products([productId]);
    if (!found.has(productId)) throw new UnknownProductError(productId);
    this.#check(
      await this.#store.change(userId, productId, quantity, 'add', this.#limits),
      productId,
    );
    return this.view(userId);
  }

  /** Sets the quantity of a product already in the cart. */
  async setQuantity(userId: string, productId: string, quantity: number): Promise<CartView> {
    this.#check(
      await this.#store.change(userId, productId, quantity, 'set', this.#limits),
      productId,
    );
    return this.view(userId);
  }

  async remove(userId: string, productId: string): Promise<CartView> {
    if (!(await this.#store.remove(userId, productId))) throw new NotInCartError(productId);
    return this.view(userId);
  }

  async clear(userId: string): Promise<void> {
    await this.#store.clear(userId);
  }

  #check(
    outcome: number | 'too_many_items' | 'quantity_limit' | 'not_in_cart',
    productId: string,
  ): void {
    if (outcome === 'not_in_cart') throw new NotInCartError(productId);
    if (outcome === 'too_many_items') throw new CartFullError(productId);
    if (outcome === 'quantity_limit') throw new QuantityLimitError(productId);
  }
}
