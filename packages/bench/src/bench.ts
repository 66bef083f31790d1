import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { metricTotal, startJaeger } from '@mela/devstack';
import { startOwnEdge } from '@mela/edge';
import { repoRoot } from '@mela/toolchain';
import { clientIdCookie, kafkaBrokers, localTopology, redisUrl } from '@mela/topology';
import { baselineCheckout } from './baseline.js';
import { redisCommandsServed } from './counters.js';
import { benchKafkaClients, type KafkaClientFigures } from './kafka-clients.js';
import { measureLatency } from './latency.js';
import { benchOrders, type OrderBenchFigures } from './orders.js';
import { startPrintingTarget, startService, targetCpuSeconds, type Target } from './processes.js';
import { assertLimited, firstVisits, returningShoppers, type Clients } from './rate-limit.js';
import { benchScatter } from './shards.js';
import { summarise, type RunFigures, type Summary } from './stats.js';

/** How long and how hard each scenario runs. */
export interface BenchOptions {
  /** Seconds per measured run, and of each warm-up. */
  readonly duration: number;
  readonly warmup: number;
  /** Runs per contender, interleaved. */
  readonly repeats: number;
  readonly connections: number;
  /** Products in the catalog (the cache-miss scenario walks their ids). */
  readonly products: number;
  /** Orders per run, and how many are placed at a time. */
  readonly orders: number;
  readonly orderConnections: number;
  /** The flash sale: buyers checking out at the same instant, units on sale. */
  readonly sale: { readonly buyers: number; readonly stock: number };
  /** A commit whose catalog runs beside this one in the throughput scenario (an A/B). */
  readonly baseline?: string | undefined;
  readonly say: (line: string) => void;
}

/** What `npm run bench` measures: each figure beside its baseline from the same run. */
export interface BenchFigures {
  /**
   * Cache-hit product page: node:http, express, the catalog (near cache on) and the catalog
   * with every read going to Redis, same JSON, one product (the hot key).
   */
  readonly throughput: readonly [
    raw: Summary,
    express: Summary,
    catalog: Summary,
    catalogRedisOnly: Summary,
  ];
  /**
   * The same product page through the edge (real nginx, its micro-cache) in front of the
   * catalog, and the share of the edge's answers that reached the origin.
   */
  readonly edge: { readonly summary: Summary; readonly originShare: number };
  /** The catalog of `--baseline <ref>`, measured in the same rounds (the A side of an A/B). */
  readonly baseline?: { readonly ref: string; readonly summary: Summary };
  /**
   * The same page from a catalog exporting its spans to a Jaeger on this machine: every new
   * trace kept, and one in ten (prod's ratio), in the same rounds as `throughput`'s catalog.
   */
  readonly traced: readonly [every: Summary, tenth: Summary];
  /** Cache hit and miss at low concurrency. */
  readonly latency: readonly [hit: Summary, miss: Summary];
  readonly clients: number;
  readonly latencyConnections: number;
  /** Off first, then on: returning shoppers, first visits, [returning shoppers at the baseline]. */
  readonly rateLimiter: readonly [off: Summary, ...on: Summary[]];
  readonly rateLimiterLatency: readonly [off: Summary, ...on: Summary[]];
  /**
   * The least a limiter that tells clients apart does, in place: bare express and the same with
   * a counter per client in memory, read by the limiter rows' returning shoppers.
   */
  readonly limiterFloor: readonly [bare: Summary, counting: Summary];
  readonly scatter: { readonly singleShard: Summary; readonly scatter: Summary };
  readonly orders: OrderBenchFigures;
  readonly kafkaClients: KafkaClientFigures;
}

const productPath = '/api/catalog/products/42';

async function load(
  url: string,
  seconds: number,
  connections: number,
  redis?: Redis,
  headers: Record<string, string> | Clients = {},
  /** The server's CPU so far, in seconds, where its CPU per request is counted. */
  cpu?: () => Promise<number>,
): Promise<RunFigures> {
  const cpuBefore = await cpu?.();
  const before = redis && (await redisCommandsServed(redis));
  const result = await autocannon({
    url,
    duration: seconds,
    connections,
    ...(typeof headers === 'function'
      ? // Each request another client's.
        { requests: [{ setupRequest: (r) => ({ ...r, headers: { ...r.headers, ...headers() } }) }] }
      : { headers }),
  });
  const after = redis && (await redisCommandsServed(redis));
  const cpuAfter = await cpu?.();
  const served = Math.max(1, result.requests.total);
  return {
    ...(cpuBefore !== undefined && cpuAfter !== undefined
      ? { cpuMicrosPerRequest: ((cpuAfter - cpuBefore) * 1e6) / served }
      : {}),
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    ...(before !== undefined && after !== undefined
      ? // The second INFO is counted too.
        { redisCommandsPerRequest: (after - before - 1) / served }
      : {}),
  };
}

/**
 * A catalog process for the bench: from this checkout or a baseline's (`root`), logging at
 * `warn` (a JSON line per request would be on the hot path; at this scale the edge samples
 * access logs), on a cache prefix of its own so it starts cold.
 */
function startCatalog(name: string, root: string, env: NodeJS.ProcessEnv): Promise<Target> {
  return startService(name, join(root, 'services/catalog/dist/src/main.js'), {
    LOG_LEVEL: 'warn',
    CACHE_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:`,
    // Untraced unless the contender says otherwise: the local environment the bench inherits
    // sends every request's spans to the local Jaeger.
    OTEL_SDK_DISABLED: 'true',
    ...env,
  });
}

/**
 * Scenarios measured side by side: each warmed up (when asked), then the repeats interleaved —
 * one run of each in turn — so drift in the machine touches all alike; one summary each.
 */
async function sideBySide(
  o: BenchOptions,
  contenders: readonly {
    readonly name: string;
    readonly detail: string;
    run(seconds: number): Promise<RunFigures>;
  }[],
  options: { readonly warmup?: number } = {},
): Promise<Summary[]> {
  if (options.warmup !== undefined) {
    for (const contender of contenders) {
      o.say(`warming up ${contender.name}`);
      await contender.run(options.warmup);
    }
  }
  const runs = contenders.map((): RunFigures[] => []);
  for (let i = 0; i < o.repeats; i += 1) {
    for (const [j, contender] of contenders.entries()) {
      o.say(
        `run ${String(i + 1)}/${String(o.repeats)}: ${contender.name}, ${contender.detail}, ${String(o.duration)} s`,
      );
      runs[j]?.push(await contender.run(o.duration));
    }
  }
  return contenders.map((contender, j) => summarise(contender.name, runs[j] ?? []));
}

/** Stops every target in `list` and empties it, so a second call stops nothing twice. */
async function stopAll(list: Target[]): Promise<void> {
  await Promise.all(list.splice(0).map((target) => target.stop()));
}

/**
 * Every scenario of `npm run bench`, against the local stack (deps up, migrated, seeded): each
 * server in its own process, the load from this one. Importable: it returns the figures.
 */
export async function runBench(o: BenchOptions): Promise<BenchFigures> {
  // The catalog's servers, the baselines and the edge: stopped once their rows are measured.
  const targets: Target[] = [];
  const cacheRedis = new Redis(process.env['REDIS_URL'] ?? redisUrl(localTopology()));
  // Tracing's cost: services exporting to a Jaeger of the bench's own (on this machine, so its
  // ingestion shares the cores: an upper bound of what the services pay).
  const jaegerDir = mkdtempSync(join(tmpdir(), 'mela-bench-jaeger-'));
  const jaeger = await startJaeger(jaegerDir);
  const traced = (ratio: number) => ({
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
  });
  try {
    // One load generator is one client: a shopper's budget would stop it at 100 requests.
    const unlimited = { RATE_LIMIT: 'false' };
    const catalog = await startCatalog('catalog', repoRoot, unlimited);
    targets.push(catalog);
    const catalogTraced = await startCatalog('catalog, traced (every request)', repoRoot, {
      ...unlimited,
      ...traced(1),
    });
    targets.push(catalogTraced);
    const catalogTracedTenth = await startCatalog('catalog, traced (1 in 10)', repoRoot, {
      ...unlimited,
      ...traced(0.1),
    });
    targets.push(catalogTracedTenth);
    const catalogRedisOnly = await startCatalog('catalog, no near cache (Redis)', repoRoot, {
      ...unlimited,
      CACHE_NEAR_MAX_ENTRIES: '0',
    });
    targets.push(catalogRedisOnly);
    const baselineRoot = o.baseline === undefined ? undefined : baselineCheckout(o.baseline, o.say);
    const baseline =
      baselineRoot === undefined
        ? undefined
        : await startCatalog(`catalog at ${String(o.baseline)}`, baselineRoot, unlimited);
    if (baseline) targets.push(baseline);
    const startLimited = async (name: string, root: string) => {
      const keyPrefix = `bench:${randomBytes(4).toString('hex')}:rl:`;
      const target = await startCatalog(name, root, {
        // The product rule raised from 100 to 500 a minute, so none of the 10,000 shoppers is
        // refused (each makes a few dozen requests a minute here), while its leases start as
        // the default's do: one point of a shopper's own budget, 16 of its address's ceiling.
        RATE_LIMITS: 'product=500/60',
        RATE_LIMIT_KEY_PREFIX: keyPrefix,
        // Anonymous shoppers get a signed id cookie (as in production): the edge caches for them.
        RATE_LIMIT_CLIENT_SECRET: randomBytes(32).toString('hex'),
        TRUST_PROXY_HOPS: '1',
      });
      targets.push(target);
      await assertLimited(target, productPath, cacheRedis, keyPrefix);
      return target;
    };
    const limitedCatalog = await startLimited('catalog, rate limiter on', repoRoot);
    const limitedBaseline =
      baselineRoot === undefined
        ? undefined
        : await startLimited(`catalog at ${String(o.baseline)}, rate limiter on`, baselineRoot);
    const body = await (await fetch(`${catalog.url}${productPath}`)).text();
    const raw = await startPrintingTarget(
      'node:http',
      join(repoRoot, 'packages/bench/dist/src/targets/raw-http.js'),
      { BENCH_BODY: body },
    );
    targets.push(raw);
    const bare = await startPrintingTarget(
      'express',
      join(repoRoot, 'packages/bench/dist/src/targets/bare-express.js'),
      { BENCH_BODY: body },
    );
    targets.push(bare);
    const bareCounting = await startPrintingTarget(
      'express, a counter per client',
      join(repoRoot, 'packages/bench/dist/src/targets/bare-express.js'),
      { BENCH_BODY: body, BENCH_COUNT_CLIENTS: '1' },
    );
    targets.push(bareCounting);
    // The edge's micro-cache in front of the catalog as it runs in production (limiter on, its
    // rule raised as above), read by a returning shopper (the client id cookie its first visit
    // got): nginx answers from its copy, and the origin is asked about once a second.
    const edge = await startOwnEdge({
      catalog: {
        servers: [new URL(limitedCatalog.url).host],
        loadBalancing: { algorithm: 'round-robin' },
      },
    });
    const firstVisit = await fetch(`${edge.url}${productPath}`);
    await firstVisit.body?.cancel();
    const returning = { cookie: (firstVisit.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
    if (!returning.cookie.startsWith(`${clientIdCookie}=`))
      throw new Error(`the catalog issued no client id through the edge: ${returning.cookie}`);
    const throughEdge: Target = {
      name: 'catalog through the edge (micro-cache)',
      url: edge.url,
      stop: () => edge.stop(),
    };
    targets.push(throughEdge);

    // 1. Throughput of the cache-hit product page against the baselines, interleaved per repeat.
    const hitOn = (target: Target) => `${target.url}${productPath}`;
    const counted = [
      catalog,
      catalogRedisOnly,
      catalogTraced,
      catalogTracedTenth,
      throughEdge,
      ...(baseline ? [baseline] : []),
    ];
    const edgeCounts = { answered: 0, origin: 0 };
    const originRequests = () =>
      metricTotal([limitedCatalog], 'http_request_duration_seconds_count');
    const [
      rawSummary,
      bareSummary,
      catalogSummary,
      redisOnlySummary,
      tracedSummary,
      tracedTenthSummary,
      edgeSummary,
      baselineSummary,
    ] = (await sideBySide(
      o,
      [raw, bare, ...counted].map((target) => ({
        name: target.name,
        detail: `${String(o.connections)} connections`,
        run: async (seconds) => {
          const origin = target === throughEdge ? await originRequests() : 0;
          const figures = await load(
            hitOn(target),
            seconds,
            o.connections,
            counted.includes(target) ? cacheRedis : undefined,
            target === throughEdge ? returning : {},
          );
          if (target === throughEdge) {
            edgeCounts.origin += (await originRequests()) - origin;
            edgeCounts.answered += figures.requestsPerSecond * seconds;
          }
          return figures;
        },
      })),
      { warmup: o.warmup },
    )) as [Summary, Summary, Summary, Summary, Summary, Summary, Summary, Summary | undefined];

    // 5. The rate limiter's cost: the same cache-hit request with the limiter off and on, from
    // 10,000 shoppers (X-Forwarded-For as the edge sets it), interleaved per repeat. Returning
    // shoppers send the id cookie their first visit got; first visits have none, so the limiter
    // issues one to each (a signed id, the response private).
    const clients = 10_000;
    const shoppers = await returningShoppers(hitOn(limitedCatalog), clients);
    const limiterContenders = [
      { target: catalog, name: 'rate limiter off', clients: firstVisits(clients) },
      {
        target: limitedCatalog,
        name: 'rate limiter on, returning shoppers',
        clients: shoppers,
      },
      {
        target: limitedCatalog,
        name: 'rate limiter on, first visits',
        clients: firstVisits(clients),
      },
      ...(limitedBaseline
        ? [
            {
              target: limitedBaseline,
              name: `rate limiter on, returning shoppers, at ${String(o.baseline)}`,
              clients: await returningShoppers(hitOn(limitedBaseline), clients),
            },
          ]
        : []),
    ];
    // The least any limiter that tells these shoppers apart does, measured in the same rounds:
    // bare express with and without a counter per client, read by the same returning shoppers.
    const floorContenders = [
      { target: bare, name: 'express, the same returning shoppers', clients: shoppers },
      {
        target: bareCounting,
        name: 'express, a counter per client in memory',
        clients: shoppers,
      },
    ];
    // Each side's CPU so far: a Mela service's from its own metrics, a bare target's `GET /cpu`.
    const serviceCpu = (target: Target) => () => metricTotal([target], 'process_cpu_seconds_total');
    const measured = await sideBySide(
      o,
      [
        ...limiterContenders.map((c) => ({ ...c, cpu: serviceCpu(c.target) })),
        ...floorContenders.map((c) => ({ ...c, cpu: () => targetCpuSeconds(c.target.url) })),
      ].map(({ target, name, clients: next, cpu }) => ({
        name,
        detail: `${String(o.connections)} connections, ${String(clients)} clients`,
        run: (seconds) => load(hitOn(target), seconds, o.connections, cacheRedis, next, cpu),
      })),
      { warmup: o.warmup },
    );
    const limiter = measured.slice(0, limiterContenders.length);
    const limiterFloor = measured.slice(limiterContenders.length) as [Summary, Summary];

    // 2. Cache miss against cache hit latency, at a concurrency where latency is not queueing.
    let nextId = 1000;
    const coldPath = () => {
      nextId = nextId >= o.products ? 1000 : nextId + 1;
      return `/api/catalog/products/${nextId}`;
    };
    const latencyConnections = 4;
    const latencyOf =
      (target: Target, path: () => string, headers?: () => Record<string, string>) =>
      (seconds: number) =>
        measureLatency(target.url, {
          connections: latencyConnections,
          seconds,
          path,
          ...(headers ? { headers } : {}),
        });
    const [hit, miss] = (await sideBySide(o, [
      {
        name: 'catalog, cache hit',
        detail: `${String(latencyConnections)} connections`,
        run: latencyOf(catalog, () => productPath),
      },
      {
        name: 'catalog, cache miss (MySQL)',
        detail: `${String(latencyConnections)} connections`,
        run: latencyOf(catalog, coldPath),
      },
    ])) as [Summary, Summary];

    // 5, continued: the limiter's latency at a concurrency where latency is not queueing.
    const limiterLatency = await sideBySide(
      o,
      limiterContenders.map(({ target, name, clients: next }) => ({
        name,
        detail: `${String(latencyConnections)} connections`,
        run: latencyOf(target, () => productPath, next),
      })),
    );

    // 7. A scatter query against a single-shard query on the customer keyspace, at a concurrency
    // where latency is not queueing.
    const scatterBench = await benchScatter({ connections: latencyConnections, say: o.say });
    const [singleShard, scatterQuery] = (await sideBySide(
      o,
      [
        {
          name: "one shard: a user's latest orders",
          detail: `${String(latencyConnections)} connections`,
          run: scatterBench.single,
        },
        {
          name: 'every shard: the same query, scattered and merged',
          detail: `${String(latencyConnections)} connections`,
          run: scatterBench.scatter,
        },
      ],
      { warmup: o.warmup },
    ).finally(() => scatterBench.close())) as [Summary, Summary];

    // The orders and the sale get the cores without them: an idle catalog still hears every
    // order's stock change, and the five of them took 15 % of a core while orders were placed
    // (top, in #17's ninth step).
    await stopAll(targets);
    const brokers = process.env['KAFKA_BROKERS']?.split(',') ?? kafkaBrokers(localTopology());
    // 3 and 6. Order placement against a bare insert transaction; committed → email accepted.
    const orderRuns = await benchOrders({
      ...(baselineRoot === undefined || o.baseline === undefined
        ? {}
        : { baseline: { ref: o.baseline, root: baselineRoot } }),
      traced: traced(1),
      repeats: o.repeats,
      orders: o.orders,
      connections: o.orderConnections,
      sale: o.sale,
      redisUrl: process.env['REDIS_URL'] ?? redisUrl(localTopology()),
      brokers,
      say: o.say,
    });
    // 8. The Kafka client: the outbox relay's publish with kafkajs and @platformatic/kafka.
    const kafkaClients = await benchKafkaClients({
      brokers,
      batches: Math.max(20, Math.round(o.orders / 5)),
      repeats: o.repeats,
      say: o.say,
    });
    return {
      throughput: [rawSummary, bareSummary, catalogSummary, redisOnlySummary],
      edge: {
        summary: edgeSummary,
        originShare: edgeCounts.origin / Math.max(1, edgeCounts.answered),
      },
      ...(baselineSummary && o.baseline !== undefined
        ? { baseline: { ref: o.baseline, summary: baselineSummary } }
        : {}),
      traced: [tracedSummary, tracedTenthSummary],
      latency: [hit, miss],
      clients,
      latencyConnections,
      rateLimiter: limiter as [Summary, ...Summary[]],
      rateLimiterLatency: limiterLatency as [Summary, ...Summary[]],
      limiterFloor,
      scatter: { singleShard, scatter: scatterQuery },
      orders: orderRuns,
      kafkaClients,
    };
  } finally {
    await stopAll(targets);
    await jaeger.stop();
    cacheRedis.disconnect();
    rmSync(jaegerDir, { recursive: true, force: true });
  }
}
