import { randomBytes } from 'node:crypto';
import { createDevTokenIssuer } from '@mela/platform';
import { flashSale, rampTo, type Stage } from '../k6/shapes.js';
import { FlashSaleTraffic, type SaleOutcome } from './flash-sale.js';
import { discover, ShopTraffic } from './shop.js';
import { judge, percentile, summarise, Tally, type SummaryRow, type Verdict } from './stats.js';
import { cannon, pick, type Shopper } from './traffic.js';

export type { SaleOutcome } from './flash-sale.js';

export type Scenario = 'shop' | 'flash-sale';

export interface LoadOptions {
  /** The shop's public address (the local edge). */
  readonly url: string;
  readonly scenario: Scenario;
  /** Requests per second at the peak of the ramp. */
  readonly peak: number;
  /** Stretch (> 1) or shrink (< 1) the stages. */
  readonly scale?: number;
  /** Shoppers the requests are spread over (each has its own token, its own rate limits). */
  readonly users?: number;
  /** Flash sale: buyers racing at T0, units on sale, bots hammering the product page. */
  readonly buyers?: number;
  readonly stock?: number;
  readonly bots?: number;
  /** How tokens are signed: the local stack's dev-token secret. */
  readonly auth: { readonly secret: string; readonly issuer?: string; readonly audience?: string };
  /** Called every second with what the last second looked like. */
  readonly onSecond?: (sample: LoadSample) => void;
}

/** One second of a run. */
export interface LoadSample {
  /** Wall-clock milliseconds (to line up with scale:watch's record). */
  readonly at: number;
  /** Seconds since the start. */
  readonly t: number;
  /** The arrival rate aimed at. */
  readonly target: number;
  /** Requests answered in that second (all kinds). */
  readonly rps: number;
  readonly p99: number;
  readonly limited: number;
  readonly serverFailures: number;
  readonly phase: string;
}

export interface LoadResult {
  readonly scenario: Scenario;
  readonly seconds: number;
  readonly rows: readonly SummaryRow[];
  readonly verdicts: readonly Verdict[];
  readonly sale?: SaleOutcome;
}

/**
 * Drives one scenario against a running shop: the stages' arrival rate with autocannon (a
 * fresh instance every couple of seconds, its rate stepped along the ramp), every request
 * from one of `users` shoppers picked by the mix's weights (ShopTraffic); for the flash sale
 * also the bots and, when browsing peaks, every buyer's checkout at once (FlashSaleTraffic).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const scale = options.scale ?? 1;
  const issuer = createDevTokenIssuer({
    secret: options.auth.secret,
    issuer: options.auth.issuer ?? 'mela-dev',
    audience: options.auth.audience ?? 'mela',
  });
  const run = randomBytes(3).toString('hex');
  const tokens = async (prefix: string, count: number, roles: ('user' | 'admin')[] = ['user']) =>
    Promise.all(
      Array.from({ length: count }, async (_, i): Promise<Shopper> => {
        const id = `${prefix}-${run}-${String(i)}`;
        return { id, token: await issuer.issue({ userId: id, roles }) };
      }),
    );
  const shoppers = await tokens('shopper', options.users ?? 500);
  const catalog = await discover(options.url, shoppers[0]);
  const shop = new ShopTraffic(shoppers, catalog);

  const shape =
    options.scenario === 'flash-sale'
      ? flashSale({
          peak: options.peak,
          scale,
          ...(options.buyers === undefined ? {} : { buyers: options.buyers }),
          ...(options.stock === undefined ? {} : { stock: options.stock }),
          ...(options.bots === undefined ? {} : { bots: options.bots }),
        })
      : undefined;
  const stages = shape?.stages ?? rampTo(options.peak, scale);
  // The sale's product and its buyers' carts, ready before the clock starts.
  const sale = shape ? new FlashSaleTraffic(options.url, shape) : undefined;
  if (sale && shape) {
    const [admin] = await tokens('admin', 1, ['user', 'admin']);
    if (!admin) throw new Error('no admin token');
    await sale.prepare(admin, await tokens('buyer', shape.buyers), pick(catalog.categories), run);
  }

  const window = new Tally();
  const started = performance.now();
  let phase = 'ramp';
  let target = 0;
  const ticker = setInterval(() => {
    options.onSecond?.({
      at: Date.now(),
      t: Math.round((performance.now() - started) / 1000),
      target,
      rps: window.count,
      p99: percentile(window.latencies, 99),
      limited: window.status(429),
      serverFailures: window.serverFailures,
      phase,
    });
    window.latencies.length = 0;
    window.statuses.clear();
    window.errors = 0;
  }, 1000);

  const background =
    sale && shape
      ? sale.run({
          started,
          seconds: stages.reduce((s, stage) => s + stage.seconds, 0),
          bots: await tokens('bot', shape.bots),
          record: (status, ms) => window.record(status, ms),
          onPhase: (next) => (phase = next),
        })
      : Promise.resolve();
  for (const [i, stage] of stages.entries()) {
    const from = i === 0 ? 0 : (stages[i - 1]?.target ?? 0);
    for (const step of steps(from, stage)) {
      target = step.rate;
      await cannon({
        url: options.url,
        seconds: step.seconds,
        rate: step.rate,
        connections: Math.min(128, Math.max(8, Math.ceil(step.rate / 15))),
        next: () => shop.next(),
        record: (action, status, ms) => {
          shop.tallies.get(action)?.record(status, ms);
          window.record(status, ms);
        },
      });
    }
  }
  target = 0;
  await background;
  clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;

  const outcome = sale?.outcome();
  const rows = [
    ...[...shop.tallies].map(([action, tally]) => summarise(action, tally, seconds)),
    ...(sale ? sale.rows(seconds) : []),
  ];
  const verdicts = judge(shop.tallies, {
    ...(sale && outcome ? { bots: sale.bots, oversold: outcome.oversold } : {}),
    all: [...shop.tallies.values(), ...(sale ? [sale.cart, sale.checkout] : [])],
  });
  return {
    scenario: options.scenario,
    seconds,
    rows,
    verdicts,
    ...(outcome ? { sale: outcome } : {}),
  };
}

/** A stage split into two-second steps whose rates climb (or fall) linearly to its target. */
export function steps(from: number, stage: Stage): { seconds: number; rate: number }[] {
  const count = Math.max(1, Math.round(stage.seconds / 2));
  return Array.from({ length: count }, (_, i) => ({
    seconds: stage.seconds / count,
    rate: Math.max(1, Math.round(from + ((stage.target - from) * (i + 1)) / count)),
  }));
}
