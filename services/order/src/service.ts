import { cacheRedisOptions } from '@mela/cache';
import { cartsConnection, RedisCartStore } from '@mela/carts';
import { createAdmin, createProducer } from '@mela/messaging';
import {
  createHttpService,
  createPlatform,
  serviceRateLimit,
  runService,
  type HttpService,
  type Platform,
  systemClock,
} from '@mela/platform';
import type { Tracing } from '@mela/platform/tracing';
import { openShardedDatabase, type ShardedDatabase } from '@mela/sharding';
import { announceStockChanges } from '@mela/stock';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { cartOf } from './adapters/carts.js';
import { OrderRepository } from './adapters/order.repository.js';
import { OutboxRelay } from './adapters/outbox.relay.js';
import { SandboxPaymentProvider } from './adapters/sandbox-payment.provider.js';
import { RedisStockGate } from './adapters/stock.gate.js';
import { MysqlStockLedger } from './adapters/stock.ledger.js';
import { createApp } from './app.js';
import { loadOrderConfig, type OrderConfig } from './config.js';
import { OrderService } from './domain/order.service.js';
import type { CallerCart } from './domain/ports.js';
import { ReservationSweeper } from './domain/reservation-sweeper.js';

/** A wired order service: the HTTP service and what it owns. */
export interface OrderApp {
  readonly platform: Platform;
  readonly service: HttpService;
  readonly orders: OrderService;
  /** The cart of a user this service authenticated (what `POST /api/orders` orders from). */
  readonly cartOf: (userId: string) => CallerCart;
  readonly sweeper: ReservationSweeper;
  readonly db: ShardedDatabase;
  readonly redis: Redis;
  readonly relay: OutboxRelay | undefined;
}

/** Builds the real clients and the service from a configuration (the tests call it too). */
export function buildOrder(config: OrderConfig): OrderApp {
  const platform = createPlatform('order', config.platform);
  const { logger } = platform;
  const registry = platform.metrics.registry;
  const clock = systemClock;
  const redisOptions = { ...cacheRedisOptions, maxRetriesPerRequest: 1, commandTimeout: 500 };
  const redis = new Redis(config.redisUrl, redisOptions);
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));
  const db = openShardedDatabase(config.sharding, registry);
  const stock = new MysqlStockLedger({
    db,
    clock,
    onChange: announceStockChanges(redis, config.stockChangesChannel, (error) =>
      logger.debug({ err: error }, 'stock change not announced'),
    ),
  });
  const repository = new OrderRepository(db, clock, config.ordersTopic);
  const relay = config.outbox.enabled
    ? new OutboxRelay({
        db,
        producer: () => createProducer(config.kafka),
        logger,
        registry,
        pollMs: config.outbox.pollMs,
        batchSize: config.outbox.batchSize,
        retentionMs: config.outbox.retentionMs,
      })
    : undefined;

  const placed = new Counter({
    name: 'orders_placed_total',
    help: 'Orders committed',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'orders_rejected_total',
    help: 'Order attempts that ended without an order, by problem code (sold_out, payment_declined, ...)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // The reasons a sale dashboard watches, exported from the start (0 rather than no data).
  for (const reason of ['sold_out', 'payment_declined', 'cart_empty']) rejected.inc({ reason }, 0);
  const gate = new RedisStockGate({
    redis,
    keyPrefix: config.gate.keyPrefix,
    ttlSeconds: config.gate.ttlSeconds,
    attemptsKeptMs: config.idempotencyRetentionMs,
    stockOf: (id) => stock.stockOf(id),
  });
  const payments = new SandboxPaymentProvider({ db, clock, ...config.payment });
  const onError = (error: unknown, message: string) => logger.warn({ err: error }, message);
  const orders = new OrderService({
    stock,
    gate,
    payments,
    orders: repository,
    metrics: { placed: () => placed.inc(), rejected: (reason) => rejected.inc({ reason }) },
    policy: config.policy,
    clock,
    onCommitted: () => relay?.nudge(),
    onError,
  });
  const sweeper = new ReservationSweeper({
    orders: repository,
    stock,
    gate,
    payments,
    policy: {
      reservationTtlMs: config.policy.reservationTtlMs,
      idempotencyRetentionMs: config.idempotencyRetentionMs,
      // Keys live for a day: clearing them every ten minutes is plenty.
      purgeEveryMs: 600_000,
    },
    clock,
    onError,
  });
  // The buyers' carts, where the cart service keeps them (often a Redis of their own).
  const { redis: cartsRedis, own: separateCarts } = cartsConnection(
    config.carts.redisUrl,
    { url: config.redisUrl, redis, options: redisOptions },
    (error) => logger.debug({ err: error }, 'carts redis connection error'),
  );
  const carts = new RedisCartStore(cartsRedis, { keyPrefix: config.carts.keyPrefix });
  const callerCart = (userId: string) => cartOf(carts, userId);

  for (const check of db.healthChecks(['commerce', 'customer']))
    platform.health.register(check.name, check.probe, { critical: check.critical });
  // Without Redis the gate steps aside (MySQL still refuses oversell); without Kafka the
  // outbox holds the events. Neither makes the service unready.
  platform.health.register('redis', () => redis.ping(), { critical: false });
  // Without the carts no order can be placed (503), but orders can still be read.
  if (separateCarts)
    platform.health.register('redis carts', () => cartsRedis.ping(), { critical: false });
  const admin = createAdmin(config.kafka);
  platform.health.register('kafka', () => admin.metadata({ topics: [], forceUpdate: true }), {
    critical: false,
  });

  const app = createApp({
    platform,
    orders,
    cartOf: callerCart,
    rateLimit: serviceRateLimit(platform, redis),
  });
  const service = createHttpService(
    platform,
    app,
    [
      { name: 'sweeper', close: () => sweeper.stop() },
      { name: 'outbox relay', close: () => relay?.stop() },
      { name: 'kafka admin', close: () => admin.close() },
      { name: 'redis', close: () => redis.quit() },
      ...(separateCarts ? [{ name: 'carts redis', close: () => cartsRedis.quit() }] : []),
      { name: 'mysql', close: () => db.close() },
    ],
    [
      { name: 'outbox relay', start: () => relay?.start() },
      {
        name: 'sweeper',
        start: () =>
          sweeper.start(config.sweepIntervalMs, ({ released, consumed, refunded }) => {
            if (released + consumed + refunded > 0)
              logger.info(
                { released, consumed, refunded },
                'settled expired reservations and payments',
              );
          }),
      },
    ],
  );
  return { platform, service, orders, cartOf: callerCart, sweeper, db, redis, relay };
}

/** Serves from the environment's configuration until a signal, then drains and flushes `tracing`. */
export function run(tracing: Tracing): Promise<void> {
  return runService(buildOrder(loadOrderConfig(process.env)), tracing);
}
