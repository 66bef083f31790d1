import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { paths } from './paths.js';

/** Prints one progress line (stderr keeps stdout clean for machine-readable output). */
export function progress(message: string): void {
  process.stderr.write(`[mela] ${message}\n`);
}

/**
 * True when something accepts connections on host:port (TCP), or on `at` when it is a path (a
 * unix socket).
 */
export function isListening(at: number | string, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = typeof at === 'string' ? connect({ path: at }) : connect({ port: at, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port a server is about to listen on, and what listens there in words (for the error). */
export interface WantedPort {
  readonly host: string;
  readonly port: number;
  readonly what: string;
}

/**
 * Rejects, naming each one, when any of `ports` already accepts connections: another program
 * holds it, so the server about to start there could not listen, and a readiness check on the
 * port would be answered by the other program. `move` says how to give Mela other ports.
 */
export async function assertPortsFree(ports: readonly WantedPort[], move: string): Promise<void> {
  const taken = (
    await Promise.all(
      ports.map(async (wanted) => ((await isListening(wanted.port, wanted.host)) ? [wanted] : [])),
    )
  ).flat();
  if (taken.length === 0) return;
  throw new Error(
    [
      `${taken.length === 1 ? 'a port Mela needs is' : 'ports Mela needs are'} taken by another program:`,
      ...taken.map(({ host, port, what }) => `  ${host}:${String(port)}  ${what}`),
      `Stop that program, or ${move}.`,
    ].join('\n'),
  );
}

/** The lowest port of the kernel's ephemeral range: what it hands out as source ports. */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/);
    return Number(low) || 32_768;
  } catch {
    return 32_768;
  }
}

/** Where {@link freePorts} picks: above every port the local topology fixes. */
const pickedFrom = 20_000;

/** Binds `port` on loopback: the server, or undefined when something holds the port. */
async function bound(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * `count` different loopback ports nothing listens on now, for servers that need several: held
 * open together while they are picked (one after another, the kernel may hand out a port it
 * just gave — a kube-apiserver once got etcd's peer port). They are picked at random below the
 * kernel's ephemeral range, not by binding port 0: between the pick and the server's own bind,
 * an outgoing connection could take an ephemeral port as its source port (a test's service
 * once failed to start so, `EADDRINUSE`), and never takes one of these.
 */
export async function freePorts(count: number): Promise<number[]> {
  const below = ephemeralLow();
  const servers: Server[] = [];
  const tried = new Set<number>();
  while (servers.length < count) {
    if (tried.size >= 1000 || below - pickedFrom < 1000)
      throw new Error(
        `no ${String(count)} free ports in ${String(pickedFrom)}–${String(below - 1)}`,
      );
    const port = pickedFrom + Math.floor(Math.random() * (below - pickedFrom));
    if (tried.has(port)) continue;
    tried.add(port);
    const server = await bound(port);
    if (server) servers.push(server);
  }
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(
    servers.map(async (server) => {
      server.close();
      await once(server, 'close');
    }),
  );
  return ports;
}

/** One loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/**
 * `server` (a test's stand-in replica, say) listening on a loopback port the kernel picks: its
 * `host:port`, and how to close it.
 */
export async function onLoopback(
  server: Server,
): Promise<{ readonly address: string; readonly close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${String(port)}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What to show when a wait times out. */
export interface UntilOptions {
  /** The log whose last lines explain why (a server that did not come up). */
  readonly logFile?: string;
  /** More to say, read when the wait fails (a process's recent output). */
  readonly context?: () => string;
  /** Poll at this fixed interval instead of backing off from 10 ms to 250 ms. */
  readonly pollMs?: number;
}

/**
 * Polls `condition` until it holds (the one polling helper: servers, clusters and tests),
 * failing with `what` after `timeoutMs` — no fixed sleeps. Polls every 10 ms at first, backing
 * off to 250 ms (or every `pollMs`).
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  options: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const next = (wait: number) => options.pollMs ?? Math.min(wait * 2, 250);
  for (let wait = options.pollMs ?? 10; Date.now() < deadline; wait = next(wait)) {
    if (await condition()) return;
    await delay(Math.min(wait, Math.max(1, deadline - Date.now())));
  }
  // Once more after the deadline: a synchronous step elsewhere (a database initialising its
  // data directory) can hold the event loop past it without the condition having had a turn.
  if (await condition()) return;
  const log =
    options.logFile === undefined ? '' : `; see ${options.logFile}:\n${tail(options.logFile, 15)}`;
  const context = options.context === undefined ? '' : `\n${options.context()}`;
  throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}${log}${context}`);
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

/** The pid a pid file holds, if that process is still alive. */
export function livePid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** The pid recorded for a named server, if that process is still alive. */
export function runningPid(name: string): number | undefined {
  return livePid(paths.pid(name));
}

/**
 * Starts `command` in its own process group as `name`: its output appended to
 * `.mela/logs/<name>.log` (it writes the file itself, nothing is copied through this process)
 * and its pid in `.mela/run/<name>.pid`. The child stays referenced, for a caller that watches
 * it exit.
 */
export function spawnLogged(
  name: string,
  command: string,
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {},
): ChildProcess {
  const logFile = paths.log(name);
  mkdirSync(dirname(logFile), { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (child.pid !== undefined) writeFileSync(paths.pid(name), `${String(child.pid)}\n`);
    return child;
  } finally {
    closeSync(out);
  }
}

/**
 * Starts a long-running server in its own process group, detached from this process, with
 * its output appended to `.mela/logs/<name>.log` and its pid in `.mela/run/<name>.pid`.
 */
export function startDetached(
  name: string,
  command: string,
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {},
): number {
  const child = spawnLogged(name, command, args, options);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  return child.pid;
}

/** SIGTERM, then SIGKILL after `graceMs`; removes the pid file. */
export async function stopProcess(name: string, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(name);
  rmSync(paths.pid(name), { force: true });
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await delay(100);
  }
  process.kill(pid, 'SIGKILL');
  return true;
}

/**
 * Makes `dir` by letting `fill` write a sibling `<dir>.partial`, then renaming it: an
 * interrupted download leaves no half-made folder that a later run would take as done.
 */
export function fillAtomically(dir: string, fill: (staging: string) => void): void {
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  fill(staging);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

/** Copies a Maven project's runtime dependencies (from Maven Central) into `dir`, atomically. */
export function copyMavenDependencies(
  pom: string,
  dir: string,
  properties: Readonly<Record<string, string>>,
): void {
  fillAtomically(dir, (staging) => {
    run('mvn', [
      '-q',
      '-B',
      '-f',
      pom,
      ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${staging}`,
      '-DincludeScope=runtime',
    ]);
  });
}

/** Runs a command to completion, inheriting nothing but returning its output; throws on failure. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): string {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    cwd: options.cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${String(result.status)}:\n${result.stderr}${result.stdout}`.trimEnd(),
    );
  }
  return result.stdout;
}

/**
 * The accept backlog of what listens on TCP `port`, as the kernel holds it: what the listener
 * asked for, capped at net.core.somaxconn (`ss` shows it as a listening socket's Send-Q).
 */
export function acceptBacklog(port: number): number {
  const lines = run('ss', ['-Hltn', `sport = :${String(port)}`])
    .trim()
    .split('\n');
  const backlogs = lines.map((line) => Number(line.trim().split(/\s+/)[2]));
  if (lines[0] === '' || backlogs.some((b) => !Number.isInteger(b)))
    throw new Error(`nothing listens on TCP port ${String(port)} (ss: ${lines.join(' | ')})`);
  return Math.min(...backlogs);
}

/** The backlog the kernel holds for a listener that asks for `asked`: capped at net.core.somaxconn. */
export function heldBacklog(asked: number): number {
  return Math.min(asked, Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')));
}

/** True when `command` is on PATH (or is an existing absolute path). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Resolves on the first SIGINT, SIGTERM or SIGHUP: a foreground command's "until Ctrl-C". A
 * closed terminal sends SIGHUP: without it the command died at once and left what it had
 * started running in process groups of their own (the replicas, nginx, Prometheus), holding
 * their ports. After a hang-up nobody reads the output, so writing it may fail; that must not
 * stop the clean-up.
 */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    process.once('SIGHUP', () => {
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
      resolve();
    });
  });
}

/**
 * Builds `pkg` as a static binary at `binary` with the Go module in `module` (its go.mod pins
 * the versions), through a partial file: a build cut short leaves no binary behind.
 */
export function goBuild(module: string, pkg: string, binary: string, ldflags = '-s -w'): void {
  const partial = `${binary}.partial`;
  run('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', partial, pkg], {
    cwd: module,
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  renameSync(partial, binary);
}
