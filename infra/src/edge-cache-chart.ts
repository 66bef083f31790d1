import { createHash } from 'node:crypto';
import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { nginxConfig, type EdgeUpstream } from '@mela/edge';
import { apiServices, serviceNames, type ServiceName } from '@mela/topology';
import type { Environment } from './environments.js';
import {
  dnsEgress,
  egressTo,
  lockedContainer,
  namespacePeer,
  nonRootPod,
  tcpPorts,
} from './pod-policy.js';

/** The edge cache in a cluster: its name (Deployment, Service) and port. */
export const edgeCache = { name: 'edge-cache', port: 8080 } as const;

/**
 * The CDN edge in a cluster: nginx (unprivileged image) with the same generated configuration
 * as local mode — `proxy_cache` honouring the origin's Cache-Control, `X-Cache`, stale-if-error
 * — in front of the catalog's static assets and storefront page, and the checkout waiting room
 * in front of the order replicas; the Gateway routes `/static`, `/` and `/api/orders` to it.
 * Its cache is per pod (an emptyDir): a CDN in front of the Gateway adds the shared tier.
 */
export class EdgeCacheChart extends Chart {
  constructor(scope: Construct, id: string, env: Environment, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: env.namespace });
    const { name, port } = edgeCache;
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mela' };
    const selector = { 'app.kubernetes.io/name': name };
    const services = {} as Record<ServiceName, EdgeUpstream>;
    for (const service of serviceNames) {
      services[service] = {
        servers: [`${service}.${env.namespace}.svc.cluster.local:3000`],
        loadBalancing: { algorithm: 'round-robin' },
      };
    }
    const config = nginxConfig({
      listen: `0.0.0.0:${String(port)}`,
      services,
      dirs: {
        cache: '/var/cache/nginx/mela',
        temp: '/tmp/nginx',
        logs: '/tmp',
        pidFile: '/tmp/nginx.pid',
      },
      logTo: { access: '/dev/stdout', error: '/dev/stderr' },
      cache: { maxSize: env.edgeCache.size, inactive: '7d' },
      workerProcesses: 'auto',
      ...(env.edgeCache.waitingRoom === false ? { checkoutQueue: false } : {}),
    });
    // The pods roll when the configuration changes.
    const configHash = createHash('sha256').update(config).digest('hex').slice(0, 12);

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name, labels },
      data: { 'nginx.conf': config },
    });
    const probe: k8s.Probe = {
      httpGet: { path: '/_edge/purge-health', port: k8s.IntOrString.fromString('http') },
      periodSeconds: 10,
      timeoutSeconds: 2,
    };
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name, labels },
      spec: {
        replicas: env.edgeCache.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, annotations: { 'mela.dev/config-hash': configHash } },
          spec: {
            automountServiceAccountToken: false,
            securityContext: nonRootPod(101, false),
            topologySpreadConstraints: [
              {
                topologyKey: 'kubernetes.io/hostname',
                maxSkew: 1,
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: selector },
              },
            ],
            containers: [
              {
                name: 'nginx',
                image: 'nginxinc/nginx-unprivileged:1.27',
                args: ['nginx', '-c', '/etc/mela/nginx.conf', '-g', 'daemon off;'],
                ports: [{ name: 'http', containerPort: port }],
                resources: {
                  requests: {
                    cpu: k8s.Quantity.fromString('50m'),
                    memory: k8s.Quantity.fromString('64Mi'),
                  },
                  limits: {
                    cpu: k8s.Quantity.fromString('1'),
                    memory: k8s.Quantity.fromString('256Mi'),
                  },
                },
                // Like the services': liveness starts only once nginx has answered, so a slow
                // start (a large cache to load) is not taken for a hang.
                startupProbe: { ...probe, periodSeconds: 2, failureThreshold: 30 },
                readinessProbe: probe,
                livenessProbe: { ...probe, failureThreshold: 3 },
                securityContext: lockedContainer,
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/mela', readOnly: true },
                  { name: 'cache', mountPath: '/var/cache/nginx' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name } },
              {
                name: 'cache',
                emptyDir: { sizeLimit: k8s.Quantity.fromString(env.edgeCache.volume) },
              },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, 'service', {
      metadata: { name, labels },
      spec: {
        selector,
        ports: [{ name: 'http', port, targetPort: k8s.IntOrString.fromString('http') }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'network-policy', {
      metadata: { name, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [namespacePeer('envoy-gateway-system')],
            ports: tcpPorts([port]),
          },
        ],
        egress: [
          dnsEgress,
          // The catalog (assets, pages, and who is signed in for the waiting room), the order
          // replicas behind the checkout waiting room, and each public API's OpenAPI document
          // (the API reference's /api/docs/<service>.json).
          ...[...new Set<ServiceName>(['catalog', 'order', ...apiServices])].map((app) =>
            egressTo([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': app } } }], [3000]),
          ),
        ],
      },
    });
  }
}
