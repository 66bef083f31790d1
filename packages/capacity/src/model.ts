/**
 * The capacity model: from a day's requests, its peak, the traffic mix and what one replica was
 * measured to do, how much of everything Big-Billion Day needs. Pure arithmetic: every input is
 * in `CapacityInputs`, every result in `CapacityPlan`, and the assumptions travel with it.
 */

export type ServiceName = 'catalog' | 'cart' | 'order';

export interface CapacityInputs {
  /** Requests reaching the services in a day (after the CDN edge). */
  readonly requestsPerDay: number;
  /** The busiest second against the day's average (a sale's first minutes). */
  readonly peakFactor: number;
  /** Share of requests per service; they add up to 1. */
  readonly mix: Readonly<Record<ServiceName, number>>;
  /** Requests per second one replica served at saturation (measured by npm run bench). */
  readonly perReplica: Readonly<Record<ServiceName, number>>;
  /** CPU of the machine a replica was measured on, against a pod's CPU limit (1 = same). */
  readonly podCpuScale: number;
  /** How busy a replica may run at the peak (headroom for bursts and a lost zone). */
  readonly targetUtilisation: number;
  /** Replicas kept at least, one per zone or more. */
  readonly minReplicas: number;
  /** Redis: commands per request of each service (cache reads, cart, stock gate, limiter). */
  readonly redisOpsPerRequest: Readonly<Record<ServiceName, number>>;
  /** Redis commands one primary serves per second, and the memory each holds. */
  readonly redisOpsPerNode: number;
  readonly redisBytes: {
    readonly products: number;
    readonly bytesPerProduct: number;
    readonly activeCarts: number;
    readonly bytesPerCart: number;
    readonly limitedClients: number;
    readonly bytesPerLimiterKey: number;
    /** The stock gate remembers each attempt that took units while its key is kept (a day). */
    readonly gateAttempts: number;
    readonly bytesPerGateAttempt: number;
  };
  /** Orders written per order-service request (a checkout places one; reads place none). */
  readonly ordersPerOrderRequest: number;
  /** Order transactions one shard commits per second (measured: the raw transaction). */
  readonly shardTransactionsPerSecond: number;
  /** How busy a shard's primary may run at the peak. */
  readonly shardUtilisation: number;
  /** Bytes an order keeps on its shard (order, items, outbox, idempotency record, indexes). */
  readonly bytesPerOrder: number;
  /** Orders a day (all shards), kept for `retentionDays`; a shard holds at most `maxShardBytes`. */
  readonly ordersPerDay: number;
  readonly retentionDays: number;
  readonly maxShardBytes: number;
  /** Order events one notification consumer handles per second. */
  readonly eventsPerConsumer: number;
}

export interface ServicePlan {
  readonly peakRequestsPerSecond: number;
  /** Replicas needed at the peak (the HPA's maximum), and its minimum. */
  readonly replicas: { readonly min: number; readonly max: number };
}

export interface CapacityPlan {
  readonly averageRequestsPerSecond: number;
  readonly peakRequestsPerSecond: number;
  readonly services: Readonly<Record<ServiceName, ServicePlan>>;
  readonly redis: {
    readonly peakOpsPerSecond: number;
    readonly memoryBytes: number;
    /** Primaries needed for the ops (a Redis Cluster above 1). */
    readonly nodes: number;
  };
  readonly shards: {
    readonly peakOrdersPerSecond: number;
    readonly byWrites: number;
    readonly bySize: number;
    /** The larger, rounded up to a power of two (keyranges split evenly). */
    readonly count: number;
    readonly writesPerShardPerSecond: number;
    readonly bytesPerShard: number;
  };
  readonly kafka: {
    readonly peakEventsPerSecond: number;
    /** Partitions of `orders` = the most notification consumers that can share the work. */
    readonly partitions: number;
  };
}

export const services: readonly ServiceName[] = ['catalog', 'cart', 'order'];

/** The next power of two at or above `n` (at least 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function plan(inputs: CapacityInputs): CapacityPlan {
  const mixTotal = services.reduce((sum, s) => sum + inputs.mix[s], 0);
  if (Math.abs(mixTotal - 1) > 1e-9)
    throw new Error(`the mix adds up to ${String(mixTotal)}, not 1`);
  const average = inputs.requestsPerDay / 86_400;
  const peak = average * inputs.peakFactor;
  const servicePlans = Object.fromEntries(
    services.map((service) => {
      const rps = peak * inputs.mix[service];
      const perPod = inputs.perReplica[service] * inputs.podCpuScale * inputs.targetUtilisation;
      const max = Math.max(inputs.minReplicas, Math.ceil(rps / perPod));
      return [service, { peakRequestsPerSecond: rps, replicas: { min: inputs.minReplicas, max } }];
    }),
  ) as Record<ServiceName, ServicePlan>;

  const redisOps = services.reduce(
    (sum, s) => sum + servicePlans[s].peakRequestsPerSecond * inputs.redisOpsPerRequest[s],
    0,
  );
  const b = inputs.redisBytes;
  const redisMemory =
    b.products * b.bytesPerProduct +
    b.activeCarts * b.bytesPerCart +
    b.limitedClients * b.bytesPerLimiterKey +
    b.gateAttempts * b.bytesPerGateAttempt;

  const peakOrders = servicePlans.order.peakRequestsPerSecond * inputs.ordersPerOrderRequest;
  const byWrites = Math.ceil(
    peakOrders / (inputs.shardTransactionsPerSecond * inputs.shardUtilisation),
  );
  const stored = inputs.ordersPerDay * inputs.retentionDays * inputs.bytesPerOrder;
  const bySize = Math.ceil(stored / inputs.maxShardBytes);
  const count = nextPowerOfTwo(Math.max(2, byWrites, bySize));

  const partitions = nextPowerOfTwo(Math.max(6, Math.ceil(peakOrders / inputs.eventsPerConsumer)));
  return {
    averageRequestsPerSecond: average,
    peakRequestsPerSecond: peak,
    services: servicePlans,
    redis: {
      peakOpsPerSecond: redisOps,
      memoryBytes: redisMemory,
      nodes: Math.max(1, Math.ceil(redisOps / (inputs.redisOpsPerNode * inputs.targetUtilisation))),
    },
    shards: {
      peakOrdersPerSecond: peakOrders,
      byWrites,
      bySize,
      count,
      writesPerShardPerSecond: peakOrders / count,
      bytesPerShard: stored / count,
    },
    kafka: { peakEventsPerSecond: peakOrders, partitions },
  };
}

/**
 * Equal keyranges for `count` shards (a power of two), named as Vitess names them:
 * 2 → `-80`, `80-`; 4 → `-40`, `40-80`, `80-c0`, `c0-`.
 */
export function equalShards(count: number): string[] {
  if (count < 2 || nextPowerOfTwo(count) !== count || count > 65_536) {
    throw new Error(`shards must be a power of two from 2 to 65536, not ${String(count)}`);
  }
  const width = count <= 256 ? 2 : 4;
  const space = 16 ** width;
  const bound = (i: number) => ((i * space) / count).toString(16).padStart(width, '0');
  return Array.from({ length: count }, (_, i) => {
    const start = i === 0 ? '' : bound(i);
    const end = i === count - 1 ? '' : bound(i + 1);
    return `${start}-${end}`;
  });
}
