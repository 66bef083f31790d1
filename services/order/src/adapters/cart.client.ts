import { DependencyUnavailableError, propagationHeaders, UnauthorizedError } from '@mela/platform';
import type { CartLine } from '../domain/order.js';
import type { CartSource } from '../domain/ports.js';

/**
 * The cart service's API, called with the shopper's own bearer token: the order service can
 * only ever read (and clear) the cart of the user who is placing the order.
 */
export class CartClient implements CartSource {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: { readonly baseUrl: string; readonly timeoutMs: number }) {
    this.#baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#timeoutMs = options.timeoutMs;
  }

  async lines(authorization: string): Promise<readonly CartLine[]> {
    const response = await this.#call('GET', authorization);
    const body = (await response.json()) as { items?: { productId: string; quantity: number }[] };
    return (body.items ?? []).map(({ productId, quantity }) => ({ productId, quantity }));
  }

  async clear(authorization: string): Promise<void> {
    await this.#call('DELETE', authorization);
  }

  async #call(method: 'GET' | 'DELETE', authorization: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}/api/cart`, {
        method,
        signal: AbortSignal.timeout(this.#timeoutMs),
        headers: { accept: 'application/json', authorization, ...propagationHeaders() },
      });
    } catch (error) {
      throw new DependencyUnavailableError('cart', error);
    }
    if (response.status === 401) throw new UnauthorizedError();
    if (!response.ok) {
      await response.body?.cancel();
      throw new DependencyUnavailableError('cart', new Error(`cart answered ${response.status}`));
    }
    return response;
  }
}
