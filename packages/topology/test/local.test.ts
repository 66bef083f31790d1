import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  kafkaBrokers,
  localTopology,
  mysqlUrl,
  parseLoadBalancing,
  cartRedisUrl,
  redisUrl,
  replicaPorts,
} from '../src/index.js';

describe('the local topology', () => {
  it('when nothing is overridden, then commerce is one shard and customer is split at 80', () => {
    const topology = localTopology({});

    assert.deepEqual(
      topology.mysql.instances.map((i) => [i.keyspace, i.shard, i.port]),
      [
        ['commerce', '0', 3407],
        ['customer', '-80', 3408],
        ['customer', '80-', 3409],
      ],
    );
    assert.equal(redisUrl(topology), 'redis://:mela-local@127.0.0.1:6390');
    assert.equal(cartRedisUrl(topology), 'redis://:mela-local@127.0.0.1:6391');
    assert.deepEqual(kafkaBrokers(topology), ['127.0.0.1:9192']);
  });

  it('when ports are overridden, then URLs follow', () => {
    const topology = localTopology({ MELA_REDIS_PORT: '7000', MELA_MYSQL_BASE_PORT: '4000' });
    const [first] = topology.mysql.instances;

    assert.equal(redisUrl(topology), 'redis://:mela-local@127.0.0.1:7000');
    assert.ok(first);
    assert.equal(
      mysqlUrl(topology, first, 'commerce'),
      'mysql://mela:mela@127.0.0.1:4000/commerce',
    );
  });

  it('when a port is not a port, then it says which variable is wrong', () => {
    assert.throws(
      () => localTopology({ MELA_KAFKA_PORT: '99999' }),
      /MELA_KAFKA_PORT must be a TCP port, got "99999"/,
    );
  });
});

describe('services, replicas and load balancing in the local topology', () => {
  it('when nothing is overridden, then each service has two replicas on its port plus 100 and 200', () => {
    const topology = localTopology({});

    assert.equal(topology.services.catalog.port, 3001);
    assert.deepEqual(replicaPorts(topology.services.catalog), [3101, 3201]);
    assert.deepEqual(topology.services.catalog.loadBalancing, { algorithm: 'round-robin' });
    assert.deepEqual(topology.services.order.loadBalancing, { algorithm: 'least-conn' });
    assert.equal(topology.edge.port, 8080);
  });

  it('when replicas and algorithms are set per service, then they apply to that service only', () => {
    const topology = localTopology({
      MELA_REPLICAS: '3',
      MELA_CART_REPLICAS: '2',
      MELA_CART_LB: 'weighted:3,1',
      MELA_CATALOG_LB: 'ip-hash',
    });

    assert.equal(topology.services.catalog.replicas, 3);
    assert.deepEqual(topology.services.catalog.loadBalancing, { algorithm: 'ip-hash' });
    assert.deepEqual(topology.services.cart, {
      port: 3002,
      replicas: 2,
      loadBalancing: { algorithm: 'weighted', weights: [3, 1] },
    });
  });

  it('when an algorithm or its weights are wrong, then the message names the variable and the rule', () => {
    assert.throws(
      () => localTopology({ MELA_ORDER_LB: 'random' }),
      /^Error: MELA_ORDER_LB must be one of round-robin, least-conn, ip-hash, weighted \(weighted as weighted:3,1\), got "random"$/,
    );
    assert.throws(
      () => localTopology({ MELA_ORDER_LB: 'weighted:3' }),
      /^Error: MELA_ORDER_LB: weighted needs one weight from 1 to 100 per replica \(2\), got "weighted:3"$/,
    );
    assert.throws(
      () => parseLoadBalancing('least-conn:2,1', 2),
      /^Error: load balancing: only weighted takes weights, got "least-conn:2,1"$/,
    );
    assert.throws(
      () => localTopology({ MELA_REPLICAS: '0' }),
      /^Error: MELA_REPLICAS must be a replica count from 1 to 9, got "0"$/,
    );
  });
});
