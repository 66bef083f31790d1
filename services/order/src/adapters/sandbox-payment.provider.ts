import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { PaymentDeclinedError, type Payment, type PaymentProvider } from '../domain/ports.js';

/**
 * The default payment provider: no money moves. Each charge takes `latencyMs` (±20 %) and
 * is declined with probability `failureRate`, so the failure paths of checkout get exercised.
 * Like a real provider, a charge is idempotent on its reference.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  readonly #latencyMs: number;
  readonly #failureRate: number;
  readonly #random: () => number;
  readonly #charges = new Map<string, Promise<Payment>>();

  constructor(options: {
    readonly latencyMs: number;
    readonly failureRate: number;
    readonly random?: () => number;
  }) {
    this.#latencyMs = options.latencyMs;
    this.#failureRate = options.failureRate;
    this.#random = options.random ?? Math.random;
  }

  charge(request: { readonly reference: string }): Promise<Payment> {
    let charge = this.#charges.get(request.reference);
    if (!charge) {
      charge = this.#charge();
      this.#charges.set(request.reference, charge);
      // Keep only recent references: this is a sandbox, not a ledger.
      if (this.#charges.size > 10_000) {
        const oldest = this.#charges.keys().next().value;
        if (oldest !== undefined) this.#charges.delete(oldest);
      }
    }
    return charge;
  }

  async #charge(): Promise<Payment> {
    if (this.#latencyMs > 0) await delay(this.#latencyMs * (0.8 + 0.4 * this.#random()));
    if (this.#random() < this.#failureRate)
      throw new PaymentDeclinedError('declined by the sandbox');
    return { id: `pay_sbx_${randomBytes(9).toString('base64url')}` };
  }

  /** Nothing moved, so nothing moves back. */
  refund(): Promise<void> {
    return Promise.resolve();
  }
}
