import { randomBytes, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { createDevTokenIssuer } from '@mela/platform';
import {
  actionRoutes,
  flashSale,
  pickAction,
  rampTo,
  searchTerms,
  shopMix,
  type Action,
  type Stage,
} from '../k6/shapes.js';
import { judge, percentile, summarise, Tally, type SummaryRow, type Verdict } from './stats.js';

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

export interface SaleOutcome {
  readonly productId: string;
  readonly stock: number;
  readonly buyers: number;
  readonly placed: number;
  readonly soldOut: number;
  readonly oversold: number;
  /** Decisions (placed or sold out) per second during the burst. */
  readonly decisionsPerSecond: number;
}

export interface LoadResult {
  readonly scenario: Scenario;
  readonly seconds: number;
  readonly rows: readonly SummaryRow[];
  readonly verdicts: readonly Verdict[];
  readonly sale?: SaleOutcome;
}

interface Shopper {
  readonly id: string;
  readonly token: string;
}

/**
 * Drives one scenario against a running shop: the stages' arrival rate with autocannon (a
 * fresh instance every couple of seconds, its rate stepped along the ramp), every request
 * from one of `users` shoppers picked by the mix's weights; for the flash sale also the bots
 * and, when browsing peaks, every buyer's checkout at once.
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
  const { categories, productIds } = await discover(options.url, shoppers[0]);

  const actions = new Map<Action, Tally>(
    (Object.keys(shopMix) as Action[]).map((a) => [a, new Tally()]),
  );
  const bots = new Tally();
  const saleCart = new Tally();
  const saleCheckout = new Tally();
  const window = new Tally();
  const started = performance.now();
  let phase = 'ramp';
  let target = 0;
  let burstSeconds = 0;

  const sale =
    options.scenario === 'flash-sale'
      ? flashSale({
          peak: options.peak,
          scale,
          ...(options.buyers === undefined ? {} : { buyers: options.buyers }),
          ...(options.stock === undefined ? {} : { stock: options.stock }),
          ...(options.bots === undefined ? {} : { bots: options.bots }),
        })
      : undefined;
  const stages = sale?.stages ?? rampTo(options.peak, scale);

  // The sale's product and its buyers' carts, ready before the clock starts.
  let saleReady: { productId: string; buyers: Shopper[] } | undefined;
  if (sale) {
    const [admin] = await tokens('admin', 1, ['user', 'admin']);
    const productId = await createSaleProduct(
      options.url,
      admin,
      sale.stock,
      run,
      pick(categories),
    );
    const buyers = await tokens('buyer', sale.buyers);
    await inBatches(buyers, 64, async (buyer) => {
      const t0 = performance.now();
      const res = await send(options.url, 'POST', '/api/cart/items', buyer.token, {
        productId,
        quantity: 1,
      });
      saleCart.record(res.status, performance.now() - t0);
    });
    saleReady = { productId, buyers };
  }

  const ticker = setInterval(() => {
    const t = Math.round((performance.now() - started) / 1000);
    options.onSecond?.({
      at: Date.now(),
      t,
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

  const withCart: Shopper[] = [];
  const shopRequest = (): { action: Action; request: autocannon.Request } => {
    let action = pickAction(shopMix, Math.random() * 100);
    if (action === 'checkout' && withCart.length === 0) action = 'cart';
    const shopper = action === 'checkout' ? (withCart.shift() ?? pick(shoppers)) : pick(shoppers);
    const route = actionRoutes[action];
    const path = route.path
      .replace('{category}', pick(categories))
      .replace('{term}', encodeURIComponent(pick(searchTerms)))
      .replace('{productId}', pick(productIds));
    const headers: Record<string, string> = { authorization: `Bearer ${shopper.token}` };
    let body: string | undefined;
    if (action === 'cart') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ productId: pick(productIds), quantity: 1 });
      withCart.push(shopper);
    } else if (action === 'checkout') {
      headers['content-type'] = 'application/json';
      headers['idempotency-key'] = randomUUID();
      body = '{}';
    }
    return {
      action,
      request: { method: route.method, path, headers, ...(body === undefined ? {} : { body }) },
    };
  };

  const background: Promise<unknown>[] = [];
  if (sale && saleReady) {
    const { productId } = saleReady;
    const botTokens = await tokens('bot', sale.bots);
    let next = 0;
    const total = stages.reduce((s, stage) => s + stage.seconds, 0);
    background.push(
      cannon({
        url: options.url,
        seconds: total,
        rate: sale.bots * 20,
        connections: sale.bots,
        next: () => ({
          action: 'product',
          request: {
            method: 'GET',
            path: `/api/catalog/products/${productId}`,
            headers: {
              authorization: `Bearer ${(botTokens[next++ % botTokens.length] ?? botTokens[0])?.token ?? ''}`,
            },
          },
        }),
        record: (_action, status, ms) => {
          bots.record(status, ms);
          window.record(status, ms);
        },
      }),
    );
    const buyers = saleReady.buyers;
    background.push(
      (async () => {
        await sleepUntil(started + sale.saleAt * 1000);
        phase = 'sale';
        const burstStart = performance.now();
        await Promise.all(
          buyers.map(async (buyer) => {
            const t0 = performance.now();
            try {
              const res = await send(
                options.url,
                'POST',
                '/api/orders',
                buyer.token,
                {},
                {
                  'idempotency-key': randomUUID(),
                },
              );
              saleCheckout.record(res.status, performance.now() - t0);
              window.record(res.status, performance.now() - t0);
            } catch {
              saleCheckout.errors += 1;
            }
          }),
        );
        burstSeconds = (performance.now() - burstStart) / 1000;
        phase = 'after the sale';
      })(),
    );
  }

  for (const [i, stage] of stages.entries()) {
    const from = i === 0 ? 0 : (stages[i - 1]?.target ?? 0);
    for (const step of steps(from, stage)) {
      target = step.rate;
      await cannon({
        url: options.url,
        seconds: step.seconds,
        rate: step.rate,
        connections: Math.min(128, Math.max(8, Math.ceil(step.rate / 15))),
        next: shopRequest,
        record: (action, status, ms) => {
          actions.get(action)?.record(status, ms);
          window.record(status, ms);
        },
      });
    }
  }
  target = 0;
  await Promise.all(background);
  clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;

  const rows = [
    ...[...actions].map(([action, tally]) => summarise(action, tally, seconds)),
    ...(sale ? [summarise('bots (product page)', bots, seconds)] : []),
    ...(sale ? [summarise('sale: add to cart', saleCart, seconds)] : []),
    ...(sale ? [summarise('sale: checkout', saleCheckout, burstSeconds)] : []),
  ];
  const placed = saleCheckout.status(201);
  const outcome: SaleOutcome | undefined =
    sale && saleReady
      ? {
          productId: saleReady.productId,
          stock: sale.stock,
          buyers: sale.buyers,
          placed,
          soldOut: saleCheckout.status(409),
          oversold: Math.max(0, placed - sale.stock),
          decisionsPerSecond:
            burstSeconds > 0 ? (placed + saleCheckout.status(409)) / burstSeconds : 0,
        }
      : undefined;
  const verdicts = judge(actions, {
    ...(sale ? { bots, oversold: outcome?.oversold ?? 0 } : {}),
    all: [...actions.values(), saleCart, saleCheckout],
  });
  return {
    scenario: options.scenario,
    seconds,
    rows,
    verdicts,
    ...(outcome ? { sale: outcome } : {}),
  };
}

/** A random element of a non-empty list. */
function pick<T>(list: readonly T[]): T {
  const item = list[Math.floor(Math.random() * list.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}

/** A stage split into two-second steps whose rates climb (or fall) linearly to its target. */
export function steps(from: number, stage: Stage): { seconds: number; rate: number }[] {
  const count = Math.max(1, Math.round(stage.seconds / 2));
  return Array.from({ length: count }, (_, i) => ({
    seconds: stage.seconds / count,
    rate: Math.max(1, Math.round(from + ((stage.target - from) * (i + 1)) / count)),
  }));
}

/** One autocannon instance at a fixed arrival rate, each request built by `next`. */
async function cannon(options: {
  readonly url: string;
  readonly seconds: number;
  readonly rate: number;
  readonly connections: number;
  readonly next: () => { action: Action; request: autocannon.Request };
  readonly record: (action: Action, status: number, ms: number) => void;
}): Promise<void> {
  let answered: Action = 'home';
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        overallRate: options.rate,
        duration: Math.max(1, Math.round(options.seconds)),
        timeout: 10,
        requests: [
          {
            setupRequest: (_request, context: object) => {
              const { action, request } = options.next();
              (context as { action?: Action }).action = action;
              return request;
            },
            // Called for each answer just before autocannon's 'response' event, with the
            // context its request was built in: that is how a latency is put to its action.
            onResponse: (_status, _body, context: object) => {
              answered = (context as { action?: Action }).action ?? 'home';
            },
          },
        ],
      },
      (error: Error | null) => {
        if (error) reject(error);
        else resolve();
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      options.record(answered, status, ms);
    });
    instance.on('reqError', () => {
      options.record(answered, 0, 0);
    });
  });
}

/**
 * What the shoppers look at and buy: the catalog's categories and the products on each
 * category's first page.
 */
async function discover(
  url: string,
  shopper: Shopper | undefined,
): Promise<{ categories: string[]; productIds: string[] }> {
  const listed = await send(url, 'GET', '/api/catalog/categories', shopper?.token);
  if (listed.status !== 200)
    throw new Error(`the catalog answered ${String(listed.status)}: ${listed.body}`);
  const body = JSON.parse(listed.body) as { items?: { slug: string }[] } | { slug: string }[];
  const categories = (Array.isArray(body) ? body : (body.items ?? [])).map((c) => c.slug);
  const productIds: string[] = [];
  for (const category of categories.slice(0, 8)) {
    const res = await send(
      url,
      'GET',
      `/api/catalog/products?category=${category}&limit=50`,
      shopper?.token,
    );
    if (res.status !== 200)
      throw new Error(`the catalog answered ${String(res.status)}: ${res.body}`);
    const items = (JSON.parse(res.body) as { items: { id: string | number }[] }).items;
    productIds.push(...items.map((p) => String(p.id)));
  }
  if (productIds.length === 0)
    throw new Error('the catalog has no products: run npm start (it seeds them)');
  return { categories, productIds };
}

async function createSaleProduct(
  url: string,
  admin: Shopper | undefined,
  stock: number,
  run: string,
  category: string,
): Promise<string> {
  const res = await send(url, 'POST', '/api/catalog/products', admin?.token, {
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

async function send(
  url: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(new URL(path, url), {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.text() };
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  each: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size)
    await Promise.all(items.slice(i, i + size).map(each));
}

async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
