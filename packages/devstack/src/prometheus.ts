import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ruleFile } from '@mela/observability';
import { replicaPorts, serviceNames, type LocalTopology } from '@mela/topology';
import type { SystemRequirement } from '@mela/toolchain';
import { stateDir } from '@mela/toolchain';
import { assertPortsFree, run, until } from '@mela/toolchain';

/** Debian's Prometheus (with promtool). */
export const prometheusRequirements: readonly SystemRequirement[] = [
  { command: 'prometheus', aptPackage: 'prometheus' },
];

/** How often local Prometheus scrapes and evaluates: often, so a short load run shows. */
export const localScrape = { interval: '2s', ruleInterval: '5s' } as const;

/**
 * A Prometheus configuration scraping `targets` (job → `host:port` of each replica's
 * `/metrics`, labelled like the cluster's ServiceMonitors: `job` = the service) and loading
 * the rules in `rulesFile`.
 */
export function prometheusConfig(
  targets: Readonly<Record<string, readonly string[]>>,
  rulesFile: string,
): string {
  return stringify({
    global: {
      scrape_interval: localScrape.interval,
      evaluation_interval: localScrape.ruleInterval,
    },
    rule_files: [rulesFile],
    scrape_configs: Object.entries(targets).map(([job, addresses]) => ({
      job_name: job,
      static_configs: [{ targets: [...addresses] }],
    })),
  });
}

/** The local stack's scrape targets: every replica of every service. */
export function localTargets(topology: LocalTopology): Record<string, string[]> {
  return Object.fromEntries(
    serviceNames.map((service) => [
      service,
      replicaPorts(topology.services[service]).map((port) => `${topology.host}:${String(port)}`),
    ]),
  );
}

export interface RunningPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's Prometheus on `listen` with its files in `dir` (data kept between runs),
 * scraping `targets` and evaluating Mela's rules (every 5 s); the configuration is checked
 * with promtool first; resolves once Prometheus is ready.
 */
export async function startPrometheus(options: {
  readonly dir: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly targets: Readonly<Record<string, readonly string[]>>;
  /** How to give it another port, for the error when its port is taken. */
  readonly move?: string;
}): Promise<RunningPrometheus> {
  const { dir, listen } = options;
  await assertPortsFree(
    [{ ...listen, what: 'Prometheus' }],
    options.move ?? 'give Prometheus another port',
  );
  mkdirSync(join(dir, 'data'), { recursive: true });
  const rules = join(dir, 'mela.rules.yaml');
  writeFileSync(rules, ruleFile({ interval: localScrape.ruleInterval }));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, prometheusConfig(options.targets, rules));
  run('promtool', ['check', 'config', config]);
  const url = `http://${listen.host}:${String(listen.port)}`;
  const log = join(dir, 'prometheus.log');
  const out = openSync(log, 'a');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=${listen.host}:${String(listen.port)}`,
      '--web.enable-lifecycle',
      // The services' latency exemplars (trace ids), kept beside the series.
      '--enable-feature=exemplar-storage',
    ],
    // Its own process group: Ctrl-C reaches the supervisor, which stops Prometheus.
    { stdio: ['ignore', out, out], detached: true },
  );
  closeSync(out);
  await until(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`prometheus exited with ${String(child.exitCode)}`);
      return fetch(`${url}/-/ready`).then(
        (res) => res.ok,
        () => false,
      );
    },
    'Prometheus',
    30_000,
    { logFile: log },
  );
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Prometheus for `npm start`: every replica, in `.mela/prometheus/<port>`. */
export function startLocalPrometheus(topology: LocalTopology): Promise<RunningPrometheus> {
  return startPrometheus({
    dir: join(stateDir, 'prometheus', String(topology.prometheus.port)),
    listen: { host: topology.host, port: topology.prometheus.port },
    targets: localTargets(topology),
    move: 'move it with MELA_PROMETHEUS_PORT',
  });
}
