/**
 * The load shapes Mela is tested with, as plain data: the k6 scripts (in the cluster) and the
 * autocannon driver (`npm run load`, locally) both read them, so both run the same sale.
 * No imports: k6 loads this file as it is.
 */

/** One kind of request a shopper makes. */
export type Action = 'home' | 'browse' | 'product' | 'search' | 'cart' | 'checkout';

/**
 * The URL path (and method) of each action, through the edge or the Gateway; `{category}` and
 * `{productId}` come from the catalog (read at the start of a run), `{term}` from searchTerms.
 */
export const actionRoutes: Readonly<Record<Action, { method: 'GET' | 'POST'; path: string }>> = {
  home: { method: 'GET', path: '/api/catalog/home' },
  browse: { method: 'GET', path: '/api/catalog/products?category={category}&limit=20' },
  product: { method: 'GET', path: '/api/catalog/products/{productId}' },
  search: { method: 'GET', path: '/api/catalog/products?q={term}&limit=20' },
  cart: { method: 'POST', path: '/api/cart/items' },
  checkout: { method: 'POST', path: '/api/orders' },
};

/** What an ordinary day's shoppers do, by weight (they add up to 100). */
export const shopMix: Readonly<Record<Action, number>> = {
  home: 10,
  browse: 30,
  product: 25,
  search: 20,
  cart: 10,
  checkout: 5,
};

export const searchTerms = ['phone', 'laptop', 'samsung', 'pro', 'wireless', 'camera', '5g'];

/** A stage of a ramping arrival rate: reach `target` requests per second over `seconds`. */
export interface Stage {
  readonly seconds: number;
  readonly target: number;
}

/** The ramp of a scenario for a peak rate: warm up, climb, hold the peak, cool down. */
export function rampTo(peak: number, scale = 1): Stage[] {
  const s = (seconds: number) => Math.max(1, Math.round(seconds * scale));
  return [
    { seconds: s(10), target: Math.round(peak / 4) },
    { seconds: s(20), target: peak },
    { seconds: s(30), target: peak },
    { seconds: s(10), target: Math.round(peak / 4) },
  ];
}

/** The flash sale: browsing ramps to the peak, and at T0 every buyer checks out at once. */
export interface FlashSaleShape {
  /** Requests per second of browsing at the peak. */
  readonly peak: number;
  /** Buyers racing for the sale's product at T0. */
  readonly buyers: number;
  /** Units of the product on sale. */
  readonly stock: number;
  /** Seconds after the start when the sale opens (the checkout burst). */
  readonly saleAt: number;
  /** Clients hammering the product page without pause: they must meet the rate limiter. */
  readonly bots: number;
  readonly stages: readonly Stage[];
}

export function flashSale(options: {
  readonly peak?: number;
  readonly buyers?: number;
  readonly stock?: number;
  readonly bots?: number;
  /** Stretch (> 1) or shrink (< 1) the stages' durations. */
  readonly scale?: number;
}): FlashSaleShape {
  const stages = rampTo(options.peak ?? 400, options.scale ?? 1);
  const [warm, climb] = stages;
  return {
    peak: options.peak ?? 400,
    buyers: options.buyers ?? 2000,
    stock: options.stock ?? 100,
    // The sale opens as the browsing reaches its peak.
    saleAt: (warm?.seconds ?? 0) + (climb?.seconds ?? 0),
    bots: options.bots ?? 4,
    stages,
  };
}

/**
 * The service-level objectives a run is judged by (k6 thresholds; the driver's summary):
 * latency per action, errors overall, and bots mostly refused.
 */
export const slo = {
  /** Milliseconds, at the 95th and 99th percentile, per action. */
  latency: {
    home: { p95: 100, p99: 250 },
    browse: { p95: 150, p99: 400 },
    product: { p95: 100, p99: 250 },
    search: { p95: 250, p99: 600 },
    cart: { p95: 200, p99: 500 },
    checkout: { p95: 800, p99: 2000 },
  } satisfies Record<Action, { p95: number; p99: number }>,
  /** Share of requests failing for the server's sake (5xx, network errors). */
  errorRate: 0.01,
  /** At least this share of the bots' requests must be answered 429. */
  botsLimitedShare: 0.5,
} as const;

/** The SLOs as k6 thresholds: server failures overall, p95 and p99 per action (tag `action`). */
export function sloThresholds(): Record<string, string[]> {
  return {
    http_req_failed: [`rate<${String(slo.errorRate)}`],
    ...Object.fromEntries(
      (Object.keys(slo.latency) as Action[]).map((action) => [
        `http_req_duration{action:${action}}`,
        [`p(95)<${String(slo.latency[action].p95)}`, `p(99)<${String(slo.latency[action].p99)}`],
      ]),
    ),
  };
}

/** A weighted pick: `roll` in [0, 100). */
export function pickAction(mix: Readonly<Record<Action, number>>, roll: number): Action {
  let sum = 0;
  for (const [action, weight] of Object.entries(mix) as [Action, number][]) {
    sum += weight;
    if (roll < sum) return action;
  }
  return 'home';
}
