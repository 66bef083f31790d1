import type { OrderPlacedEvent } from '@mela/messaging';
import { confirmationPush, confirmationSms } from '../domain/messages.js';
import { PermanentDeliveryError, type Channel } from '../domain/notifier.js';

export interface WebhookOptions {
  readonly url: string;
  readonly timeoutMs: number;
}

/**
 * A channel through a provider's HTTP webhook: a JSON POST with an `Idempotency-Key`
 * header. 2xx is delivered; 408, 429 and 5xx are retried; any other 4xx is permanent.
 * Each channel says which events it applies to and what it sends.
 */
export abstract class WebhookChannel implements Channel {
  abstract readonly name: string;
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: WebhookOptions) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs;
  }

  abstract applies(event: OrderPlacedEvent): boolean;

  protected abstract payload(event: OrderPlacedEvent): unknown;

  async send(event: OrderPlacedEvent, idempotencyKey: string): Promise<void> {
    const response = await fetch(this.#url, {
      method: 'POST',
      signal: AbortSignal.timeout(this.#timeoutMs),
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(this.payload(event)),
    });
    await response.body?.cancel();
    if (response.ok) return;
    const message = `${this.name} provider answered ${String(response.status)}`;
    if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status))
      throw new PermanentDeliveryError(message);
    throw new Error(message);
  }
}

/** A text message to the order's phone number, when the shopper gave one. */
export class SmsChannel extends WebhookChannel {
  readonly name = 'sms';

  applies(event: OrderPlacedEvent): boolean {
    return event.contact.phone !== undefined;
  }

  protected payload(event: OrderPlacedEvent): unknown {
    return { to: event.contact.phone, text: confirmationSms(event) };
  }
}

/** A push notification to the shopper's device, when the order carries its token. */
export class PushChannel extends WebhookChannel {
  readonly name = 'push';

  applies(event: OrderPlacedEvent): boolean {
    return event.contact.pushToken !== undefined;
  }

  protected payload(event: OrderPlacedEvent): unknown {
    return { token: event.contact.pushToken, ...confirmationPush(event) };
  }
}
