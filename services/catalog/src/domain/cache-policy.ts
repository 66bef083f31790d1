import type { CachePolicy } from '@mela/cache';

/** TTLs per kind of catalog data, in seconds. */
export interface CatalogTtls {
  readonly product: number;
  readonly price: number;
  readonly search: number;
  readonly home: number;
  readonly category: number;
  readonly notFound: number;
  /** Lists (search, homepage, categories) may be served this long past their TTL while one request refreshes them. */
  readonly staleWhileRevalidate: number;
  readonly jitter: number;
}

/** What shoppers expect: details 5 min, prices 1 min, search 2 min, homepage 10 min, categories 15 min. */
export const defaultTtls: CatalogTtls = {
  product: 300,
  price: 60,
  search: 120,
  home: 600,
  category: 900,
  notFound: 30,
  staleWhileRevalidate: 30,
  jitter: 0.1,
};

/** The cache policy of each kind of catalog data. */
export function catalogPolicies(ttls: CatalogTtls) {
  const policy = (ttlSeconds: number, swr: boolean): CachePolicy => ({
    ttlSeconds,
    jitter: ttls.jitter,
    negativeTtlSeconds: ttls.notFound,
    staleSeconds: swr ? ttls.staleWhileRevalidate : 0,
  });
  return {
    // Details and prices are invalidated on every write, so they are never served stale.
    product: policy(ttls.product, false),
    price: policy(ttls.price, false),
    search: policy(ttls.search, true),
    home: policy(ttls.home, true),
    category: policy(ttls.category, true),
  } as const;
}

/** Cache keys of the catalog (the cache adds its own prefix). */
export const catalogKeys = {
  product: (id: string) => `p:${id}`,
  price: (id: string) => `pr:${id}`,
  categories: () => 'categories',
  listing: (category: string, cursor: string, limit: number) => `l:${category}:${cursor}:${limit}`,
  search: (category: string, terms: string, offset: number, limit: number) =>
    `s:${category}:${offset}:${limit}:${terms.toLowerCase()}`,
  home: () => 'home',
};
