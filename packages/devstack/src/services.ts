import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertPortsFree,
  paths,
  progress,
  repoRoot,
  run,
  spawnLogged,
  stateDir,
  until,
} from '@mela/toolchain';
import {
  cartRedisUrl,
  otlpEndpoint,
  kafkaBrokers,
  localShardMap,
  needVariables,
  redisUrl,
  replicaPorts,
  serviceNames,
  serviceNeeds,
  type LocalTopology,
  type Need,
  type ServiceName,
} from '@mela/topology';

/** The variables `.mela/local.env` holds (the dev JWT secret, dev tokens on), made by scripts/run.sh. */
export function localSecrets(): Record<string, string> {
  const file = join(stateDir, 'local.env');
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
      .flatMap((m) => (m?.[1] !== undefined && m[2] !== undefined ? [[m[1], m[2]] as const] : [])),
  );
}

/**
 * The environment a service gets in local mode: the platform's settings, its port —
 * `replica`'s, else the service's own — and, for each flow it needs (`serviceNeeds`, the same
 * description the cluster's manifests are rendered from), where that is here.
 */
export function serviceEnvironment(
  topology: LocalTopology,
  name: ServiceName,
  replica?: number,
): Record<string, string> {
  const service = topology.services[name];
  const port = replica === undefined ? service.port : replicaPorts(service)[replica];
  return Object.assign(
    {
      ...localSecrets(),
      NODE_ENV: 'development',
      PORT: String(port),
      // Shoppers come through the edge, which sets X-Forwarded-For to the client's address.
      TRUST_PROXY_HOPS: '1',
      HOST: topology.host,
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    ...serviceNeeds[name].map((need) => localWiring(topology, need)),
  ) as Record<string, string>;
}

/** How a need reaches a service in local mode: the local servers and load balancers. */
export function localWiring(topology: LocalTopology, need: Need): Record<string, string> {
  const at = (port: number) => `${topology.host}:${String(port)}`;
  if (typeof need === 'object') {
    const [variable = ''] = needVariables(need);
    return { [variable]: `http://${at(topology.services[need.service].port)}` };
  }
  switch (need) {
    case 'redis':
      return { REDIS_URL: redisUrl(topology) };
    case 'cart-redis':
      return { CART_REDIS_URL: cartRedisUrl(topology) };
    case 'mysql':
      return { SHARD_MAP: JSON.stringify(localShardMap(topology)) };
    case 'kafka':
      return { KAFKA_BROKERS: kafkaBrokers(topology).join(',') };
    case 'smtp':
      return { SMTP_URL: `smtp://${at(topology.mailbox.smtpPort)}` };
    case 'webhooks':
      // The dev mailbox stands in for the SMS and push providers.
      return {
        SMS_WEBHOOK_URL: `http://${at(topology.mailbox.httpPort)}/sms`,
        PUSH_WEBHOOK_URL: `http://${at(topology.mailbox.httpPort)}/push`,
      };
    case 'identity-provider':
      // Local tokens are signed with the dev secret (local.env): no provider to reach.
      return {};
    case 'tracing':
      // Every trace is kept locally: there is one shopper (or one test) at a time.
      return { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint(topology) };
  }
}

/** Loads the demo catalog (100k products) unless it is there already. */
export function seedCatalog(topology: LocalTopology, products = 100_000): void {
  const output = run(
    process.execPath,
    [join(repoRoot, 'services/catalog/dist/src/seed.cli.js'), '--products', String(products)],
    {
      env: { ...process.env, ...serviceEnvironment(topology, 'catalog') },
    },
  );
  if (output.trim()) progress(output.trim());
}

interface Running {
  readonly name: string;
  child: ChildProcess;
  readonly url: string;
}

/**
 * Runs every replica of every service as a child process (logs in
 * `.mela/logs/<service>-<n>.log`, pid in `.mela/run/<service>-<n>.pid`), waits until each is
 * ready, and resolves with a `stop()` that sends SIGTERM and waits for them to drain. A replica
 * that exits on its own (a crash, `npm run drill` killing it) is started again a second later,
 * as a Deployment's controller would.
 */
export async function startServices(
  topology: LocalTopology,
): Promise<{ readonly urls: Record<string, string>; stop(): Promise<void> }> {
  const running: Running[] = [];
  let stopping = false;
  const spawnReplica = (service: ServiceName, replica: number, name: string): ChildProcess => {
    // Its own process group: a terminal's Ctrl-C reaches only the supervisor, which then
    // drains each service once with SIGTERM. The replica writes its log file itself: copied
    // through a pipe, every line cost this supervisor a read and a write (4-5 % of a core
    // while the load driver browses).
    const child = spawnLogged(
      name,
      process.execPath,
      [join(repoRoot, `services/${service}/dist/src/main.js`)],
      { env: { ...process.env, ...serviceEnvironment(topology, service, replica) } },
    );
    child.once('exit', (code, signal) => {
      rmSync(paths.pid(name), { force: true });
      if (stopping) return;
      progress(`${name} exited (${signal ?? `code ${String(code)}`}); starting it again`);
      setTimeout(() => {
        const entry = running.find((r) => r.name === name);
        if (entry && !stopping) entry.child = spawnReplica(service, replica, name);
      }, 1000).unref();
    });
    return child;
  };
  // Checked before any starts: a replica whose port is taken exits at once, and a readiness
  // check there could be answered by the other program.
  await assertPortsFree(
    serviceNames.flatMap((service) =>
      replicaPorts(topology.services[service]).map((port, i) => ({
        host: topology.host,
        port,
        what: `${service} replica ${String(i + 1)}`,
      })),
    ),
    "move a service's ports with MELA_<SERVICE>_PORT (its replicas listen on +100, +200)",
  );
  for (const service of serviceNames) {
    const ports = replicaPorts(topology.services[service]);
    for (const [replica, port] of ports.entries()) {
      const name = `${service}-${String(replica + 1)}`;
      const child = spawnReplica(service, replica, name);
      running.push({ name, child, url: `http://${topology.host}:${String(port)}` });
    }
    const { loadBalancing } = topology.services[service];
    progress(
      `starting ${service} ×${String(ports.length)} on ${ports.join(', ')}, balanced on ${String(topology.services[service].port)} (${loadBalancing.algorithm}${loadBalancing.weights ? ` ${loadBalancing.weights.join(':')}` : ''})`,
    );
  }
  const stop = async () => {
    stopping = true;
    await Promise.all(
      running.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
  };
  try {
    await Promise.all(
      running.map(({ name, child, url }) =>
        until(
          async () => {
            if (child.exitCode !== null)
              throw new Error(
                `${name} exited with ${String(child.exitCode)}; see ${paths.log(name)}`,
              );
            return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
          },
          `${name} to be ready`,
          60_000,
          { logFile: paths.log(name) },
        ),
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const urls = Object.fromEntries(
    serviceNames.map((service) => [
      service,
      `http://${topology.host}:${String(topology.services[service].port)}`,
    ]),
  );
  return { urls, stop };
}
