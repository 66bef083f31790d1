import { equalShards, services, type CapacityInputs, type CapacityPlan } from './model.js';

/** What one replica was measured to do (from an `npm run bench` JSON). */
export interface MeasuredFigures {
  /** The catalog's cache-hit product page, req/s, one process at saturation. */
  readonly catalog: number;
  /**
   * The same page read from Redis on every request (the near cache off), req/s: a Redis round
   * trip behind the platform, which is what the cart does. The catalog's figure before the
   * bench measured both.
   */
  readonly redisRoundTrip: number;
  /** `POST /api/orders`, orders/s, one order process. */
  readonly order: number;
  /** The same rows in one bare transaction on one shard, per second. */
  readonly shardTransactions: number;
}

/** The figures of `docs/performance.md` (2 cores, Node 24), when no bench result is at hand. */
export const documentedFigures: MeasuredFigures = {
  catalog: 12_689,
  redisRoundTrip: 12_689,
  order: 235,
  shardTransactions: 3_693,
};

interface BenchJson {
  readonly throughput?: readonly { name: string; requestsPerSecond: { median: number } }[];
  readonly orders?: {
    readonly placeOrder?: { requestsPerSecond: { median: number } };
    readonly rawInsert?: { requestsPerSecond: { median: number } };
  };
}

/** Reads the per-replica figures out of an `npm run bench` result. */
export function measuredFigures(json: unknown): MeasuredFigures {
  const bench = json as BenchJson;
  const rate = (name: string) =>
    bench.throughput?.find((t) => t.name === name)?.requestsPerSecond.median;
  const catalog = rate('catalog');
  const order = bench.orders?.placeOrder?.requestsPerSecond.median;
  const shardTransactions = bench.orders?.rawInsert?.requestsPerSecond.median;
  if (catalog === undefined || order === undefined || shardTransactions === undefined) {
    throw new Error('not an npm run bench result: no catalog, order or raw-transaction figure');
  }
  const redisRoundTrip = rate('catalog, no near cache (Redis)') ?? catalog;
  return { catalog, redisRoundTrip, order, shardTransactions };
}

/**
 * The model's inputs: the day and its peak as given, the measured figures, and the assumptions
 * (each printed with the result).
 */
export function defaultInputs(options: {
  readonly requestsPerDay: number;
  readonly peakFactor: number;
  readonly ordersPerDay: number;
  readonly measured?: MeasuredFigures;
}): CapacityInputs {
  const measured = options.measured ?? documentedFigures;
  return {
    requestsPerDay: options.requestsPerDay,
    peakFactor: options.peakFactor,
    // The load driver's shopper mix: home, browse, product, search → catalog; cart; checkout.
    mix: { catalog: 0.85, cart: 0.1, order: 0.05 },
    // The cart is not benchmarked on its own: it is a Redis round trip behind the same
    // platform, so it is taken at the catalog's figure with every read going to Redis.
    perReplica: { catalog: measured.catalog, cart: measured.redisRoundTrip, order: measured.order },
    podCpuScale: 1,
    targetUtilisation: 0.6,
    minReplicas: 3,
    // catalog: one MGET (details + price) + the limiter; cart: limiter, read, write;
    // order: limiter, stock gate, idempotency lock, reservation bookkeeping.
    redisOpsPerRequest: { catalog: 2, cart: 3, order: 6 },
    redisOpsPerNode: 100_000,
    redisBytes: {
      products: 10_000_000,
      bytesPerProduct: 2_048,
      activeCarts: 20_000_000,
      bytesPerCart: 1_024,
      limitedClients: 50_000_000,
      bytesPerLimiterKey: 120,
      // One per order placed, kept as long as Idempotency-Keys (24 h): Redis's MEMORY USAGE
      // says 104 B for one, and its expiry has an entry of its own.
      gateAttempts: options.ordersPerDay,
      bytesPerGateAttempt: 128,
    },
    ordersPerOrderRequest: 0.5,
    shardTransactionsPerSecond: measured.shardTransactions,
    shardUtilisation: 0.5,
    bytesPerOrder: 4_096,
    ordersPerDay: options.ordersPerDay,
    retentionDays: 365,
    maxShardBytes: 500 * 1024 ** 3,
    eventsPerConsumer: 200,
  };
}

const count = (n: number) => Math.ceil(n).toLocaleString('en-US');
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** The plan and its assumptions as the CLI prints them (markdown). */
export function report(inputs: CapacityInputs, result: CapacityPlan, source: string): string {
  const rows = services.map((s) => {
    const p = result.services[s];
    return `| ${s} | ${count(p.peakRequestsPerSecond)} | ${count(inputs.perReplica[s])} | ${String(p.replicas.min)}–${String(p.replicas.max)} |`;
  });
  return [
    `## Capacity for ${count(inputs.requestsPerDay)} requests a day, peak ${String(inputs.peakFactor)}× the average`,
    '',
    `Average ${count(result.averageRequestsPerSecond)} req/s, peak ${count(result.peakRequestsPerSecond)} req/s.`,
    '',
    '| service | peak req/s | measured req/s per replica | replicas (min–max) |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    `- Redis: ${count(result.redis.peakOpsPerSecond)} commands/s at the peak → ${String(result.redis.nodes)} primaries at ${count(inputs.redisOpsPerNode)} commands/s each (a Redis Cluster above one); ${gib(result.redis.memoryBytes)} of cache, carts, limiter keys and the stock gate's attempts.`,
    `- MySQL: ${count(result.shards.peakOrdersPerSecond)} orders/s at the peak → ${String(result.shards.byWrites)} shards by writes (${count(inputs.shardTransactionsPerSecond)} order transactions/s per shard measured, run at ${String(inputs.shardUtilisation * 100)} %), ${String(result.shards.bySize)} by size (${count(inputs.ordersPerDay)} orders a day kept ${String(inputs.retentionDays)} days at ${String(inputs.bytesPerOrder)} bytes, ≤ ${gib(inputs.maxShardBytes)} a shard) → **${String(result.shards.count)} customer shards**, ${count(result.shards.writesPerShardPerSecond)} orders/s and ${gib(result.shards.bytesPerShard)} each.`,
    `- Kafka: ${count(result.kafka.peakEventsPerSecond)} order events/s → **${String(result.kafka.partitions)} partitions** of \`orders\` (${String(inputs.eventsPerConsumer)} events/s per notification consumer).`,
    '',
    'Assumptions:',
    '',
    `- measured per-replica figures: ${source}; a pod's CPU limit equals the measuring process's core (×${String(inputs.podCpuScale)}); the cart is taken at the catalog's figure with its near cache off (a Redis round trip per request; not benchmarked alone)`,
    `- mix: catalog ${String(inputs.mix.catalog * 100)} %, cart ${String(inputs.mix.cart * 100)} %, order ${String(inputs.mix.order * 100)} % (the load driver's shopper mix); ${String(inputs.ordersPerOrderRequest * 100)} % of order-service requests place an order`,
    `- replicas run at ${String(inputs.targetUtilisation * 100)} % at the peak, at least ${String(inputs.minReplicas)} (one per zone)`,
    `- Redis commands per request: catalog ${String(inputs.redisOpsPerRequest.catalog)}, cart ${String(inputs.redisOpsPerRequest.cart)}, order ${String(inputs.redisOpsPerRequest.order)}; ${count(inputs.redisBytes.products)} products × ${String(inputs.redisBytes.bytesPerProduct)} B, ${count(inputs.redisBytes.activeCarts)} carts × ${String(inputs.redisBytes.bytesPerCart)} B, ${count(inputs.redisBytes.limitedClients)} limiter keys × ${String(inputs.redisBytes.bytesPerLimiterKey)} B, ${count(inputs.redisBytes.gateAttempts)} gate attempts × ${String(inputs.redisBytes.bytesPerGateAttempt)} B`,
    `- shard and partition counts are rounded up to a power of two (keyranges split evenly; resharding doubles)`,
    `- ${String(inputs.eventsPerConsumer)} events/s per notification consumer is an assumption (SMTP-bound), not a measurement`,
  ].join('\n');
}

/** The `bbd` environment's numbers, as infra/environments/bbd.json holds them. */
export interface BbdEnvironment {
  readonly generatedBy: string;
  readonly peakRequestsPerSecond: number;
  readonly serviceReplicas: Readonly<
    Record<string, { readonly min: number; readonly max: number }>
  >;
  readonly notificationReplicas: { readonly min: number; readonly max: number };
  readonly customerShards: readonly string[];
  readonly ordersPartitions: number;
  readonly redisMaxMemory: string;
  readonly mysqlStorage: string;
}

export function bbdEnvironment(
  inputs: CapacityInputs,
  result: CapacityPlan,
  command: string,
): BbdEnvironment {
  return {
    generatedBy: command,
    peakRequestsPerSecond: Math.ceil(result.peakRequestsPerSecond),
    serviceReplicas: Object.fromEntries(services.map((s) => [s, result.services[s].replicas])),
    notificationReplicas: { min: inputs.minReplicas, max: result.kafka.partitions },
    customerShards: equalShards(result.shards.count),
    ordersPartitions: result.kafka.partitions,
    // One Redis node per chart: its memory is the cache's share (the model prints the cluster's).
    redisMaxMemory: `${String(Math.ceil(result.redis.memoryBytes / 1024 ** 3 / result.redis.nodes))}gb`,
    // Room for a shard's data twice over (indexes, binlogs, a resharding copy).
    mysqlStorage: `${String(Math.ceil((2 * result.shards.bytesPerShard) / 1024 ** 3))}Gi`,
  };
}
