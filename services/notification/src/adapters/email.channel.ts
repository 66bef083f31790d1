import { inSpan, SpanKind } from '@mela/core';
import type { OrderPlacedEvent } from '@mela/messaging';
import { createTransport, type Transporter } from 'nodemailer';
import { confirmationEmail } from '../domain/messages.js';
import { PermanentDeliveryError, type Channel } from '../domain/notifier.js';

/**
 * Email over SMTP (nodemailer, pooled connections). The Message-ID is derived from the event,
 * so a message resent after a crash is recognisably the same message.
 */
export class EmailChannel implements Channel {
  readonly name = 'email';
  readonly #transport: Transporter;
  readonly #from: string;
  readonly #domain: string;
  /** The relay's address, on the send's span. */
  readonly #server: { readonly address: string; readonly port: number };

  constructor(options: {
    readonly smtpUrl: string;
    readonly from: string;
    readonly timeoutMs: number;
  }) {
    this.#transport = createTransport({
      url: options.smtpUrl,
      pool: true,
      maxConnections: 3,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
    this.#from = options.from;
    this.#domain = options.from.split('@')[1]?.replace(/>$/, '') ?? 'mela.local';
    const url = new URL(options.smtpUrl);
    this.#server = { address: url.hostname, port: Number(url.port || 25) };
  }

  applies(event: OrderPlacedEvent): boolean {
    return event.contact.email !== undefined;
  }

  async send(event: OrderPlacedEvent, idempotencyKey: string): Promise<void> {
    const message = confirmationEmail(event, event.contact.email ?? '');
    const attributes = {
      'server.address': this.#server.address,
      'server.port': this.#server.port,
      'mela.order.id': event.order.id,
    };
    try {
      await inSpan('smtp send', { kind: SpanKind.CLIENT, attributes }, () =>
        this.#transport.sendMail({
          from: this.#from,
          ...message,
          messageId: `<${idempotencyKey.replace(/[^A-Za-z0-9.-]/g, '.')}@${this.#domain}>`,
          headers: { 'X-Mela-Event-Id': event.eventId, 'X-Mela-Order-Id': event.order.id },
        }),
      );
    } catch (error) {
      // 5xx replies (bad mailbox, rejected) will not get better on retry; 4xx and network will.
      const code = (error as { responseCode?: number }).responseCode;
      if (code !== undefined && code >= 500)
        throw new PermanentDeliveryError(String(error), { cause: error });
      throw error;
    }
  }

  close(): void {
    this.#transport.close();
  }
}
