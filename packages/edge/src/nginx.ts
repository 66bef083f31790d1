import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalTopology } from '@mela/topology';
import {
  assertPortsFree,
  isListening,
  livePid,
  run,
  stateDir,
  until,
  type SystemRequirement,
} from '@mela/toolchain';
import { localEdgeOptions } from './local.js';
import { edgeLogs, nginxConfig, tokenVariables, type EdgeOptions } from './nginx-config.js';

/** Debian's build of the ngx_cache_purge module (package libnginx-mod-http-cache-purge). */
export const purgeModulePath = '/usr/lib/nginx/modules/ngx_http_cache_purge_module.so';

/** Debian's build of njs, nginx's JavaScript (package libnginx-mod-http-js). */
const jsModulePath = '/usr/lib/nginx/modules/ngx_http_js_module.so';

/** The checkout waiting room's token check, in njs (see `checkoutTokenCheck`). */
const checkoutTokenScript = fileURLToPath(new URL('../../njs/checkout-token.js', import.meta.url));

/** The checkout token check of this machine's nginx (see `checkoutTokenCheck`). */
const localTokenCheck = { jsModule: jsModulePath, script: checkoutTokenScript } as const;

/** nginx, its cache purge module and njs, from Debian's packages. */
export const nginxRequirements: readonly SystemRequirement[] = [
  { command: 'nginx', aptPackage: 'nginx' },
  { file: purgeModulePath, aptPackage: 'libnginx-mod-http-cache-purge' },
  { file: jsModulePath, aptPackage: 'libnginx-mod-http-js' },
];

/** An nginx this process runs in the foreground (`daemon off`), with its files in one folder. */
export interface RunningNginx {
  /** The folder holding nginx.conf, the cache, temp files and logs. */
  readonly dir: string;
  /** The JSON access log (one line per request: upstream, cache status, …). */
  readonly accessLog: string;
  /** Graceful stop (SIGQUIT: in-flight requests finish); resolves when nginx has exited. */
  stop(): Promise<void>;
}

/** The folders under `dir` an edge writes to. */
export function edgeDirs(dir: string): EdgeOptions['dirs'] {
  return {
    cache: join(dir, 'cache'),
    temp: join(dir, 'temp'),
    logs: join(dir, 'logs'),
    pidFile: join(dir, 'nginx.pid'),
  };
}

/** The workers' user: nginx drops root to `nobody` otherwise, who cannot write our folders. */
export function nginxUser(): string | undefined {
  return process.getuid?.() === 0 ? userInfo().username : undefined;
}

/** How this machine's nginx runs an edge kept in `dir`: its folders, the purge module, the user. */
export function localNginx(dir: string): Pick<EdgeOptions, 'dirs' | 'purgeModule' | 'user'> {
  return { dirs: edgeDirs(dir), purgeModule: purgeModulePath, user: nginxUser() };
}

/**
 * Writes `dir/nginx.conf` for `options` (and the folders it names) and checks it with
 * `nginx -t`, which names the line of a wrong directive; returns the file.
 */
export function writeNginxConfig(dir: string, options: EdgeOptions): string {
  for (const d of [options.dirs.cache, options.dirs.temp, options.dirs.logs]) {
    mkdirSync(d, { recursive: true });
  }
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxConfig(options));
  run('nginx', ['-t', '-q', '-p', dir, '-c', file]);
  return file;
}

/**
 * Starts nginx with the edge configuration `options` in `dir`, waits until it accepts
 * connections on `options.listen`, and returns a handle to stop it. A port another program
 * holds is an error before nginx starts. Given the services' environment (`serviceEnv`) and
 * a shared secret in it, the checkout waiting room checks tokens in nginx itself, with those
 * variables; otherwise it asks the catalog.
 */
export async function startNginx(
  dir: string,
  options: EdgeOptions,
  {
    move = 'give the edge other ports',
    serviceEnv = {},
  }: {
    /** How to give the edge other ports, for the error when one is taken. */
    readonly move?: string;
    /** The variables the services verify tokens with (a service's environment will do). */
    readonly serviceEnv?: Readonly<Record<string, string>> | undefined;
  } = {},
): Promise<RunningNginx> {
  const tokens = tokenEnvironment(serviceEnv);
  const config: EdgeOptions = tokens
    ? { ...options, checkoutTokenCheck: localTokenCheck }
    : options;
  mkdirSync(dir, { recursive: true });
  await stopLeftover(options.dirs.pidFile);
  keepLastRunsLogs(options);
  const [host, port] = splitListen(options.listen);
  // Checked before it starts: the readiness check below only asks whether the port answers.
  await assertPortsFree(
    [
      { host, port, what: "the edge (the shop's address)" },
      ...Object.entries(options.serviceListen ?? {}).map(([service, listen]) => {
        const [at, on] = splitListen(listen);
        return { host: at, port: on, what: `${service}'s load balancer` };
      }),
    ],
    move,
  );
  const file = writeNginxConfig(dir, config);
  const logs = edgeLogs(options);
  const out = openSync(nginxOutput(options), 'a');
  const child = spawn('nginx', ['-p', dir, '-c', file, '-g', 'daemon off;'], {
    // The token variables are exactly the service's: none of this shell's leak in.
    env: {
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          ([name]) => !(tokenVariables as readonly string[]).includes(name),
        ),
      ),
      ...tokens,
    },
    stdio: ['ignore', out, out],
    // Its own process group: Ctrl-C reaches the supervisor, which stops nginx gracefully.
    detached: true,
  });
  closeSync(out);
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${String(child.exitCode)}`);
      return isListening(port, host);
    },
    'nginx',
    10_000,
    { logFile: logs.error },
  );
  return {
    dir,
    accessLog: logs.access,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

/**
 * Each run of an edge writes its logs afresh; the previous run's are kept beside them as
 * `<name>.1` (an older one is dropped). The logs live with the edge's cache between runs, and
 * a flash sale writes megabytes: appended to forever, they had grown to 880 MB here.
 */
function keepLastRunsLogs(options: EdgeOptions): void {
  if (options.logTo !== undefined) return;
  const { access, error } = edgeLogs(options);
  for (const log of [access, error, nginxOutput(options)]) {
    if (existsSync(log)) renameSync(log, `${log}.1`);
  }
}

/** What nginx itself prints (before its error log is open, say). */
function nginxOutput(options: EdgeOptions): string {
  return join(options.dirs.logs, 'nginx.log');
}

/** An nginx of an earlier run whose supervisor died holds the ports: stop it first. */
async function stopLeftover(pidFile: string): Promise<void> {
  const pid = livePid(pidFile);
  if (pid === undefined) return;
  process.kill(pid, 'SIGQUIT');
  await until(
    () => Promise.resolve(livePid(pidFile) === undefined),
    'the previous nginx to exit',
    15_000,
  );
}

/**
 * The local edge: nginx on the edge port in front of every service's replicas, its files
 * (configuration, cache kept between runs, logs) in `.mela/edge/<edge port>`. With the
 * services' token variables (`serviceEnv`: a shared secret, as local mode's), the checkout
 * waiting room checks tokens itself; without, it asks the catalog.
 */
export function startLocalEdge(
  topology: LocalTopology,
  serviceEnv: Readonly<Record<string, string>> = {},
): Promise<RunningNginx> {
  const dir = join(stateDir, 'edge', String(topology.edge.port));
  return startNginx(dir, localEdgeOptions(topology, localNginx(dir)), {
    move: 'move the ports with MELA_EDGE_PORT and MELA_<SERVICE>_PORT',
    serviceEnv,
  });
}

/**
 * The token variables of a service environment, when nginx can check its tokens: a shared
 * secret and no identity provider (whose keys only the services fetch).
 */
function tokenEnvironment(
  serviceEnv: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  if (serviceEnv['AUTH_JWT_SECRET'] === undefined || serviceEnv['AUTH_JWKS_URL'] !== undefined)
    return undefined;
  return Object.fromEntries(
    tokenVariables.flatMap((name) => {
      const value = serviceEnv[name];
      return value === undefined ? [] : [[name, value]];
    }),
  );
}

function splitListen(listen: string): [string, number] {
  const at = listen.lastIndexOf(':');
  return [listen.slice(0, at), Number(listen.slice(at + 1))];
}
