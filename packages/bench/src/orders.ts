import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import {
  createTestShards,
  createTestTopics,
  insertTestProducts,
  metricTotal,
  startCatalogAndCart,
  startService,
  startSmtpServer,
  type ServiceProcess,
  type TestShards,
  type TestTopics,
} from '@mela/devstack';
import { createDevTokenIssuer } from '@mela/platform';
import { cpuPerUnit, freePort, machineCpu, pidsOf, repoRoot, until } from '@mela/toolchain';
import { Redis } from 'ioredis';
import { createConnection, createPool } from 'mysql2/promise';
import { listenOverflows, redisCommandsServed } from './counters.js';
import { benchGroups, groupsOf } from './cpu-groups.js';
import { inParallel } from './parallel.js';
import { startPrintingTarget, targetCpuSeconds, type Target } from './processes.js';
import { figuresOf, percentile, type RunFigures } from './stats.js';

export interface OrderBenchOptions {
  readonly repeats: number;
  /** The flash sale: buyers checking out at the same instant, units on sale. */
  readonly sale: { readonly buyers: number; readonly stock: number };
  /** Orders per repeat (and raw transactions per repeat). */
  readonly orders: number;
  readonly connections: number;
  readonly redisUrl: string;
  readonly brokers: readonly string[];
  /** Another commit's order service, measured in the same rounds (the A side of an A/B). */
  readonly baseline?: { readonly ref: string; readonly root: string };
  /**
   * Tracing's variables: when given, this checkout's order and notification services run a
   * second time with them (on databases of their own), measured in the same rounds.
   */
  readonly traced?: Readonly<Record<string, string>>;
  readonly say: (line: string) => void;
}

/** What one order service (this checkout's, or the baseline's) was measured at. */
export interface OrderServiceFigures {
  /** `POST /api/orders` through the whole service, `connections` at a time. */
  readonly orders: RunFigures[];
  /** The same, one at a time: the latency of an order when nothing queues. */
  readonly solo: RunFigures[];
  /** Order committed (its createdAt) → its email accepted by the SMTP server, per repeat. */
  readonly notification: NotifyFigures[];
  /** The same for the orders placed one at a time. */
  readonly soloNotification: NotifyFigures[];
  /** The flash sale, per repeat: every buyer's checkout at once for a few units. */
  readonly flashSale: SaleFigures[];
  /** CPU the order service spent per order placed (ms), per repeat of the concurrent run. */
  readonly cpuMsPerOrder: number[];
  /**
   * CPU the notification service spent per order placed (ms), from the first order until the
   * last one's email was accepted, per repeat of the concurrent run: on this machine it shares
   * the cores with the order path.
   */
  readonly notificationCpuMsPerOrder: number[];
  /**
   * Statements every MariaDB server was sent per order placed (their `Questions` counters, all
   * services: the order's own, the relay's and the notification's), per repeat.
   */
  readonly sqlPerOrder: number[];
  /** Commands Redis served per order placed (its `total_commands_processed`), per repeat. */
  readonly redisPerOrder: number[];
  /**
   * Round trips to every MariaDB server per order placed (one general-log entry per query
   * packet, however many statements it carries), per repeat, from a counting pass of its own.
   */
  readonly roundTripsPerOrder: number[];
  /**
   * What each order cost the whole machine, per repeat of the concurrent run: ms of CPU per
   * process group (`machineCpu`'s groups; the order and notification services under test by
   * name) and the machine's busy time, from the first order until the last one's email.
   */
  readonly machineMsPerOrder: Record<string, number>[];
}

/** The in-process orders' figures: as a service's, for the concurrent run only. */
export type InProcessFigures = Pick<
  OrderServiceFigures,
  'orders' | 'notification' | 'cpuMsPerOrder' | 'notificationCpuMsPerOrder' | 'machineMsPerOrder'
>;

export interface OrderBenchFigures extends OrderServiceFigures {
  /** The same order's rows written by one bare mysql2 transaction on one shard. */
  readonly rawInsert: RunFigures[];
  /** What each of those transactions cost the machine, as `machineMsPerOrder`. */
  readonly machineMsPerRawInsert: Record<string, number>[];
  /**
   * The same orders placed by calling `OrderService.place` in a process wired as the service
   * is, without its HTTP platform (`targets/order-in-process.ts`), `connections` at a time.
   */
  readonly inProcess: InProcessFigures;
  /**
   * The sale's burst (as many buyers, the same requests) against servers that answer each
   * buyer sold out at once: bare node:http (the most decisions/s this machine makes), then
   * Mela's HTTP platform with nothing behind it (what the platform adds).
   */
  readonly saleBaselines: SaleBaselineFigures[];
  /** The order service at `--baseline`, in the same rounds. */
  readonly baseline?: { readonly ref: string; readonly figures: OrderServiceFigures };
  /** This checkout's order service with tracing on (`traced`), in the same rounds. */
  readonly traced?: OrderServiceFigures;
}

/** Every MariaDB server behind a shard map, as a URI without a database. */
function sqlServers(shardMap: string): string[] {
  const map = JSON.parse(shardMap) as Record<string, Record<string, string>>;
  return [
    ...new Set(
      Object.values(map).flatMap((shards) =>
        Object.values(shards).map((url) => {
          const server = new URL(url);
          server.pathname = '/';
          return server.toString();
        }),
      ),
    ),
  ];
}

/** What the servers themselves counted: statements on every MariaDB server, Redis commands. */
function serverCounters(
  servers: readonly string[],
  redis: Redis,
): () => Promise<{ readonly sql: number; readonly redis: number }> {
  return async () => {
    let sql = 0;
    for (const uri of servers) {
      const connection = await createConnection({ uri });
      try {
        const [rows] = await connection.query("SHOW GLOBAL STATUS LIKE 'Questions'");
        sql += Number((rows as { Value?: string }[])[0]?.Value ?? Number.NaN);
      } finally {
        await connection.end();
      }
    }
    return { sql, redis: await redisCommandsServed(redis) };
  };
}

/**
 * Round trips every MariaDB server received while `work` ran: its general log (to the
 * `mysql.general_log` table, on only for this pass, which it slows) has one entry per query
 * packet, so a multi-statement batch counts once. Returns the entries and what `work` returned.
 */
async function countRoundTrips(
  servers: readonly string[],
  work: () => Promise<number>,
): Promise<{ readonly roundTrips: number; readonly done: number }> {
  const connections = await Promise.all(servers.map((uri) => createConnection({ uri })));
  const onAll = (sql: string) => Promise.all(connections.map((c) => c.query(sql)));
  try {
    await onAll("SET GLOBAL log_output = 'TABLE'");
    await onAll('TRUNCATE mysql.general_log');
    await onAll('SET GLOBAL general_log = ON');
    let done: number;
    try {
      done = await work();
    } finally {
      await onAll('SET GLOBAL general_log = OFF');
    }
    let roundTrips = 0;
    for (const connection of connections) {
      const [rows] = await connection.query(
        "SELECT COUNT(*) AS n FROM mysql.general_log WHERE command_type IN ('Query', 'Execute') AND argument NOT LIKE 'SET GLOBAL general_log%'",
      );
      roundTrips += Number((rows as { n?: number | string }[])[0]?.n ?? Number.NaN);
    }
    await onAll('TRUNCATE mysql.general_log');
    return { roundTrips, done };
  } finally {
    await Promise.all(connections.map((c) => c.end()));
  }
}

export interface SaleFigures {
  /** Decisions (placed or sold out) per second over the burst; latency of each decision. */
  readonly decisions: RunFigures;
  readonly placed: number;
  readonly soldOut: number;
  /** Order lines for the product beyond its stock, counted on every shard: must be 0. */
  readonly oversold: number;
  /** Buyers' connections the kernel dropped during the burst (its ListenOverflows counter). */
  readonly droppedConnections: number;
  /** CPU the order service spent per decision (µs), over the burst. */
  readonly cpuUsPerDecision: number;
}

/** One of the sale's baselines: its bursts' figures and its own CPU per decision (µs). */
export interface SaleBaselineFigures {
  readonly name: string;
  readonly runs: RunFigures[];
  readonly cpuUsPerDecision: number[];
}

export interface NotifyFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly count: number;
}

// Shoppers spread over a shelf of products, as on an ordinary day. (One hot product is the
// flash sale: its orders queue on one row, which the flash-sale test covers.)
const shelf = Array.from({ length: 200 }, (_, i) => ({
  id: i + 1,
  name: `Bench Product ${String(i + 1)}`,
  priceCents: 99_900 + i,
  stock: 100_000_000,
}));
const productFor = (i: number) => shelf[i % shelf.length] ?? shelf[0];

/**
 * Order placement measured on the real local stack, on databases and topics of its own: the
 * catalog, cart, order and notification services each in their own process, an SMTP server in
 * this one. Every order is a different user's (their cart is filled before the timed part), so
 * the figure is the service's own cost: idempotency claim, cart read, pricing, the stock gate,
 * the reservation, the sandbox payment (set to 0 ms) and the commit.
 */
export async function benchOrders(options: OrderBenchOptions): Promise<OrderBenchFigures> {
  const { say } = options;
  const shards = await createTestShards('bench');
  const ownShards: TestShards[] = [];
  // Each order service's events go through topics, a notification service (of its own
  // checkout) and an SMTP server of its own: commit → email is an A/B of the whole pipeline.
  const pipelines: { topics: TestTopics; smtp: Awaited<ReturnType<typeof startSmtpServer>> }[] = [];
  const services: ServiceProcess[] = [];
  const baselineTargets: Target[] = [];
  const redis = new Redis(options.redisUrl);
  try {
    await insertTestProducts(shards, shelf);
    const secret = randomBytes(32).toString('hex');
    const prefix = `bench:${randomBytes(4).toString('hex')}:`;
    const common = {
      AUTH_JWT_SECRET: secret,
      REDIS_URL: options.redisUrl,
      SHARD_MAP: shards.shardMap,
      RATE_LIMIT: 'false',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: options.brokers.join(','),
      // An A/B of mysql2's stack capture: MYSQL_TRACE=true npm run bench.
      ...(process.env['MYSQL_TRACE'] ? { MYSQL_TRACE: process.env['MYSQL_TRACE'] } : {}),
      // BENCH_PROFILE_DIR=… writes a CPU profile of each service (catalog, cart, order,
      // notification; CPU.<date>.<time>.<pid>…) when the bench stops it.
      ...(process.env['BENCH_PROFILE_DIR']
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env['BENCH_PROFILE_DIR']}` }
        : {}),
    };
    say('starting catalog, cart, order and notification on the bench databases');
    const { catalog, cart, carts } = await startCatalogAndCart(common, prefix);
    services.push(catalog, cart);
    // Each order service on databases and stock gate counters of its own (the same products):
    // sharing them, the second would follow the first's outbox relay instead of running its own.
    // An order pipeline of its own: topics, an SMTP server, a notification service, and the
    // environment its order service (or the in-process orders) runs with.
    const startPipeline = async (
      name: string,
      databases: TestShards,
      root?: string,
      extra: Readonly<Record<string, string>> = {},
    ) => {
      const slug = name.replace(/\W+/g, '-');
      const topics = await createTestTopics(options.brokers);
      const emailed = new Map<string, number>();
      const smtp = await startSmtpServer({
        host: '127.0.0.1',
        port: 0,
        // Wall-clock ms, comparable with the order's createdAt (same machine, same clock).
        onMessage: (mail) =>
          emailed.set(mail.header('X-Mela-Order-Id'), performance.timeOrigin + performance.now()),
      });
      pipelines.push({ topics, smtp });
      const from = root === undefined ? {} : { root };
      const notification = await startService(
        'notification',
        await freePort(),
        {
          ...common,
          SHARD_MAP: databases.shardMap,
          ORDERS_TOPIC: topics.topic,
          NOTIFY_GROUP_ID: `bench-${prefix}${slug}`,
          SMTP_URL: `smtp://127.0.0.1:${String(smtp.port)}`,
          ...extra,
        },
        { ...from, ready: 'livez' },
      );
      services.push(notification);
      const orderEnv = {
        ...common,
        SHARD_MAP: databases.shardMap,
        ORDERS_TOPIC: topics.topic,
        // The carts where they are; a baseline from before #17's third step calls the cart.
        ...carts,
        CART_URL: cart.url,
        STOCK_GATE_KEY_PREFIX: `${prefix}${slug}:gate:`,
        PAYMENT_SANDBOX_LATENCY_MS: '0',
        ...extra,
      };
      return { name, databases, notification, emailed, orderEnv, from };
    };
    const startOrder = async (
      name: string,
      databases: TestShards,
      root?: string,
      extra: Readonly<Record<string, string>> = {},
    ) => {
      const { orderEnv, from, ...pipeline } = await startPipeline(name, databases, root, extra);
      const service = await startService('order', await freePort(), orderEnv, from);
      services.push(service);
      return { ...pipeline, service };
    };
    const contenders = [await startOrder('this checkout', shards)];
    const ownDatabases = async () => {
      const own = await createTestShards('bench');
      ownShards.push(own);
      await insertTestProducts(own, shelf);
      return own;
    };
    if (options.baseline) {
      contenders.push(
        await startOrder(`at ${options.baseline.ref}`, await ownDatabases(), options.baseline.root),
      );
    }
    if (options.traced) {
      contenders.push(
        await startOrder('this checkout, traced', await ownDatabases(), undefined, options.traced),
      );
    }

    // The same orders without the HTTP platform: OrderService.place called by a process of its
    // own, wired as the service is (targets/order-in-process.ts), with a pipeline of its own.
    const inProcess = await (async () => {
      const { orderEnv, ...pipeline } = await startPipeline(
        'this checkout, in process',
        await ownDatabases(),
      );
      const target = await startPrintingTarget(
        'orders in process',
        join(repoRoot, 'packages/bench/dist/src/targets/order-in-process.js'),
        { NODE_ENV: 'test', ...orderEnv },
      );
      baselineTargets.push(target);
      return { ...pipeline, target };
    })();

    const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });
    const agent = new Agent({ keepAlive: true, maxSockets: Math.max(options.connections, 32) });
    const shopperIds = (label: string, count: number) =>
      Array.from({ length: count }, (_, i) => `bench-${label}-${String(i)}`);
    const shoppers = async (label: string, count: number, productId?: number) => {
      const users = shopperIds(label, count);
      const tokens = await Promise.all(
        users.map((userId) => issuer.issue({ userId, roles: ['user'] })),
      );
      await inParallel(tokens, 32, async (token, i) => {
        const add = () =>
          post(agent, `${cart.url}/api/cart/items`, token, {
            productId: `${productId ?? productFor(i)?.id ?? 1}`,
            quantity: 1,
          });
        let added = await add();
        // A 503 (the cart could not reach the catalog in time on a busy machine) says retry.
        for (let attempt = 1; added.status === 503 && attempt <= 5; attempt += 1) {
          await delay(200 * attempt);
          added = await add();
        }
        if (added.status !== 201) throw new Error(`filling a cart: ${String(added.status)}`);
      });
      return tokens;
    };
    const placeAll = async (
      order: ServiceProcess,
      tokens: readonly string[],
      connections: number,
    ) => {
      const committedAt = new Map<string, number>();
      const samples: number[] = [];
      let errors = 0;
      const started = performance.now();
      await inParallel(tokens, connections, async (token) => {
        const t0 = performance.now();
        const answer = await post(agent, `${order.url}/api/orders`, token, {}, randomUUID());
        const t1 = performance.now();
        if (answer.status !== 201) {
          errors += 1;
          return;
        }
        samples.push(t1 - t0);
        // createdAt is stamped just before the commit transaction: the 201 itself comes later
        // (after the cart is cleared), often after the email has already gone out.
        const placed = answer.body as { id: string; createdAt: string };
        committedAt.set(placed.id, Date.parse(placed.createdAt));
      });
      const seconds = (performance.now() - started) / 1000;
      return { figures: figuresOf(samples, seconds, errors), committedAt };
    };

    // The in-process orders, one for each of the shoppers `label` names (their carts filled).
    const placeInProcess = async (label: string, count: number) => {
      const response = await fetch(`${inProcess.target.url}/place`, {
        method: 'POST',
        body: JSON.stringify({ users: shopperIds(label, count), connections: options.connections }),
      });
      if (!response.ok) throw new Error(`placing in process: ${String(response.status)}`);
      const { seconds, samples, failures, committed } = (await response.json()) as {
        seconds: number;
        samples: number[];
        failures: string[];
        committed: [string, number][];
      };
      if (failures[0]) say(`in process, ${String(failures.length)} failed, e.g. ${failures[0]}`);
      return {
        figures: figuresOf(samples, seconds, failures.length),
        committedAt: new Map(committed),
      };
    };

    say(`warming up: ${String(Math.ceil(options.orders / 5))} orders`);
    for (const { service } of contenders)
      await placeAll(
        service,
        await shoppers('warm', Math.ceil(options.orders / 5)),
        options.connections,
      );
    await shoppers('warm-in-process', Math.ceil(options.orders / 5));
    await placeInProcess('warm-in-process', Math.ceil(options.orders / 5));
    // Committed → emailed, once every order's email has arrived.
    const notified = async (
      emailed: ReadonlyMap<string, number>,
      committedAt: ReadonlyMap<string, number>,
    ): Promise<NotifyFigures> => {
      await until(
        () => [...committedAt.keys()].every((id) => emailed.has(id)),
        'every order email',
        120_000,
      );
      const latencies = [...committedAt].map(([id, at]) => (emailed.get(id) ?? at) - at);
      latencies.sort((a, b) => a - b);
      return {
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        count: latencies.length,
      };
    };

    const servers = sqlServers(shards.shardMap);
    const counted = serverCounters(servers, redis);
    // The flash sale: every buyer's checkout sent at the same instant, each on a new connection
    // (an agent per burst: a kept-alive socket of the last burst would skip the handshake).
    // Sold-out answers are decisions too.
    const burst = async (url: string, tokens: readonly string[]) => {
      const burstAgent = new Agent({ keepAlive: true, maxSockets: options.sale.buyers });
      const samples: number[] = [];
      let placed = 0;
      let soldOut = 0;
      let errors = 0;
      const overflowsBefore = listenOverflows();
      const started = performance.now();
      await Promise.all(
        tokens.map(async (token) => {
          const t0 = performance.now();
          const answer = await post(burstAgent, `${url}/api/orders`, token, {}, randomUUID());
          samples.push(performance.now() - t0);
          if (answer.status === 201) placed += 1;
          else if ((answer.body as { code?: string } | undefined)?.code === 'sold_out')
            soldOut += 1;
          else errors += 1;
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      burstAgent.destroy();
      samples.sort((a, b) => a - b);
      return {
        decisions: {
          requestsPerSecond: (placed + soldOut) / seconds,
          p50Ms: percentile(samples, 50),
          p99Ms: percentile(samples, 99),
          errors,
        },
        placed,
        soldOut,
        droppedConnections: listenOverflows() - overflowsBefore,
      };
    };
    // The CPU a service has spent so far, in seconds (its own process_cpu_seconds_total).
    const serviceCpu = (service: ServiceProcess) =>
      metricTotal([service], 'process_cpu_seconds_total');
    // A product with a few units, every buyer's cart holding one.
    const flashSale = async (
      order: ServiceProcess,
      databases: TestShards,
      productId: number,
    ): Promise<SaleFigures> => {
      // On sale in the order service's commerce keyspace, and in the catalog's (the cart checks it).
      for (const url of new Set([shards.url('commerce', '0'), databases.url('commerce', '0')])) {
        const commerce = await createConnection({ uri: url });
        await commerce
          .query(
            `INSERT INTO products (id, sku, name, description, category_id, price_cents, stock)
             VALUES (?, ?, 'Flash sale phone', 'On sale', 1, 4999900, ?)`,
            [productId, `FLASH-${String(productId)}`, options.sale.stock],
          )
          .finally(() => commerce.end());
      }
      const tokens = await shoppers(`sale-${String(productId)}`, options.sale.buyers, productId);
      const cpuBefore = await serviceCpu(order);
      const { decisions, placed, soldOut, droppedConnections } = await burst(order.url, tokens);
      const cpu = (await serviceCpu(order)) - cpuBefore;
      let sold = 0;
      for (const shard of ['-80', '80-']) {
        const connection = await createConnection({ uri: databases.url('customer', shard) });
        const [rows] = await connection
          .query('SELECT COALESCE(SUM(quantity), 0) AS n FROM order_items WHERE product_id = ?', [
            productId,
          ])
          .finally(() => connection.end());
        sold += Number((rows as { n: number | string }[])[0]?.n ?? 0);
      }
      return {
        decisions,
        placed,
        soldOut,
        oversold: Math.max(0, sold - options.sale.stock),
        droppedConnections,
        cpuUsPerDecision: (cpu * 1e6) / Math.max(1, placed + soldOut),
      };
    };
    const soloCount = Math.max(10, Math.ceil(options.orders / 10));
    const measured = contenders.map((): OrderServiceFigures => ({
      orders: [],
      solo: [],
      notification: [],
      soloNotification: [],
      flashSale: [],
      cpuMsPerOrder: [],
      notificationCpuMsPerOrder: [],
      sqlPerOrder: [],
      redisPerOrder: [],
      roundTripsPerOrder: [],
      machineMsPerOrder: [],
    }));
    const rawInsert: RunFigures[] = [];
    const machineMsPerRawInsert: Record<string, number>[] = [];
    const inProcessFigures: InProcessFigures = {
      orders: [],
      notification: [],
      cpuMsPerOrder: [],
      notificationCpuMsPerOrder: [],
      machineMsPerOrder: [],
    };
    // The machine's CPU by process: the services under test by name, the rest by command.
    const machine = (order?: number, notification?: number) =>
      machineCpu(
        groupsOf(
          new Map([
            [process.pid, benchGroups.bench],
            ...pidsOf([catalog.child.pid, cart.child.pid], benchGroups.catalogAndCart),
            ...pidsOf([order], benchGroups.order),
            ...pidsOf([notification], benchGroups.notification),
          ]),
        ),
      );
    const soldOutAnswer = JSON.stringify({
      type: 'about:blank',
      title: 'Sold out',
      status: 409,
      detail: 'Product 900000 is sold out.',
      code: 'sold_out',
      productId: '900000',
    });
    const saleBaselines: (SaleBaselineFigures & { readonly url: string })[] = [];
    for (const [name, script, env] of [
      ['bare node:http', 'sold-out.js', { BENCH_BODY: soldOutAnswer }],
      ["Mela's HTTP platform, the token verified", 'platform-sold-out.js', { ...common }],
    ] as const) {
      const target = await startPrintingTarget(
        name,
        join(repoRoot, 'packages/bench/dist/src/targets', script),
        env,
      );
      baselineTargets.push(target);
      saleBaselines.push({ name, url: target.url, runs: [], cpuUsPerDecision: [] });
    }
    const baselineTokens = (repeat: number | string) =>
      Promise.all(
        Array.from({ length: options.sale.buyers }, (_, b) =>
          issuer.issue({ userId: `bench-bare-${String(repeat)}-${String(b)}`, roles: ['user'] }),
        ),
      );
    // Warmed as the order service is by the orders before its sale: a cold server's first
    // burst decides at half the rate of its later ones.
    for (const { url } of saleBaselines) await burst(url, await baselineTokens('warm'));
    // One timed run of concurrent orders: its figures, and the CPU per order of the order side
    // (`cpu`, in seconds so far), of its notification service and of the whole machine, from
    // the first order until the last one's email was accepted. Answers `perOrder`, for what
    // else the caller counted over the run.
    const measureRun = async (
      into: InProcessFigures,
      side: {
        readonly cpu: () => Promise<number>;
        readonly pid: number | undefined;
        readonly notification: ServiceProcess;
        readonly emailed: ReadonlyMap<string, number>;
      },
      place: () => Promise<{ figures: RunFigures; committedAt: ReadonlyMap<string, number> }>,
    ) => {
      const pids = [side.pid, side.notification.child.pid] as const;
      const machineBefore = machine(...pids);
      const cpuBefore = await side.cpu();
      const notificationCpuBefore = await serviceCpu(side.notification);
      const placed = await place();
      const perOrder = (n: number) => n / Math.max(1, placed.committedAt.size);
      into.cpuMsPerOrder.push(perOrder(((await side.cpu()) - cpuBefore) * 1000));
      into.orders.push(placed.figures);
      into.notification.push(await notified(side.emailed, placed.committedAt));
      into.notificationCpuMsPerOrder.push(
        perOrder(((await serviceCpu(side.notification)) - notificationCpuBefore) * 1000),
      );
      into.machineMsPerOrder.push(
        Object.fromEntries(cpuPerUnit(machineBefore, machine(...pids), placed.committedAt.size)),
      );
      return perOrder;
    };
    // The contenders take turns within each repeat, so drift in the machine touches both alike.
    for (let i = 0; i < options.repeats; i += 1) {
      for (const [
        j,
        { name, service: order, notification, databases, emailed },
      ] of contenders.entries()) {
        const figures = measured[j];
        if (!figures) continue;
        const run = `run ${String(i + 1)}/${String(options.repeats)}, ${name}`;
        const tokens = await shoppers(`${String(i)}-${String(j)}`, options.orders);
        say(
          `${run}: ${String(options.orders)} × POST /api/orders, ${String(options.connections)} connections`,
        );
        let counts = { sql: 0, redis: 0 };
        const perOrder = await measureRun(
          figures,
          { cpu: () => serviceCpu(order), pid: order.child.pid, notification, emailed },
          async () => {
            const before = await counted();
            const done = await placeAll(order, tokens, options.connections);
            const after = await counted();
            counts = { sql: after.sql - before.sql, redis: after.redis - before.redis };
            return done;
          },
        );
        figures.sqlPerOrder.push(perOrder(counts.sql));
        figures.redisPerOrder.push(perOrder(counts.redis));
        say(`${run}: counting round trips to MariaDB (general log on)`);
        const countedTokens = await shoppers(`${String(i)}-${String(j)}-rt`, soloCount);
        const pass = await countRoundTrips(servers, async () => {
          const counting = await placeAll(order, countedTokens, options.connections);
          await notified(emailed, counting.committedAt);
          return counting.committedAt.size;
        });
        figures.roundTripsPerOrder.push(pass.roundTrips / Math.max(1, pass.done));
        say(`${run}: ${String(soloCount)} orders one at a time`);
        const solo = await placeAll(
          order,
          await shoppers(`${String(i)}-${String(j)}-solo`, soloCount),
          1,
        );
        figures.solo.push(solo.figures);
        figures.soloNotification.push(await notified(emailed, solo.committedAt));
        say(
          `${run}: flash sale, ${String(options.sale.buyers)} buyers at once for ${String(options.sale.stock)} units`,
        );
        figures.flashSale.push(
          await flashSale(order, databases, 900_000 + i * contenders.length + j),
        );
      }
      {
        const run = `run ${String(i + 1)}/${String(options.repeats)}, ${inProcess.name}`;
        say(
          `${run}: ${String(options.orders)} × OrderService.place, ${String(options.connections)} at a time`,
        );
        await shoppers(`${String(i)}-in-process`, options.orders);
        const { target } = inProcess;
        await measureRun(
          inProcessFigures,
          { cpu: () => targetCpuSeconds(target.url), pid: target.pid, ...inProcess },
          () => placeInProcess(`${String(i)}-in-process`, options.orders),
        );
      }
      say(
        `run ${String(i + 1)}/${String(options.repeats)}: the same rows by one mysql2 transaction each`,
      );
      const rawBefore = machine();
      rawInsert.push(await rawInserts(shards.url('customer', '-80'), options, i));
      machineMsPerRawInsert.push(
        Object.fromEntries(cpuPerUnit(rawBefore, machine(), options.orders)),
      );
      for (const baseline of saleBaselines) {
        say(
          `run ${String(i + 1)}/${String(options.repeats)}: the sale's burst against ${baseline.name}`,
        );
        const before = await targetCpuSeconds(baseline.url);
        const { decisions, soldOut } = await burst(baseline.url, await baselineTokens(i));
        baseline.cpuUsPerDecision.push(
          (((await targetCpuSeconds(baseline.url)) - before) * 1e6) / Math.max(1, soldOut),
        );
        baseline.runs.push(decisions);
      }
    }
    agent.destroy();
    const [mine, ...others] = measured;
    if (!mine) throw new Error('the order service was not measured');
    const theirs = options.baseline ? others.shift() : undefined;
    const traced = options.traced ? others.shift() : undefined;
    return {
      ...mine,
      rawInsert,
      machineMsPerRawInsert,
      inProcess: inProcessFigures,
      saleBaselines: saleBaselines.map(({ name, runs, cpuUsPerDecision }) => ({
        name,
        runs,
        cpuUsPerDecision,
      })),
      ...(theirs && options.baseline
        ? { baseline: { ref: options.baseline.ref, figures: theirs } }
        : {}),
      ...(traced ? { traced } : {}),
    };
  } finally {
    await Promise.all([...services, ...baselineTargets].map((s) => s.stop()));
    for (const { smtp, topics } of pipelines) {
      await smtp.close();
      await topics.drop();
    }
    await shards.drop();
    for (const own of ownShards) await own.drop();
    redis.disconnect();
  }
}

/** What `POST /api/orders` commits, as one bare transaction per order on one shard. */
async function rawInserts(
  url: string,
  options: OrderBenchOptions,
  repeat: number,
): Promise<RunFigures> {
  const pool = createPool({ uri: url, connectionLimit: options.connections });
  const samples: number[] = [];
  let errors = 0;
  const base = 1_000_000_000 * (repeat + 1);
  const ids = Array.from({ length: options.orders }, (_, i) => base + i);
  const started = performance.now();
  await inParallel(ids, options.connections, async (id) => {
    const t0 = performance.now();
    const connection = await pool.getConnection();
    try {
      const user = `raw-${String(id)}`;
      await connection.beginTransaction();
      await connection.query(
        `INSERT INTO idempotency_keys (user_id, idem_key, request_hash, order_id, state, created_at)
         VALUES (?, ?, REPEAT('0', 64), ?, 'started', UTC_TIMESTAMP(3))`,
        [user, randomUUID(), id],
      );
      await connection.query(
        `INSERT INTO orders (id, user_id, status, total_cents, currency, payment_id, payment_method,
                             shipping_address, contact, created_at)
         VALUES (?, ?, 'confirmed', ?, 'INR', 'raw', 'upi', '{}', '{}', UTC_TIMESTAMP(3))`,
        [id, user, productFor(id)?.priceCents],
      );
      await connection.query(
        `INSERT INTO order_items (order_id, product_id, user_id, name, quantity, unit_price_cents)
         VALUES (?, ?, ?, ?, 1, ?)`,
        [id, productFor(id)?.id, user, productFor(id)?.name, productFor(id)?.priceCents],
      );
      // Born published: the order service's relay, running on this shard, leaves it alone.
      await connection.query(
        `INSERT INTO outbox (event_id, user_id, topic, event_key, event_type, payload, created_at,
                             published_at)
         VALUES (?, ?, 'raw', ?, 'order.placed', '{}', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
        [randomUUID(), user, user],
      );
      await connection.commit();
      samples.push(performance.now() - t0);
    } catch {
      errors += 1;
      await connection.rollback().catch(() => undefined);
    } finally {
      connection.release();
    }
  });
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  return figuresOf(samples, seconds, errors);
}

/** A JSON POST with a bearer token over a keep-alive agent. */
function post(
  agent: Agent,
  url: string,
  token: string,
  body: unknown,
  idempotencyKey?: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: text ? (JSON.parse(text) as unknown) : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
