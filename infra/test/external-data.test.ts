import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { environments, externalPeers, externalService } from '../src/index.js';
import { synthObjects, testChart } from './support.js';

interface Synthesized {
  readonly kind: string;
  readonly metadata: { readonly labels?: Record<string, string> };
  readonly spec?: { readonly selector?: unknown; readonly ports?: unknown };
  readonly endpoints?: unknown;
  readonly ports?: unknown;
}

describe('the data layer outside the cluster', () => {
  it('when a server is external, then its Service has no selector and an EndpointSlice points it at the server', () => {
    const chart = testChart();
    externalService(chart, 'redis', {
      name: 'redis',
      port: 6379,
      portName: 'redis',
      endpoint: { address: '10.0.3.7', port: 6390 },
      labels: { 'app.kubernetes.io/name': 'redis' },
    });
    const [service, slice] = chart.toJson() as Synthesized[];
    assert.ok(service && slice);

    assert.equal(service.kind, 'Service');
    assert.equal(service.spec?.selector, undefined);
    assert.deepEqual(service.spec?.ports, [
      { name: 'redis', port: 6379, targetPort: 6390, protocol: 'TCP' },
    ]);
    assert.equal(slice.kind, 'EndpointSlice');
    assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'redis');
    assert.deepEqual(slice.endpoints, [{ addresses: ['10.0.3.7'], conditions: { ready: true } }]);
    assert.deepEqual(slice.ports, [{ name: 'redis', port: 6390, protocol: 'TCP' }]);
  });

  it('when servers share an address, then NetworkPolicies get one block with their ports', () => {
    assert.deepEqual(
      externalPeers([
        { address: '10.0.3.7', port: 3409 },
        { address: '10.0.3.7', port: 3407 },
        { address: '10.0.3.8', port: 6390 },
      ]),
      [
        { cidr: '10.0.3.7/32', ports: [3407, 3409] },
        { cidr: '10.0.3.8/32', ports: [6390] },
      ],
    );
  });

  it('when local-cluster is synthesized, then no StatefulSet, Strimzi or operator object is in it, and every data Service is external', () => {
    const objects = synthObjects(environments['local-cluster']);
    const kinds = new Set(objects.map((o) => o.kind));

    for (const kind of [
      'StatefulSet',
      'Kafka',
      'KafkaNodePool',
      'ServiceMonitor',
      'ScaledObject',
      'Gateway',
      'HTTPRoute',
      'GatewayClass',
    ])
      assert.equal(kinds.has(kind), false, kind);
    const slices = objects.filter((o) => o.kind === 'EndpointSlice').map((o) => o.metadata.name);
    assert.deepEqual(slices.sort(), [
      'mail-relay-external',
      'mela-kafka-bootstrap-external',
      'mysql-commerce-0-external',
      'mysql-customer-80-x-external',
      'mysql-customer-x-80-external',
      'redis-carts-external',
      'redis-external',
    ]);
  });
});
