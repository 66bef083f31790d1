import {
  checkKafkaEnv,
  kafkaConfigFrom,
  kafkaEnv,
  kafkaTopicName,
  ordersTopic,
  type KafkaClientConfig,
} from '@mela/messaging';
import {
  checkPlatformEnv,
  envBool,
  envInt,
  loadConfig,
  platformConfigFrom,
  platformEnv,
  type PlatformConfig,
} from '@mela/platform';
import { cartsConfigFrom, cartsEnv } from '@mela/carts';
import { shardingConfigFrom, shardingEnv, type ShardingConfig } from '@mela/sharding';
import { stockChangesEnv } from '@mela/stock';
import { z } from 'zod';
import type { OrderPolicy } from './domain/order.service.js';

const orderEnv = {
  ...platformEnv,
  ...kafkaEnv,
  ...shardingEnv,
  ...stockChangesEnv,
  PORT: platformEnv.PORT.default(3003),
  /** The topic `order.placed` events go to. */
  ORDERS_TOPIC: kafkaTopicName.default(ordersTopic),
  /** Redis: the stock gate's counters and the rate limiter. */
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** The carts' Redis and key prefix, as the cart service has them: checkout reads carts there. */
  ...cartsEnv,
  /** Units of one product per order; keep it equal to the cart's CART_MAX_QUANTITY. */
  ORDER_MAX_QUANTITY: envInt({ min: 1, max: 1000 }).default(10),
  /** A reservation not consumed within this long returns its units to stock. */
  RESERVATION_TTL_SECONDS: envInt({ min: 5, max: 86_400 }).default(120),
  /** How often each replica looks for expired reservations. */
  RESERVATION_SWEEP_INTERVAL_MS: envInt({ min: 100, max: 600_000 }).default(5000),
  /** How long a retry with a key in use waits for the first request's answer. */
  IDEMPOTENCY_WAIT_MS: envInt({ min: 0, max: 60_000 }).default(10_000),
  /** Completed idempotency keys are forgotten after this long. */
  IDEMPOTENCY_RETENTION_HOURS: envInt({ min: 1, max: 24 * 30 }).default(24),
  /** The gate's counters are read again from MySQL this often (restocks show up then). */
  STOCK_GATE_TTL_SECONDS: envInt({ min: 1, max: 3600 }).default(10),
  STOCK_GATE_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('order:stock-gate:'),
  /** The sandbox payment provider: latency of each charge and the share declined (0–1). */
  PAYMENT_SANDBOX_LATENCY_MS: envInt({ min: 0, max: 60_000 }).default(20),
  PAYMENT_SANDBOX_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Run the outbox relay in this process (every replica may; one relays each shard). */
  OUTBOX_RELAY: envBool().default(true),
  OUTBOX_POLL_MS: envInt({ min: 10, max: 60_000 }).default(250),
  OUTBOX_BATCH_SIZE: envInt({ min: 1, max: 5000 }).default(200),
  OUTBOX_RETENTION_HOURS: envInt({ min: 1, max: 24 * 30 }).default(24),
};

/** Every variable the order reads: the manifests' environment is checked against it. */
export const orderVariables: readonly string[] = Object.keys(orderEnv);

export interface OrderConfig {
  readonly platform: PlatformConfig;
  readonly sharding: ShardingConfig;
  readonly kafka: KafkaClientConfig;
  readonly ordersTopic: string;
  readonly redisUrl: string;
  /** Where the buyers' carts are (the cart service's Redis and key prefix). */
  readonly carts: { readonly redisUrl: string; readonly keyPrefix: string };
  readonly policy: OrderPolicy;
  readonly sweepIntervalMs: number;
  readonly idempotencyRetentionMs: number;
  readonly gate: { readonly ttlSeconds: number; readonly keyPrefix: string };
  /** Where stock changes are announced (the catalog drops its cached counts). */
  readonly stockChangesChannel: string;
  readonly payment: { readonly latencyMs: number; readonly failureRate: number };
  readonly outbox: {
    readonly enabled: boolean;
    readonly pollMs: number;
    readonly batchSize: number;
    readonly retentionMs: number;
  };
}

const orderConfig = z.object(orderEnv).transform((e, ctx): OrderConfig => {
  checkPlatformEnv(e, ctx);
  checkKafkaEnv(e, ctx);
  return {
    platform: platformConfigFrom(e),
    sharding: shardingConfigFrom(e, ctx),
    kafka: kafkaConfigFrom(e, 'mela-order'),
    ordersTopic: e.ORDERS_TOPIC,
    redisUrl: e.REDIS_URL,
    carts: cartsConfigFrom(e),
    policy: {
      reservationTtlMs: e.RESERVATION_TTL_SECONDS * 1000,
      idempotencyWaitMs: e.IDEMPOTENCY_WAIT_MS,
      maxQuantity: e.ORDER_MAX_QUANTITY,
    },
    sweepIntervalMs: e.RESERVATION_SWEEP_INTERVAL_MS,
    idempotencyRetentionMs: e.IDEMPOTENCY_RETENTION_HOURS * 3_600_000,
    gate: {
      ttlSeconds: e.STOCK_GATE_TTL_SECONDS,
      keyPrefix: e.STOCK_GATE_KEY_PREFIX,
    },
    stockChangesChannel: e.STOCK_CHANGES_CHANNEL,
    payment: {
      latencyMs: e.PAYMENT_SANDBOX_LATENCY_MS,
      failureRate: e.PAYMENT_SANDBOX_FAILURE_RATE,
    },
    outbox: {
      enabled: e.OUTBOX_RELAY,
      pollMs: e.OUTBOX_POLL_MS,
      batchSize: e.OUTBOX_BATCH_SIZE,
      retentionMs: e.OUTBOX_RETENTION_HOURS * 3_600_000,
    },
  };
});

/** The order service's configuration from the environment; every bad variable is reported at once. */
export function loadOrderConfig(env: Readonly<Record<string, string | undefined>>): OrderConfig {
  return loadConfig(orderConfig, env);
}
