import { replicaPorts, serviceNames, type LocalTopology, type ServiceName } from '@mela/topology';
import type { EdgeOptions, EdgeUpstream } from './nginx-config.js';

/**
 * The edge of local mode from the topology: the public server on the edge port, and each
 * service's port as the load balancer over its replicas (port + 100, + 200, …).
 */
export function localEdgeOptions(
  topology: LocalTopology,
  rest: Pick<EdgeOptions, 'dirs' | 'purgeModule' | 'user'>,
): EdgeOptions {
  const at = (port: number) => `${topology.host}:${String(port)}`;
  const services = {} as Record<ServiceName, EdgeUpstream>;
  const serviceListen = {} as Record<ServiceName, string>;
  for (const name of serviceNames) {
    const service = topology.services[name];
    services[name] = {
      servers: replicaPorts(service).map(at),
      loadBalancing: service.loadBalancing,
    };
    serviceListen[name] = at(service.port);
  }
  return { ...rest, listen: at(topology.edge.port), services, serviceListen };
}
