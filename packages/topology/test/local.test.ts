import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaBrokers, localTopology, mysqlUrl, redisUrl } from '../src/index.js';

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
    assert.equal(redisUrl(topology), 'redis://127.0.0.1:6390');
    assert.deepEqual(kafkaBrokers(topology), ['127.0.0.1:9192']);
  });

  it('when ports are overridden, then URLs follow', () => {
    const topology = localTopology({ MELA_REDIS_PORT: '7000', MELA_MYSQL_BASE_PORT: '4000' });
    const [first] = topology.mysql.instances;

    assert.equal(redisUrl(topology), 'redis://127.0.0.1:7000');
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
