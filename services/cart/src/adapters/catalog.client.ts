import type { CacheAside, CachePolicy } from '@mela/cache';
import { DependencyUnavailableError, propagationHeaders } from '@mela/platform';
import type { CatalogProduct } from '../domain/cart.js';
import type { ProductCatalog } from '../domain/cart.service.js';

/**
 * The catalog through its HTTP API, each product cached briefly in Redis so a busy cart page
 * does not become catalog traffic. A catalog that fails or is too slow is a 503 for adds.
 */
export class CatalogClient implements ProductCatalog {
  readonly #baseUrl: string;
  readonly #cache: CacheAside;
  readonly #policy: CachePolicy;
  readonly #timeoutMs: number;

  constructor(options: {
    readonly baseUrl: string;
    readonly cache: CacheAside;
    readonly ttlSeconds: number;
    readonly timeoutMs: number;
  }) {
    this.#baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#cache = options.cache;
    this.#policy = {
      ttlSeconds: options.ttlSeconds,
      negativeTtlSeconds: Math.min(10, options.ttlSeconds),
      jitter: 0.1,
    };
    this.#timeoutMs = options.timeoutMs;
  }

  async products(ids: readonly string[]): Promise<ReadonlyMap<string, CatalogProduct>> {
    return this.#cache.getMany(ids, this.#policy, async (missing) => {
      const found = await Promise.all(
        missing.map(async (id) => [id, await this.#fetch(id)] as const),
      );
      return new Map(found.flatMap(([id, product]) => (product ? [[id, product] as const] : [])));
    });
  }

  async #fetch(id: string): Promise<CatalogProduct | undefined> {
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}/api/catalog/products/${encodeURIComponent(id)}`, {
        signal: AbortSignal.timeout(this.#timeoutMs),
        headers: { accept: 'application/json', ...propagationHeaders() },
      });
    } catch (error) {
      throw new DependencyUnavailableError('catalog', error);
    }
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new DependencyUnavailableError(
        'catalog',
        new Error(`catalog answered ${response.status}`),
      );
    const body = (await response.json()) as CatalogProduct;
    return {
      id: body.id,
      name: body.name,
      priceCents: body.priceCents,
      currency: body.currency,
      stock: body.stock,
      imageUrl: body.imageUrl,
    };
  }
}
