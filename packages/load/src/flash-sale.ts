import { randomUUID } from 'node:crypto';
import type { FlashSaleShape } from '../k6/shapes.js';
import { readableHere, shopGroups, watchMachine, type MachineShare } from './machine.js';
import { summarise, Tally, type SummaryRow } from './stats.js';
import { cannon, inBatches, send, sleepUntil, type Shopper } from './traffic.js';

export interface SaleOutcome {
  readonly productId: string;
  readonly stock: number;
  readonly buyers: number;
  readonly placed: number;
  readonly soldOut: number;
  readonly oversold: number;
  /** Decisions (placed or sold out) per second during the burst. */
  readonly decisionsPerSecond: number;
  /**
   * When the answers came, in ms after the buyers' click: the first and last decision, and the
   * first and last placed order (none when nothing was placed).
   */
  readonly answered: {
    readonly first: number;
    readonly last: number;
    readonly placed?: { readonly first: number; readonly last: number };
  };
  /**
   * This machine's cores during the burst, per decision (browsing and the bots go on meanwhile);
   * only when the shop is served here, on Linux.
   */
  readonly machine?: MachineShare;
}

/**
 * The flash sale's own traffic: a product with `stock` units, every buyer holding one in the
 * cart before the clock starts, bots hammering the product page throughout, and at the sale's
 * moment every buyer's checkout at once.
 */
export class FlashSaleTraffic {
  readonly bots = new Tally();
  readonly cart = new Tally();
  readonly checkout = new Tally();
  #productId = '';
  #buyers: readonly Shopper[] = [];
  #burstSeconds = 0;
  /** When the decisions came (ms after the click), and the placed orders. */
  readonly #decided = new Span();
  readonly #placed = new Span();
  #machine: MachineShare | undefined;

  constructor(
    private readonly url: string,
    private readonly shape: FlashSaleShape,
  ) {}

  /** Creates the sale's product (as `admin`) and fills every buyer's cart with one unit. */
  async prepare(admin: Shopper, buyers: readonly Shopper[], category: string, run: string) {
    this.#productId = await createSaleProduct(this.url, admin, this.shape.stock, run, category);
    this.#buyers = buyers;
    await inBatches(buyers, 64, async (buyer) => {
      const t0 = performance.now();
      const res = await send(this.url, 'POST', '/api/cart/items', buyer.token, {
        productId: this.#productId,
        quantity: 1,
      });
      this.cart.record(res.status, performance.now() - t0);
    });
  }

  /**
   * Runs the bots for `seconds` and the checkout burst at the sale's moment (from `started`);
   * `record` hears every answer, `onPhase` when the sale begins and ends.
   */
  run(options: {
    readonly started: number;
    readonly seconds: number;
    readonly bots: readonly Shopper[];
    readonly record: (status: number, ms: number) => void;
    readonly onPhase: (phase: string) => void;
  }): Promise<unknown> {
    const { bots } = options;
    let next = 0;
    const botTraffic = cannon({
      url: this.url,
      seconds: options.seconds,
      rate: this.shape.bots * 20,
      connections: this.shape.bots,
      next: () => ({
        action: 'product',
        request: {
          method: 'GET',
          path: `/api/catalog/products/${this.#productId}`,
          headers: {
            authorization: `Bearer ${(bots[next++ % bots.length] ?? bots[0])?.token ?? ''}`,
          },
        },
      }),
      record: (_action, status, ms) => {
        this.bots.record(status, ms);
        options.record(status, ms);
      },
    });
    const burst = (async () => {
      await sleepUntil(options.started + this.shape.saleAt * 1000);
      options.onPhase('sale');
      // Read before the clock starts: scanning /proc takes the driver a few milliseconds.
      const machine = readableHere(this.url) ? watchMachine(shopGroups(process.pid)) : undefined;
      const burstStart = performance.now();
      await Promise.all(
        this.#buyers.map(async (buyer) => {
          const t0 = performance.now();
          try {
            const res = await send(
              this.url,
              'POST',
              '/api/orders',
              buyer.token,
              {},
              { 'idempotency-key': randomUUID() },
            );
            const ms = performance.now() - t0;
            this.checkout.record(res.status, ms);
            options.record(res.status, ms);
            if (res.status === 201 || res.status === 409) this.#decided.add(ms);
            if (res.status === 201) this.#placed.add(ms);
          } catch {
            this.checkout.errors += 1;
          }
        }),
      );
      this.#burstSeconds = (performance.now() - burstStart) / 1000;
      this.#machine = machine?.done(this.checkout.status(201) + this.checkout.status(409));
      options.onPhase('after the sale');
    })();
    return Promise.all([botTraffic, burst]);
  }

  /** The sale's rows of the summary table. */
  rows(seconds: number): SummaryRow[] {
    return [
      summarise('bots (product page)', this.bots, seconds),
      summarise('sale: add to cart', this.cart, seconds),
      summarise('sale: checkout', this.checkout, this.#burstSeconds),
    ];
  }

  outcome(): SaleOutcome {
    const placed = this.checkout.status(201);
    const soldOut = this.checkout.status(409);
    return {
      productId: this.#productId,
      stock: this.shape.stock,
      buyers: this.shape.buyers,
      placed,
      soldOut,
      oversold: Math.max(0, placed - this.shape.stock),
      decisionsPerSecond: this.#burstSeconds > 0 ? (placed + soldOut) / this.#burstSeconds : 0,
      answered: {
        ...this.#decided.range(),
        ...(this.#placed.empty ? {} : { placed: this.#placed.range() }),
      },
      ...(this.#machine ? { machine: this.#machine } : {}),
    };
  }
}

/** The earliest and latest of the times added, kept as they come. */
class Span {
  #first = Number.POSITIVE_INFINITY;
  #last = Number.NEGATIVE_INFINITY;

  add(ms: number): void {
    this.#first = Math.min(this.#first, ms);
    this.#last = Math.max(this.#last, ms);
  }

  get empty(): boolean {
    return this.#last < this.#first;
  }

  /** 0 and 0 when none was added. */
  range(): { first: number; last: number } {
    return this.empty ? { first: 0, last: 0 } : { first: this.#first, last: this.#last };
  }
}

async function createSaleProduct(
  url: string,
  admin: Shopper,
  stock: number,
  run: string,
  category: string,
): Promise<string> {
  const res = await send(url, 'POST', '/api/catalog/products', admin.token, {
    sku: `FLASH-${run.toUpperCase()}`,
    name: `Flash sale phone ${run}`,
    description: 'The phone ten thousand buyers race for.',
    category,
    priceCents: 4_999_900,
    stock,
    featured: true,
  });
  if (res.status !== 201)
    throw new Error(`creating the sale's product: ${String(res.status)} ${res.body}`);
  return String((JSON.parse(res.body) as { id: string | number }).id);
}
