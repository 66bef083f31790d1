import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { localNginx, startNginx, type RunningNginx } from '@mela/edge';
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
 * implementation; this is what the Gateway and the in-cluster edge cache do there.
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
  const nginx = await startNginx(dir, edge);
  return { ...nginx, url: `http://127.0.0.1:${String(port)}` };
}
