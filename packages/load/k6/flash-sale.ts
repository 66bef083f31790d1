/**
 * The flash sale: browsing ramps to PEAK (default 400/s); when it peaks, BUYERS (default 2000)
 * check out the sale's STOCK (default 100) units at the same instant; BOTS hammer the product
 * page throughout. Thresholds: the SLOs, no unit sold twice, bots mostly refused.
 *   k6 run -e BASE_URL=http://localhost:8080 -e AUTH_JWT_SECRET=… packages/load/k6/flash-sale.ts
 */
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate } from 'k6/metrics';
import type { Options } from 'k6/options';
import { bearer } from './auth.ts';
import { pick, readShelf } from './catalog.ts';
import {
  actionRoutes,
  flashSale,
  pickAction,
  searchTerms,
  shopMix,
  slo,
  sloThresholds,
} from './shapes.ts';

const base = __ENV['BASE_URL'] ?? 'http://localhost:8080';
const shape = flashSale({
  peak: Number(__ENV['PEAK'] ?? '400'),
  buyers: Number(__ENV['BUYERS'] ?? '2000'),
  stock: Number(__ENV['STOCK'] ?? '100'),
  bots: Number(__ENV['BOTS'] ?? '4'),
});
const run = __ENV['RUN_ID'] ?? String(Date.now());

const placed = new Counter('sale_orders_placed');
const soldOut = new Counter('sale_orders_sold_out');
const botLimited = new Rate('bot_requests_limited');

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 499 }));

const total = shape.stages.reduce((s, stage) => s + stage.seconds, 0);
export const options: Options = {
  setupTimeout: '5m',
  scenarios: {
    browse: {
      executor: 'ramping-arrival-rate',
      exec: 'browse',
      startRate: 1,
      timeUnit: '1s',
      preAllocatedVUs: Math.max(20, Math.ceil(shape.peak / 5)),
      maxVUs: Math.max(50, shape.peak * 2),
      stages: shape.stages.map((s) => ({ duration: `${String(s.seconds)}s`, target: s.target })),
    },
    bots: {
      executor: 'constant-arrival-rate',
      exec: 'bot',
      rate: shape.bots * 20,
      timeUnit: '1s',
      duration: `${String(total)}s`,
      preAllocatedVUs: shape.bots * 2,
    },
    sale: {
      executor: 'per-vu-iterations',
      exec: 'checkout',
      vus: shape.buyers,
      iterations: 1,
      startTime: `${String(shape.saleAt)}s`,
      maxDuration: '2m',
    },
  },
  thresholds: {
    ...sloThresholds(),
    // Never more orders than units: the oversell check.
    sale_orders_placed: [`count<=${String(shape.stock)}`],
    bot_requests_limited: [`rate>=${String(slo.botsLimitedShare)}`],
  },
};

interface Sale {
  readonly categories: string[];
  readonly productIds: string[];
  readonly saleProductId: string;
}

/** The sale's product (as an admin), and every buyer's cart holding one unit of it. */
export function setup(): Sale {
  const admin = bearer(`k6-admin-${run}`, ['user', 'admin']);
  const shelf = readShelf(base, admin);
  const created = http.post(
    `${base}/api/catalog/products`,
    JSON.stringify({
      sku: `K6-${run}`.toUpperCase().slice(0, 32),
      name: `Flash sale phone ${run}`,
      category: shelf.categories[0],
      priceCents: 4_999_900,
      stock: shape.stock,
      featured: true,
    }),
    { headers: { authorization: admin, 'content-type': 'application/json' } },
  );
  if (created.status !== 201) {
    const body = typeof created.body === 'string' ? created.body : '';
    throw new Error(`creating the sale's product: ${String(created.status)} ${body}`);
  }
  const id = created.json('id');
  if (typeof id !== 'string' && typeof id !== 'number')
    throw new Error('the new product has no id');
  const saleProductId = String(id);
  for (let first = 1; first <= shape.buyers; first += 100) {
    const batch = [];
    for (let vu = first; vu < Math.min(first + 100, shape.buyers + 1); vu += 1) {
      batch.push({
        method: 'POST',
        url: `${base}/api/cart/items`,
        body: JSON.stringify({ productId: saleProductId, quantity: 1 }),
        params: {
          headers: {
            authorization: bearer(`k6-buyer-${run}-${String(vu)}`),
            'content-type': 'application/json',
          },
        },
      });
    }
    http.batch(batch);
  }
  return { ...shelf, saleProductId };
}

export function browse(sale: Sale): void {
  let action = pickAction(shopMix, Math.random() * 100);
  if (action === 'checkout' || action === 'cart') action = 'product';
  const path = actionRoutes[action].path
    .replace('{category}', pick(sale.categories))
    .replace('{term}', encodeURIComponent(pick(searchTerms)))
    .replace('{productId}', pick(sale.productIds));
  const res = http.get(`${base}${path}`, {
    headers: { authorization: bearer(`k6-browser-${String(exec.vu.idInTest)}`) },
    tags: { action },
  });
  check(res, { 'answered without a server error': (r) => r.status < 500 });
}

export function bot(sale: Sale): void {
  const res = http.get(`${base}/api/catalog/products/${sale.saleProductId}`, {
    headers: { authorization: bearer(`k6-bot-${String(exec.vu.idInTest % shape.bots)}`) },
    tags: { action: 'bot' },
  });
  botLimited.add(res.status === 429);
}

/** Each buyer's one checkout, all at T0: placed (201) or sold out (409), never anything else. */
export function checkout(): void {
  const buyer = `k6-buyer-${run}-${String(exec.vu.idInInstance)}`;
  const res = http.post(`${base}/api/orders`, '{}', {
    headers: {
      authorization: bearer(buyer),
      'content-type': 'application/json',
      'idempotency-key': `${buyer}-sale`,
    },
    tags: { action: 'checkout' },
  });
  if (res.status === 201) placed.add(1);
  if (res.status === 409) soldOut.add(1);
  check(res, { 'placed or sold out': (r) => r.status === 201 || r.status === 409 });
}
