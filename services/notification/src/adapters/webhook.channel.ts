import type { OrderPlacedEvent } from '@mela/messaging';
import { PermanentDeliveryError, type Channel } from '../domain/notifier.js';

/**
 * SMS or push through a provider's HTTP webhook: a JSON POST with an `Idempotency-Key`
 * header. 2xx is delivered; 408, 429 and 5xx are retried; any other 4xx is permanent.
 */
export class WebhookChannel implements Channel {
  readonly name: string;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #applies: (event: OrderPlacedEvent) => boolean;
  readonly #payload: (event: OrderPlacedEvent) => unknown;

  constructor(options: {
    readonly name: string;
    readonly url: string;
    readonly timeoutMs: number;
    readonly applies: (event: OrderPlacedEvent) => boolean;
    readonly payload: (event: OrderPlacedEvent) => unknown;
  }) {
    this.name = options.name;
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs;
    this.#applies = options.applies;
    this.#payload = options.payload;
  }

  applies(event: OrderPlacedEvent): boolean {
    return this.#applies(event);
  }

  async send(event: OrderPlacedEvent, idempotencyKey: string): Promise<void> {
    const response = await fetch(this.#url, {
      method: 'POST',
      signal: AbortSignal.timeout(this.#timeoutMs),
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(this.#payload(event)),
    });
    await response.body?.cancel();
    if (response.ok) return;
    const message = `${this.name} provider answered ${String(response.status)}`;
    if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status))
      throw new PermanentDeliveryError(message);
    throw new Error(message);
  }
}
