import { AppError, ConflictError, NotFoundError, ValidationError } from '@mela/core';
import type { CachePolicy } from '@mela/cache';
import type { StockAdjustment } from '@mela/stock';
import { catalogKeys, catalogPolicies, type CatalogTtls } from './cache-policy.js';
import {
  decodeCursor,
  encodeCursor,
  maxSearchOffset,
  searchTerms,
  type ListQuery,
  type ProductCreate,
  type ProductUpdate,
} from './catalog-query.js';
import {
  assembleProduct,
  type Category,
  type Page,
  type PriceAndStock,
  type Product,
  type ProductDetails,
} from './product.js';

/** Where the catalog's data lives (MySQL, through the commerce keyspace). */
export interface CatalogStore {
  details(ids: readonly string[]): Promise<ReadonlyMap<string, ProductDetails>>;
  prices(ids: readonly string[]): Promise<ReadonlyMap<string, PriceAndStock>>;
  listIds(filter: {
    readonly categoryId?: number;
    readonly afterId?: string;
    readonly limit: number;
  }): Promise<string[]>;
  /** Full-text matches, best first; within one category when it is given. */
  searchIds(search: {
    readonly terms: string;
    readonly categoryId?: number;
    readonly offset: number;
    readonly limit: number;
  }): Promise<string[]>;
  featuredIds(limit: number): Promise<string[]>;
  bestsellerIds(limit: number): Promise<string[]>;
  categories(): Promise<Category[]>;
  /** Applies the changes if the product is still at `version`. */
  update(
    id: string,
    version: number,
    changes: ProductUpdate & { readonly categoryId?: number },
  ): Promise<UpdateOutcome>;
  create(product: ProductCreate & { readonly categoryId: number }): Promise<string>;
}

/** A conditional update: done, or not (the product's version if it exists). */
export type UpdateOutcome =
  { readonly updated: true } | { readonly updated: false; readonly currentVersion?: number };

/** Restocks and write-offs, through the one writer of stock (`@mela/stock`). */
export interface StockAdjuster {
  adjust(productId: string, delta: number): Promise<StockAdjustment>;
}

/** The part of the cache the catalog uses. */
export interface CatalogCache {
  get<T>(
    key: string,
    policy: CachePolicy,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined>;
  getMany<T>(
    keys: readonly string[],
    policy: CachePolicy,
    loadMany: (keys: readonly string[]) => Promise<ReadonlyMap<string, T>>,
  ): Promise<Map<string, T>>;
  invalidate(keys: readonly string[]): Promise<void>;
  /** The values of `keys` if this replica's memory holds them all, without waiting. */
  fromMemory(keys: readonly string[]): readonly unknown[] | undefined;
}

export interface Homepage {
  readonly featured: readonly Product[];
  readonly bestsellers: readonly Product[];
}

const homepageSize = 12;

/**
 * The catalog's read and write rules. Lists are cached as product ids and hydrated from the
 * per-product caches, so a price change (which drops that product's keys) shows on the next
 * read of any list, not after the list's TTL.
 */
export class CatalogService {
  readonly #store: CatalogStore;
  readonly #cache: CatalogCache;
  readonly #policies: ReturnType<typeof catalogPolicies>;

  readonly #stock: StockAdjuster;
  /**
   * The product last assembled from each details entry, with the price it was assembled with:
   * while the cache hands out the same entries, the same product object (and its serialised
   * bytes) is handed out again.
   */
  readonly #assembled = new WeakMap<
    ProductDetails,
    { readonly price: PriceAndStock; readonly product: Product }
  >();

  constructor(deps: {
    readonly store: CatalogStore;
    readonly cache: CatalogCache;
    readonly stock: StockAdjuster;
    readonly ttls: CatalogTtls;
  }) {
    this.#store = deps.store;
    this.#cache = deps.cache;
    this.#stock = deps.stock;
    this.#policies = catalogPolicies(deps.ttls);
  }

  /** One product, or 404. */
  async product(id: string): Promise<Product> {
    // A product this replica holds (a hot one): assembled without a wait or a batch's maps.
    const [details, price] =
      this.#cache.fromMemory([catalogKeys.product(id), catalogKeys.price(id)]) ?? [];
    if (details !== undefined && price !== undefined)
      return this.#assemble(details as ProductDetails, price as PriceAndStock);
    const [product] = await this.products([id]);
    if (!product) throw new NotFoundError(`No product ${id}.`, 'product_not_found');
    return product;
  }

  /** Product details (for the image route), or 404. */
  async details(id: string): Promise<ProductDetails> {
    const found = await this.#details([id]);
    const details = found.get(id);
    if (!details) throw new NotFoundError(`No product ${id}.`, 'product_not_found');
    return details;
  }

  /** Products by id, in the order given, skipping ids that do not exist. */
  async products(ids: readonly string[]): Promise<Product[]> {
    const [details, prices] = await Promise.all([this.#details(ids), this.#prices(ids)]);
    return ids.flatMap((id) => {
      const d = details.get(id);
      const p = prices.get(id);
      return d && p ? [this.#assemble(d, p)] : [];
    });
  }

  #assemble(details: ProductDetails, price: PriceAndStock): Product {
    const seen = this.#assembled.get(details);
    if (seen?.price === price) return seen.product;
    const product = assembleProduct(details, price);
    this.#assembled.set(details, { price, product });
    return product;
  }

  #details(ids: readonly string[]): Promise<Map<string, ProductDetails>> {
    return this.#byId(ids, catalogKeys.product, this.#policies.product, (missing) =>
      this.#store.details(missing),
    );
  }

  #prices(ids: readonly string[]): Promise<Map<string, PriceAndStock>> {
    return this.#byId(ids, catalogKeys.price, this.#policies.price, (missing) =>
      this.#store.prices(missing),
    );
  }

  /** Per-product entries by id: one MGET, the misses loaded together, keyed back by id. */
  async #byId<T>(
    ids: readonly string[],
    keyOf: (id: string) => string,
    policy: CachePolicy,
    load: (ids: readonly string[]) => Promise<ReadonlyMap<string, T>>,
  ): Promise<Map<string, T>> {
    const idOf = new Map(ids.map((id) => [keyOf(id), id]));
    const cached = await this.#cache.getMany([...idOf.keys()], policy, async (keys) => {
      const found = await load(keys.map((key) => idOf.get(key) ?? key));
      return new Map([...found].map(([id, value]) => [keyOf(id), value]));
    });
    return new Map([...cached].map(([key, value]) => [idOf.get(key) ?? key, value]));
  }

  /** All categories, in display order. */
  async categories(): Promise<Category[]> {
    return (
      (await this.#cache.get(catalogKeys.categories(), this.#policies.category, () =>
        this.#store.categories(),
      )) ?? []
    );
  }

  /**
   * A page of products: a search (`q`, best match first), a category's products, a search
   * within a category, or everything, newest id last.
   */
  async list(query: ListQuery): Promise<Page<Product>> {
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    let categoryId: number | undefined;
    if (query.category !== undefined) {
      const category = (await this.categories()).find((c) => c.slug === query.category);
      if (!category)
        throw new NotFoundError(`No category "${query.category}".`, 'category_not_found');
      categoryId = category.id;
    }
    if (query.q !== undefined) {
      const terms = searchTerms(query.q);
      if (terms.length < 2)
        throw new ValidationError([{ path: 'query.q', message: 'has no searchable words' }]);
      const offset = cursor && 'offset' in cursor ? cursor.offset : 0;
      const ids =
        (await this.#cache.get(
          catalogKeys.search(query.category ?? '*', terms, offset, query.limit),
          this.#policies.search,
          () =>
            this.#store.searchIds({
              terms,
              ...(categoryId === undefined ? {} : { categoryId }),
              offset,
              limit: query.limit,
            }),
        )) ?? [];
      const next = offset + query.limit;
      return {
        items: await this.products(ids),
        nextCursor:
          ids.length === query.limit && next <= maxSearchOffset
            ? encodeCursor({ offset: next })
            : null,
      };
    }
    const afterId = cursor && 'afterId' in cursor ? cursor.afterId : undefined;
    const ids =
      (await this.#cache.get(
        catalogKeys.listing(query.category ?? '*', afterId ?? '', query.limit),
        this.#policies.category,
        () =>
          this.#store.listIds({
            ...(categoryId === undefined ? {} : { categoryId }),
            ...(afterId === undefined ? {} : { afterId }),
            limit: query.limit,
          }),
      )) ?? [];
    const last = ids[ids.length - 1];
    return {
      items: await this.products(ids),
      nextCursor:
        ids.length === query.limit && last !== undefined ? encodeCursor({ afterId: last }) : null,
    };
  }

  /** Featured products and bestsellers (by popularity). */
  async home(): Promise<Homepage> {
    const ids = (await this.#cache.get(catalogKeys.home(), this.#policies.home, async () => ({
      featured: await this.#store.featuredIds(homepageSize),
      bestsellers: await this.#store.bestsellerIds(homepageSize),
    }))) ?? { featured: [], bestsellers: [] };
    const [featured, bestsellers] = await Promise.all([
      this.products(ids.featured),
      this.products(ids.bestsellers),
    ]);
    return { featured, bestsellers };
  }

  /**
   * Admin: changes a product if it is still at `version` (else 409 `version_conflict` with the
   * current version); its cached details and price are dropped so the next read is fresh.
   */
  async update(id: string, version: number, changes: ProductUpdate): Promise<Product> {
    const categoryId = await this.#categoryId(changes.category);
    const outcome = await this.#store.update(id, version, {
      ...changes,
      ...(categoryId === undefined ? {} : { categoryId }),
    });
    if (!outcome.updated && outcome.currentVersion === undefined)
      throw new NotFoundError(`No product ${id}.`, 'product_not_found');
    if (!outcome.updated) {
      throw new ConflictError(
        'version_conflict',
        `Product ${id} changed since version ${version}; read it again and reapply the change.`,
        { currentVersion: outcome.currentVersion },
      );
    }
    const keys = [catalogKeys.product(id), catalogKeys.price(id)];
    if (changes.featured !== undefined) keys.push(catalogKeys.home());
    await this.#cache.invalidate(keys);
    return this.product(id);
  }

  /**
   * Admin: restock (`delta > 0`) or write off (`delta < 0`) units, relative to what is there,
   * so open reservations keep their units; a write-off beyond the units left is 409.
   */
  async adjustStock(id: string, delta: number): Promise<Product> {
    const outcome = await this.#stock.adjust(id, delta);
    if (!outcome.ok && outcome.reason === 'not_found')
      throw new NotFoundError(`No product ${id}.`, 'product_not_found');
    if (!outcome.ok) {
      throw new ConflictError(
        'insufficient_stock',
        `Product ${id} has ${String(outcome.stock)} units left; cannot write off ${String(-delta)}.`,
        { stock: outcome.stock },
      );
    }
    await this.stockChanged([id]);
    return this.product(id);
  }

  /** Stock moved (an order, a release, a restock): drop the cached counts. */
  async stockChanged(ids: readonly string[]): Promise<void> {
    await this.#cache.invalidate(ids.map((id) => catalogKeys.price(id)));
  }

  /** Admin: adds a product. */
  async create(input: ProductCreate): Promise<Product> {
    const categoryId = await this.#categoryId(input.category);
    if (categoryId === undefined) throw new Error('unreachable: a product always has a category');
    const id = await this.#store.create({ ...input, categoryId });
    await this.#cache.invalidate([catalogKeys.product(id), catalogKeys.price(id)]);
    return this.product(id);
  }

  async #categoryId(slug: string | undefined): Promise<number | undefined> {
    if (slug === undefined) return undefined;
    const category = (await this.categories()).find((c) => c.slug === slug);
    if (!category) {
      throw new AppError('unknown_category', 422, 'Unknown category', {
        detail: `There is no category "${slug}".`,
      });
    }
    return category.id;
  }
}
