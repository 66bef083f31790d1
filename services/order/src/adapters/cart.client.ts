import { DependencyUnavailableError, propagationHeaders, UnauthorizedError } from '@mela/platform';
import type { CallerCart } from '../domain/ports.js';

/**
 * The cart service's API, called with the shopper's own bearer token: the order service can
 * only ever read (and clear) the cart of the user who is placing the order.
 */
export class CartClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: { readonly baseUrl: string; readonly timeoutMs: number }) {
    this.#baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#timeoutMs = options.timeoutMs;
  }

  /** The cart of the caller whose `Authorization` header this is. */
  of(authorization: string): CallerCart {
    return {
      lines: async () => {
        const response = await this.#call('GET', authorization);
        const body = (await response.json()) as {
          items?: { productId: string; quantity: number }[];
        };
        return (body.items ?? []).map(({ productId, quantity }) => ({ productId, quantity }));
      },
      clear: async () => {
        await this.#call('DELETE', authorization);
      },
    };
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
