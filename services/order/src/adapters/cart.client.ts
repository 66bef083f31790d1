import { Agent, request } from 'node:http';
import { DependencyUnavailableError, propagationHeaders, UnauthorizedError } from '@mela/platform';
import type { CallerCart } from '../domain/ports.js';

/**
 * The cart service's API, called with the shopper's own bearer token: the order service can
 * only ever read (and clear) the cart of the user who is placing the order.
 *
 * Two calls per order go through it, so it uses `node:http` on a keep-alive agent rather than
 * `fetch` (its undici, with its streams, header objects and abort signals, was 5 % of the order
 * service's profile samples in the bench). The agent gives an idle connection up before the
 * cart's replica would close it (Node honours the replica's `Keep-Alive: timeout=` hint).
 *
 * At most `maxConnections` are open at once; more calls wait for one (their timeout runs
 * meanwhile). Unbounded, a flash sale's burst opened a connection per buyer: TCP set-up on
 * both sides was 9 % of the order service's busiest second.
 */
export class CartClient {
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #agent: Agent;

  constructor(options: {
    readonly baseUrl: string;
    readonly timeoutMs: number;
    /** @default 32 */
    readonly maxConnections?: number;
  }) {
    this.#url = new URL('/api/cart', options.baseUrl);
    this.#timeoutMs = options.timeoutMs;
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.maxConnections ?? 32 });
  }

  /** The cart of the caller whose `Authorization` header this is. */
  of(authorization: string): CallerCart {
    return {
      lines: async () => {
        const body = (await this.#call('GET', authorization)) as {
          items?: { productId: string; quantity: number }[];
        };
        return (body.items ?? []).map(({ productId, quantity }) => ({ productId, quantity }));
      },
      clear: async () => {
        await this.#call('DELETE', authorization);
      },
    };
  }

  /** Closes the idle connections (at shutdown). */
  close(): void {
    this.#agent.destroy();
  }

  async #call(method: 'GET' | 'DELETE', authorization: string): Promise<unknown> {
    let answer: { readonly status: number; readonly body: string };
    try {
      answer = await this.#send(method, authorization);
    } catch (error) {
      throw new DependencyUnavailableError('cart', error);
    }
    if (answer.status === 401) throw new UnauthorizedError();
    if (answer.status < 200 || answer.status > 299)
      throw new DependencyUnavailableError('cart', new Error(`cart answered ${answer.status}`));
    try {
      return answer.body === '' ? {} : (JSON.parse(answer.body) as unknown);
    } catch (error) {
      throw new DependencyUnavailableError('cart', error);
    }
  }

  /** One request, answered in full within the timeout (or failed). */
  #send(method: string, authorization: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        this.#url,
        {
          method,
          agent: this.#agent,
          headers: { accept: 'application/json', authorization, ...propagationHeaders() },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`the cart did not answer within ${String(this.#timeoutMs)} ms`));
      }, this.#timeoutMs);
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      req.on('error', fail);
      req.end();
    });
  }
}
