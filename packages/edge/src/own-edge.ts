import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '@mela/toolchain';
import { serviceNames, type ServiceName } from '@mela/topology';
import type { EdgeOptions, EdgeUpstream } from './nginx-config.js';
import { localNginx, startNginx } from './nginx.js';

/** One line of the edge's JSON access log. */
export interface EdgeLogEntry {
  /** The connecting client's address. */
  readonly client: string;
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  /** The replicas tried, in order (`127.0.0.1:1234`), empty when served from the cache. */
  readonly upstreams: readonly string[];
  readonly cache: string;
}

export interface OwnEdge {
  readonly url: string;
  readonly port: number;
  /** The address of each service's internal load balancer, for those given `internal: true`. */
  readonly internal: Readonly<Partial<Record<ServiceName, string>>>;
  /** The access log so far. */
  log(): EdgeLogEntry[];
  stop(): Promise<void>;
}

/**
 * Runs a real nginx with Mela's edge configuration on free ports in a temporary folder:
 * `services` gives the replicas behind each service (the rest point at a dead port). With
 * `tokens` (the services' token variables), the checkout waiting room checks tokens in nginx.
 */
export async function startOwnEdge(
  services: Readonly<Partial<Record<ServiceName, EdgeUpstream & { readonly internal?: boolean }>>>,
  {
    tokens,
    ...rest
  }: Pick<EdgeOptions, 'passiveHealth' | 'checkoutQueue'> & {
    readonly tokens?: Readonly<Record<string, string>>;
  } = {},
): Promise<OwnEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'mela-edge-'));
  const [port = 0, nowherePort = 0, ...internalPorts] = await freePorts(2 + serviceNames.length);
  const nowhere = `127.0.0.1:${String(nowherePort)}`;
  const upstreams = {} as Record<ServiceName, EdgeUpstream>;
  const internal: Partial<Record<ServiceName, string>> = {};
  for (const name of serviceNames) {
    const given = services[name];
    upstreams[name] = given ?? { servers: [nowhere], loadBalancing: { algorithm: 'round-robin' } };
    if (given?.internal) internal[name] = `127.0.0.1:${String(internalPorts.pop())}`;
  }
  const options: EdgeOptions = {
    ...rest,
    listen: `127.0.0.1:${String(port)}`,
    services: upstreams,
    serviceListen: internal,
    ...localNginx(dir),
    workerProcesses: 2,
  };
  const nginx = await startNginx(dir, options, { serviceEnv: tokens });
  return {
    url: `http://127.0.0.1:${String(port)}`,
    port,
    internal,
    log: () =>
      readFileSync(nginx.accessLog, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const raw = JSON.parse(line) as Record<string, unknown>;
          const upstream = String(raw['upstream']);
          return {
            client: String(raw['client']),
            method: String(raw['method']),
            uri: String(raw['uri']),
            status: Number(raw['status']),
            upstreams: upstream === '' ? [] : upstream.split(/\s*[,:]\s+/),
            cache: String(raw['cache']),
          };
        }),
    async stop() {
      await nginx.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
