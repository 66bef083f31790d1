import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { ExternalEndpoint } from './environments.js';
import type { EgressPeer } from './microservice.js';

/**
 * A server outside the cluster under a Service name the pods already use: a Service without a
 * selector on `port`, and the EndpointSlice that points it at the server (the way managed
 * databases are reached). kube-proxy sends the Service's traffic to `endpoint`.
 */
export function externalService(
  scope: Construct,
  id: string,
  options: {
    readonly name: string;
    readonly port: number;
    readonly portName: string;
    readonly endpoint: ExternalEndpoint;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  },
): void {
  const { name, port, portName, endpoint, labels } = options;
  const metadata = { labels, ...(options.annotations ? { annotations: options.annotations } : {}) };
  new k8s.KubeService(scope, `${id}-service`, {
    metadata: { name, ...metadata },
    spec: {
      ports: [
        {
          name: portName,
          port,
          targetPort: k8s.IntOrString.fromNumber(endpoint.port),
          protocol: 'TCP',
        },
      ],
    },
  });
  new k8s.KubeEndpointSlice(scope, `${id}-endpoints`, {
    metadata: {
      name: `${name}-external`,
      ...metadata,
      labels: {
        ...labels,
        'kubernetes.io/service-name': name,
        'endpointslice.kubernetes.io/managed-by': 'mela.dev-external-data',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [endpoint.address], conditions: { ready: true } }],
    ports: [{ name: portName, port: endpoint.port, protocol: 'TCP' }],
  });
}

/**
 * The NetworkPolicy destinations of external servers: one address block per address, with the
 * servers' own ports (policies see the connection after kube-proxy's translation).
 */
export function externalPeers(endpoints: readonly ExternalEndpoint[]): EgressPeer[] {
  const byAddress = new Map<string, number[]>();
  for (const { address, port } of endpoints) {
    byAddress.set(
      address,
      [...new Set([...(byAddress.get(address) ?? []), port])].sort((a, b) => a - b),
    );
  }
  return [...byAddress].map(([address, ports]) => ({ cidr: `${address}/32`, ports }));
}
