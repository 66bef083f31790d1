import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { localNginx, startNginx, tokenVariables, type RunningNginx } from '@mela/edge';
import { paths } from '@mela/toolchain';
import type { EdgeOptions, EdgeUpstream } from '@mela/edge';
import { serviceNames, type ServiceName } from '@mela/topology';
import type { LocalCluster } from './node-cluster.js';

/** The edge of the local cluster, and where it answers. */
export interface ClusterEdge extends RunningNginx {
  readonly url: string;
}

/** Where `npm run cluster:local -- edge` listens unless told otherwise. */
export const defaultClusterEdgePort = 8180;

/**
 * Mela's generated edge (nginx: storefront, API, cached static assets, the checkout waiting
 * room) on this host, in front of the cluster's four Services — each a single upstream, the
 * ClusterIP, which kube-proxy spreads over the Service's ready pods. The cluster has no Gateway
 * implementation; this is what the Gateway and the in-cluster edge cache do there. Its checkout
 * waiting room checks tokens as the order replicas do, with their Deployment's variables: in
 * nginx for a shared secret, asked of the catalog for an identity provider's tokens.
 */
export async function startClusterEdge(
  cluster: LocalCluster,
  options: { readonly port?: number; readonly namespace?: string } = {},
): Promise<ClusterEdge> {
  const port = options.port ?? defaultClusterEdgePort;
  const namespace = options.namespace ?? 'mela';
  const core = cluster.config.makeApiClient(CoreV1Api);
  const services = {} as Record<ServiceName, EdgeUpstream>;
  for (const name of serviceNames) {
    const service = await core.readNamespacedService({ name, namespace });
    const http = service.spec?.ports?.find((p) => p.name === 'http');
    if (service.spec?.clusterIP === undefined || http === undefined) {
      throw new Error(`Service ${namespace}/${name} has no ClusterIP and http port`);
    }
    services[name] = {
      servers: [`${service.spec.clusterIP}:${String(http.port)}`],
      loadBalancing: { algorithm: 'round-robin' },
    };
  }
  const dir = join(paths.data('cluster-edge'), String(port));
  const edge: EdgeOptions = {
    listen: `127.0.0.1:${String(port)}`,
    services,
    ...localNginx(dir),
  };
  const nginx = await startNginx(dir, edge, {
    serviceEnv: await orderTokenVariables(cluster, namespace),
  });
  return { ...nginx, url: `http://127.0.0.1:${String(port)}` };
}

/**
 * The token variables the order replicas verify checkouts with, as their Deployment sets them
 * (a value, or a Secret's key), and whether they use an identity provider instead: the edge's
 * checkout waiting room checks tokens as they do.
 */
async function orderTokenVariables(
  cluster: LocalCluster,
  namespace: string,
): Promise<Record<string, string>> {
  const core = cluster.config.makeApiClient(CoreV1Api);
  const deployment = await cluster.config
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name: 'order', namespace });
  const wanted = new Set<string>([...tokenVariables, 'AUTH_JWKS_URL']);
  const variables: Record<string, string> = {};
  for (const container of deployment.spec?.template.spec?.containers ?? []) {
    for (const { name, value, valueFrom } of container.env ?? []) {
      if (!wanted.has(name)) continue;
      const ref = valueFrom?.secretKeyRef;
      if (value !== undefined) variables[name] = value;
      else if (ref?.name !== undefined) {
        const secret = await core.readNamespacedSecret({ name: ref.name, namespace });
        const data = secret.data?.[ref.key];
        if (data !== undefined) variables[name] = Buffer.from(data, 'base64').toString();
      }
    }
  }
  return variables;
}
