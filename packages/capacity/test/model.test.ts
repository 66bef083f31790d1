import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bbdEnvironment,
  defaultInputs,
  documentedFigures,
  equalShards,
  measuredFigures,
  nextPowerOfTwo,
  plan,
  type CapacityInputs,
} from '../src/index.js';

const inputs = defaultInputs({ requestsPerDay: 5e9, peakFactor: 10, ordersPerDay: 2e7 });

describe('the capacity model: its outputs follow from its inputs', () => {
  it('when 500 crore requests a day peak at 10×, then the peak is 578,704 req/s, split by the mix', () => {
    const result = plan(inputs);

    assert.equal(Math.round(result.averageRequestsPerSecond), 57_870);
    assert.equal(Math.round(result.peakRequestsPerSecond), 578_704);
    assert.equal(Math.round(result.services.catalog.peakRequestsPerSecond), 491_898);
    assert.equal(Math.round(result.services.order.peakRequestsPerSecond), 28_935);
  });

  it('when a replica serves N req/s at 60 %, then the replicas are the peak over 0.6 N, rounded up, at least 3', () => {
    const result = plan(inputs);

    // 491,898 / (12,689 × 0.6) = 64.6 → 65; 28,935 / (235 × 0.6) = 205.2 → 206.
    assert.deepEqual(result.services.catalog.replicas, { min: 3, max: 65 });
    assert.deepEqual(result.services.order.replicas, { min: 3, max: 206 });
    const small = plan({ ...inputs, requestsPerDay: 1e6 });
    assert.deepEqual(small.services.catalog.replicas, { min: 3, max: 3 });
  });

  it('when replicas are twice as fast, then half as many are needed (give or take the rounding)', () => {
    const faster: CapacityInputs = { ...inputs, podCpuScale: 2 };

    assert.equal(
      plan(faster).services.catalog.replicas.max,
      Math.ceil(491_898.1 / (12_689 * 2 * 0.6)),
    );
  });

  it('when orders are written, then shards are the larger of writes and size, as a power of two', () => {
    const result = plan(inputs);

    // 28,935 × 0.5 = 14,468 orders/s over 3,693 × 0.5 per shard = 7.8 → 8 by writes;
    // 2e7 × 365 × 4 KiB = 27.2 TiB over 500 GiB = 55.7 → 56 by size → 64.
    assert.equal(Math.round(result.shards.peakOrdersPerSecond), 14_468);
    assert.equal(result.shards.byWrites, 8);
    assert.equal(result.shards.bySize, 56);
    assert.equal(result.shards.count, 64);
    assert.equal(Math.round(result.shards.writesPerShardPerSecond), 226);
    const fewOrders = plan({ ...inputs, ordersPerDay: 1e5 });
    assert.equal(fewOrders.shards.count, 8, 'writes decide when the data is small');
    const busier = plan({ ...inputs, ordersPerDay: 1e5, peakFactor: 20 });
    assert.equal(busier.shards.count, 16, 'twice the peak, twice the shards');
  });

  it('when the Redis and Kafka figures are worked out, then they are the peak times the per-request cost', () => {
    const result = plan(inputs);
    const ops = 491_898.1 * 2 + 57_870.4 * 3 + 28_935.2 * 6;

    assert.ok(Math.abs(result.redis.peakOpsPerSecond - ops) < 10);
    assert.equal(result.redis.nodes, Math.ceil(result.redis.peakOpsPerSecond / 60_000));
    // Products, carts, limiter keys, and the gate's record of each order placed in a day.
    assert.equal(result.redis.memoryBytes, 10e6 * 2048 + 20e6 * 1024 + 50e6 * 120 + 2e7 * 128);
    // 14,468 events/s over 200 per consumer = 72.3 → 73 → 128 partitions.
    assert.equal(result.kafka.partitions, 128);
  });

  it('when the mix does not add up to 1, then the model refuses it', () => {
    assert.throws(
      () => plan({ ...inputs, mix: { catalog: 0.9, cart: 0.1, order: 0.1 } }),
      /adds up to 1\.1/,
    );
  });

  it('when shards are split evenly, then the keyranges cover the space without gaps', () => {
    assert.deepEqual(equalShards(2), ['-80', '80-']);
    assert.deepEqual(equalShards(4), ['-40', '40-80', '80-c0', 'c0-']);
    assert.equal(equalShards(64)[1], '04-08');
    assert.equal(equalShards(512)[1], '0080-0100');
    assert.throws(() => equalShards(6), /power of two/);
    assert.equal(nextPowerOfTwo(33), 64);
  });

  it('when a bench result is read, then its catalog, order and raw-transaction medians are the figures', () => {
    const bench = {
      throughput: [
        { name: 'catalog', requestsPerSecond: { median: 12_000 } },
        { name: 'catalog, no near cache (Redis)', requestsPerSecond: { median: 9_000 } },
      ],
      orders: {
        placeOrder: { requestsPerSecond: { median: 250 } },
        rawInsert: { requestsPerSecond: { median: 3_000 } },
      },
    };
    assert.deepEqual(measuredFigures(bench), {
      catalog: 12_000,
      redisRoundTrip: 9_000,
      order: 250,
      shardTransactions: 3_000,
    });
    assert.throws(() => measuredFigures({}), /not an npm run bench result/);
    assert.equal(documentedFigures.order, 235);
  });

  it('when the bbd environment is emitted, then it carries the plan’s replicas, shards and partitions', () => {
    const result = plan(inputs);
    const bbd = bbdEnvironment(inputs, result, 'npm run capacity');

    assert.deepEqual(bbd.serviceReplicas['order'], { min: 3, max: 206 });
    assert.equal(bbd.customerShards.length, 64);
    assert.equal(bbd.ordersPartitions, 128);
    assert.deepEqual(bbd.notificationReplicas, { min: 3, max: 128 });
  });
});
