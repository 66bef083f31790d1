import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { DrillAction, Fault } from '@mela/devstack';
import { createDevTokenIssuer } from '@mela/platform';
import type { Verdict } from './stats.js';

export interface DrillOptions {
  /** The shop's public address (the edge). */
  readonly url: string;
  /** How shoppers' tokens are signed: the shop's dev-token secret. */
  readonly auth: { readonly secret: string; readonly issuer?: string; readonly audience?: string };
  /** What to take away, one after the other. */
  readonly faults: readonly Fault[];
  /** How long each stays away. @default 10 */
  readonly holdSeconds?: number;
  /** Normal shopping before the first and between drills. @default 3 */
  readonly calmSeconds?: number;
  /** Shoppers shopping at once, each order by a new user. @default 8 */
  readonly shoppers?: number;
  /** Longest wait for a part to serve again, and for late effects. @default 120 */
  readonly settleSeconds?: number;
  /**
   * The notifications each order id has had so far (emails in the mailbox): to count lost and
   * duplicated effects. Without it, effects are not checked.
   */
  readonly effects?: () => OrderEmails | Promise<OrderEmails>;
  readonly log?: (line: string) => void;
}

/** What shoppers saw while one part was away (and until it served again). */
export interface DrillRow {
  readonly fault: string;
  readonly heldSeconds: number;
  /** From bringing it back until new buyers are served at the first try (and late effects arrived). */
  readonly recoverySeconds: number | undefined;
  readonly requests: number;
  /** Status (and problem code) → count (`error`: no answer). */
  readonly statuses: Readonly<Record<string, number>>;
  /** 503s on what the part's documented failure mode allows. */
  readonly expected503: number;
  /** Anything else 5xx, or no answer. */
  readonly unexpected: number;
  /** Orders acknowledged (201) meanwhile. */
  readonly acknowledged: number;
}

export interface DrillReport {
  readonly rows: readonly DrillRow[];
  /** Normal shopping between drills. */
  readonly calm: DrillRow;
  readonly acknowledged: number;
  /** Acknowledged orders their buyer cannot read back. */
  readonly lost: number;
  /** Users with more than one order for one checkout, or replays that made another order. */
  readonly duplicateOrders: number;
  /** Units acknowledged beyond what left the stock, or stock below zero. */
  readonly oversold: number;
  /** Units taken from stock that no acknowledged order holds (reservations still to expire). */
  readonly unitsHeld: number;
  readonly emails?: EmailCount;
  readonly verdicts: readonly Verdict[];
}

/** The Message-ID of every email each order id has had so far, one entry per copy received. */
export type OrderEmails = ReadonlyMap<string, readonly string[]>;

export interface EmailCount {
  /** Acknowledged orders with an email. */
  readonly delivered: number;
  /** Orders with more than one distinct email: a second effect. */
  readonly duplicated: number;
  /**
   * Extra copies of an email already received, with its Message-ID: the send was cut off after
   * the relay took the message and before the notifier recorded it (a shard or the relay
   * killed right then), so it was sent again as the same message, which a mail system drops.
   */
  readonly resent: number;
  readonly missing: number;
}

interface Window {
  readonly fault: Fault | undefined;
  readonly statuses: Map<string, number>;
  requests: number;
  expected503: number;
  unexpected: number;
  acknowledged: number;
  readonly ordersIds: string[];
}

interface Acknowledged {
  readonly userId: string;
  readonly token: string;
  readonly key: string;
  readonly orderId: string;
}

const stockOfDrillProduct = 100_000;

/**
 * Takes each fault away under steady shopping (browse, add to the cart, check out with an
 * Idempotency-Key, retrying 503s with the same key as a client should), brings it back, and
 * then checks what users were promised: every acknowledged order is there, none twice, no unit
 * sold that left no stock, every order's email sent once.
 */
export async function runDrills(options: DrillOptions): Promise<DrillReport> {
  const log = options.log ?? (() => undefined);
  const holdMs = (options.holdSeconds ?? 10) * 1000;
  const calmMs = (options.calmSeconds ?? 3) * 1000;
  const settleMs = (options.settleSeconds ?? 120) * 1000;
  const issuer = createDevTokenIssuer({
    secret: options.auth.secret,
    issuer: options.auth.issuer ?? 'mela-dev',
    audience: options.auth.audience ?? 'mela',
  });
  const run = randomBytes(3).toString('hex');
  const admin = await issuer.issue({ userId: `drill-admin-${run}`, roles: ['user', 'admin'] });
  const productId = await createProduct(options.url, admin, run);

  const newWindow = (fault?: Fault): Window => ({
    fault,
    statuses: new Map(),
    requests: 0,
    expected503: 0,
    unexpected: 0,
    acknowledged: 0,
    ordersIds: [],
  });
  const calm = newWindow();
  let current = calm;
  const record = (action: DrillAction, status: number | 'error', code?: string) => {
    const w = current;
    w.requests += 1;
    const label = code === undefined ? String(status) : `${String(status)} ${code}`;
    w.statuses.set(label, (w.statuses.get(label) ?? 0) + 1);
    if (status === 503 && w.fault?.disrupts.includes(action)) w.expected503 += 1;
    else if (status === 'error' || status >= 500) w.unexpected += 1;
  };

  const acknowledged: Acknowledged[] = [];
  let stopping = false;
  const call = async (
    action: DrillAction,
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string; retryAfter: number }> => {
    try {
      const res = await fetch(new URL(path, options.url), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      record(action, res.status, res.status >= 400 ? problemCode(text) : undefined);
      return { status: res.status, body: text, retryAfter: Number(res.headers.get('retry-after')) };
    } catch {
      record(action, 'error');
      return { status: 0, body: '', retryAfter: 1 };
    }
  };
  /**
   * Retries what may succeed later as a well-behaved client does: a 503 or no answer with
   * exponential backoff (from 0.25 s, at most 4 s, at least its Retry-After up to that), a 429
   * after its Retry-After — until done or the drills end.
   */
  const persist = async (
    attempt: () => Promise<{ status: number; body: string; retryAfter: number }>,
  ) => {
    for (let backoff = 0.25; ; backoff = Math.min(backoff * 2, 4)) {
      const answer = await attempt();
      if (stopping) return answer;
      if (answer.status === 429) {
        await delay(Math.min(Math.max(answer.retryAfter, 1), 30) * 1000);
      } else if (answer.status === 0 || answer.status === 503) {
        await delay(Math.min(Math.max(answer.retryAfter || 0, backoff), 4) * 1000);
      } else {
        return answer;
      }
    }
  };

  /**
   * One new buyer's visit: the product page, one unit into the cart, checkout. `patient`
   * buyers retry (see `persist`); impatient ones (the recovery probes) try each step once.
   * Resolves whether every step succeeded.
   */
  const visit = async (userId: string, patient: boolean): Promise<boolean> => {
    const token = await issuer.issue({ userId, roles: ['user'] });
    const once = (attempt: () => Promise<{ status: number; body: string; retryAfter: number }>) =>
      patient ? persist(attempt) : attempt();
    const page = await call('browse', 'GET', `/api/catalog/products/${productId}`, token);
    const added = await once(() =>
      call('cart', 'POST', '/api/cart/items', token, { productId, quantity: 1 }),
    );
    if (added.status !== 201 && added.status !== 200) return false;
    const key = randomUUID();
    const placed = await once(() =>
      call('order', 'POST', '/api/orders', token, {}, { 'idempotency-key': key }),
    );
    if (placed.status !== 201) return false;
    const orderId = (JSON.parse(placed.body) as { id: string }).id;
    acknowledged.push({ userId, token, key, orderId });
    current.acknowledged += 1;
    current.ordersIds.push(orderId);
    return page.status === 200;
  };
  const shopper = async (n: number) => {
    for (let i = 0; !stopping; i += 1) {
      await visit(`drill-${run}-${String(n)}-${String(i)}`, true);
      await delay(250);
    }
  };
  let probes = 0;
  /** A round of new buyers, all served at the first try (users land on every shard). */
  const servedAgain = async () => {
    const round = Array.from({ length: 8 }, () => `drill-${run}-probe-${String((probes += 1))}`);
    const served = await Promise.all(round.map((userId) => visit(userId, false)));
    if (!served.every(Boolean)) log(`probe round: ${served.filter(Boolean).length}/8 served`);
    return served.every(Boolean);
  };
  const shoppers = Array.from({ length: options.shoppers ?? 8 }, (_, n) => shopper(n));

  const rows: DrillRow[] = [];
  const row = (w: Window, heldSeconds: number, recoverySeconds: number | undefined): DrillRow => ({
    fault: w.fault?.name ?? 'no fault (between drills)',
    heldSeconds,
    recoverySeconds,
    requests: w.requests,
    statuses: Object.fromEntries([...w.statuses].sort(([a], [b]) => a.localeCompare(b))),
    expected503: w.expected503,
    unexpected: w.unexpected,
    acknowledged: w.acknowledged,
  });
  try {
    await delay(calmMs);
    for (const fault of options.faults) {
      const window = newWindow(fault);
      current = window;
      log(`${fault.name}: taking it away for ${String(holdMs / 1000)} s`);
      await fault.inject();
      await delay(holdMs);
      log(`${fault.name}: bringing it back`);
      const restoring = performance.now();
      await fault.restore();
      const recovered = await recovery(restoring, servedAgain, settleMs, window, options);
      log(
        `${fault.name}: ${recovered === undefined ? 'NOT recovered' : `recovered in ${recovered.toFixed(1)} s`}`,
      );
      // Answers to requests sent before it was back still belong to it.
      await delay(1000);
      rows.push(row(window, holdMs / 1000, recovered));
      current = calm;
      await delay(calmMs);
    }
  } finally {
    stopping = true;
    await Promise.all(shoppers);
  }

  log(`checking ${String(acknowledged.length)} acknowledged orders`);
  const { lost, duplicateOrders } = await checkOrders(options.url, acknowledged);
  const stock = await checkStock(options.url, admin, productId, acknowledged.length, settleMs);
  const emails = options.effects
    ? await checkEmails(options.effects, acknowledged, settleMs)
    : undefined;
  const unexpected = [...rows, row(calm, 0, 0)].reduce((sum, r) => sum + r.unexpected, 0);
  const verdicts: Verdict[] = [
    { objective: 'acknowledged orders lost = 0', measured: String(lost), met: lost === 0 },
    {
      objective: 'duplicate orders = 0',
      measured: String(duplicateOrders),
      met: duplicateOrders === 0,
    },
    {
      objective: 'units oversold = 0',
      measured: String(stock.oversold),
      met: stock.oversold === 0,
    },
    ...(emails
      ? [
          {
            objective: 'emails: each acknowledged order exactly once',
            measured: `${String(emails.delivered)} delivered, ${String(emails.duplicated)} duplicated, ${String(emails.missing)} missing (${String(emails.resent)} resent with the same Message-ID)`,
            met: emails.duplicated === 0 && emails.missing === 0,
          },
        ]
      : []),
    {
      objective: "5xx outside the failing part's documented 503s = 0",
      measured: String(unexpected),
      met: unexpected === 0,
    },
    {
      objective: 'every part served again',
      measured:
        rows
          .filter((r) => r.recoverySeconds === undefined)
          .map((r) => r.fault)
          .join(', ') || 'all',
      met: rows.every((r) => r.recoverySeconds !== undefined),
    },
  ];
  return {
    rows,
    calm: row(calm, 0, 0),
    acknowledged: acknowledged.length,
    lost,
    duplicateOrders,
    oversold: stock.oversold,
    unitsHeld: stock.held,
    ...(emails ? { emails } : {}),
    verdicts,
  };
}

/**
 * Seconds from bringing a part back until a round of new buyers is served at the first try —
 * and, when effects are counted, the orders acknowledged while it was away have their emails.
 */
async function recovery(
  restoring: number,
  servedAgain: () => Promise<boolean>,
  settleMs: number,
  window: Window,
  options: DrillOptions,
): Promise<number | undefined> {
  const deadline = restoring + settleMs;
  let served = false;
  for (;;) {
    served ||= await servedAgain();
    let effects = true;
    if (served && options.effects && window.ordersIds.length > 0) {
      const seen = await options.effects();
      effects = window.ordersIds.every((id) => (seen.get(id)?.length ?? 0) > 0);
    }
    if (served && effects) return (performance.now() - restoring) / 1000;
    if (performance.now() > deadline) return undefined;
    await delay(200);
  }
}

/** The problem+json `code` of an error answer, if it has one. */
function problemCode(body: string): string | undefined {
  try {
    const { code, rule } = JSON.parse(body) as { code?: unknown; rule?: unknown };
    if (typeof code !== 'string') return undefined;
    return typeof rule === 'string' ? `${code} (${rule})` : code;
  } catch {
    return undefined;
  }
}

async function createProduct(url: string, admin: string, run: string): Promise<string> {
  const categories = (await (await fetch(new URL('/api/catalog/categories', url))).json()) as {
    items: { slug: string }[];
  };
  const res = await fetch(new URL('/api/catalog/products', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      sku: `DRILL-${run.toUpperCase()}`,
      name: `Drill product ${run}`,
      description: 'What the fault drills buy.',
      category: categories.items[0]?.slug,
      priceCents: 129_900,
      stock: stockOfDrillProduct,
    }),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`creating the drill's product: ${res.status} ${body}`);
  return String((JSON.parse(body) as { id: string | number }).id);
}

/** Every acknowledged order reads back for its buyer, is its buyer's only one, and replays. */
async function checkOrders(
  url: string,
  acknowledged: readonly Acknowledged[],
): Promise<{ lost: number; duplicateOrders: number }> {
  let lost = 0;
  let duplicateOrders = 0;
  const queue = [...acknowledged];
  const check = async (order: Acknowledged) => {
    const auth = { authorization: `Bearer ${order.token}` };
    const read = await fetch(new URL(`/api/orders/${order.orderId}`, url), { headers: auth });
    if (read.status !== 200) lost += 1;
    const list = await fetch(new URL('/api/orders', url), { headers: auth });
    const orders = ((await list.json()) as { orders?: unknown[] }).orders ?? [];
    const replay = await fetch(new URL('/api/orders', url), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': order.key },
      body: '{}',
    });
    const replayed = (await replay.json()) as { id?: string };
    if (orders.length > 1 || (replay.status === 201 && replayed.id !== order.orderId))
      duplicateOrders += 1;
  };
  // Sixteen buyers checking at once.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let order = queue.pop(); order !== undefined; order = queue.pop()) await check(order);
    }),
  );
  return { lost, duplicateOrders };
}

/** What left the drill product's stock against what was acknowledged (one unit each). */
async function checkStock(
  url: string,
  admin: string,
  productId: string,
  units: number,
  settleMs: number,
): Promise<{ oversold: number; held: number }> {
  const deadline = performance.now() + settleMs;
  for (;;) {
    const res = await fetch(new URL(`/api/catalog/products/${productId}`, url), {
      headers: { authorization: `Bearer ${admin}`, 'cache-control': 'no-cache' },
    });
    const { stock } = (await res.json()) as { stock: number };
    const taken = stockOfDrillProduct - stock;
    const oversold = Math.max(0, units - taken) + Math.max(0, -stock);
    // Reservations of checkouts that failed return when they expire; the cache may lag a write.
    if ((oversold === 0 && taken === units) || performance.now() > deadline) {
      return { oversold, held: Math.max(0, taken - units) };
    }
    await delay(500);
  }
}

async function checkEmails(
  effects: NonNullable<DrillOptions['effects']>,
  acknowledged: readonly Acknowledged[],
  settleMs: number,
): Promise<EmailCount> {
  const deadline = performance.now() + settleMs;
  for (;;) {
    const seen = await effects();
    const copies = acknowledged.map((o) => seen.get(o.orderId) ?? []);
    const missing = copies.filter((c) => c.length === 0).length;
    if (missing === 0 || performance.now() > deadline) {
      const distinct = copies.map((c) => new Set(c).size);
      return {
        delivered: distinct.filter((d) => d > 0).length,
        duplicated: distinct.filter((d) => d > 1).length,
        resent: copies.reduce((sum, c, i) => sum + c.length - (distinct[i] ?? 0), 0),
        missing,
      };
    }
    await delay(500);
  }
}
