import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  assertPortsFree,
  ensureJaeger,
  freePorts,
  isListening,
  paths,
  progress,
  repoRoot,
  runningPid,
  startDetached,
  stopChild,
  stopProcess,
  until,
} from '@mela/toolchain';
import type { LocalTopology } from '@mela/topology';
import type { Dependency } from './dependency.js';

/** Where a Jaeger listens: OTLP/HTTP in, its UI and API, and its query API's gRPC port. */
export interface JaegerListeners {
  readonly host: string;
  readonly otlpPort: number;
  readonly uiPort: number;
  readonly grpcPort: number;
}

/**
 * Mela's trace viewer, which Jaeger serves as its UI: the binary built from the Go module proxy
 * has none (Jaeger's UI assets are a git submodule, left out of the module's zip).
 */
const traceViewer = join(repoRoot, 'packages/devstack/trace-viewer');

/**
 * Jaeger's configuration for local mode (an OpenTelemetry Collector configuration): OTLP over
 * HTTP in, traces kept in memory (the newest `maxTraces`), the UI and its API out — every
 * listener on the topology's host, and nothing else (no other receiver, no own metrics port).
 */
export function jaegerConfig(listen: JaegerListeners, maxTraces = 50_000): string {
  const at = (port: number) => `${listen.host}:${String(port)}`;
  return stringify({
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: {
          receivers: ['otlp'],
          processors: ['batch'],
          exporters: ['jaeger_storage_exporter'],
        },
      },
      telemetry: {
        resource: { 'service.name': 'jaeger' },
        metrics: { level: 'none' },
        logs: { level: 'warn' },
      },
    },
    extensions: {
      jaeger_query: {
        storage: { traces: 'memory' },
        ui: { assets_path: traceViewer },
        http: { endpoint: at(listen.uiPort) },
        grpc: { endpoint: at(listen.grpcPort) },
      },
      jaeger_storage: { backends: { memory: { memory: { max_traces: maxTraces } } } },
    },
    receivers: { otlp: { protocols: { http: { endpoint: at(listen.otlpPort) } } } },
    processors: { batch: {} },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memory' } },
  });
}

/** Writes the configuration of a Jaeger listening on `listen` into `dir`; returns its path. */
function writeJaegerConfig(dir: string, listen: JaegerListeners): string {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'jaeger.yaml');
  writeFileSync(config, jaegerConfig(listen));
  return config;
}

/** Whether a Jaeger listens on `listen`'s OTLP and UI ports (both: it is ready). */
async function jaegerListening(listen: JaegerListeners): Promise<boolean> {
  const ports = [listen.otlpPort, listen.uiPort];
  return (await Promise.all(ports.map((port) => isListening(port, listen.host)))).every(Boolean);
}

/** The Jaeger UI (and its HTTP API, `/api/traces`) of the local stack. */
export function jaegerUrl(topology: LocalTopology): string {
  return `http://${topology.host}:${String(topology.jaeger.uiPort)}`;
}

/** Jaeger all-in-one (built from the Go module proxy), its traces in memory. */
export function jaegerDependency(topology: LocalTopology): Dependency {
  const name = 'jaeger';
  const listen = { host: topology.host, ...topology.jaeger };
  const { otlpPort, uiPort } = listen;
  const listening = () => jaegerListening(listen);
  return {
    name,
    async up() {
      if (runningPid(name) !== undefined && (await listening())) return;
      await assertPortsFree(
        [
          { host: topology.host, port: otlpPort, what: "Jaeger's OTLP" },
          { host: topology.host, port: uiPort, what: "Jaeger's UI" },
        ],
        'move them with MELA_JAEGER_OTLP_PORT and MELA_JAEGER_UI_PORT',
      );
      const binary = ensureJaeger();
      const config = writeJaegerConfig(paths.data(name), listen);
      progress(`starting Jaeger (traces: ${jaegerUrl(topology)})`);
      startDetached(name, binary, ['--config', config]);
      await until(listening, 'Jaeger', 20_000, { logFile: paths.log(name) });
    },
    async down() {
      if (await stopProcess(name)) progress('stopped Jaeger');
    },
    async status() {
      const pid = runningPid(name);
      return {
        name,
        endpoint: `${jaegerUrl(topology)} (OTLP on ${String(otlpPort)})`,
        pid,
        running: pid !== undefined && (await listening()),
      };
    },
  };
}

export interface RunningJaeger {
  /** Its UI and HTTP API (`/api/traces/<id>`). */
  readonly url: string;
  /** The OTLP/HTTP base URL to send spans to (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly otlpEndpoint: string;
  stop(): Promise<void>;
}

/** A Jaeger of one's own (a test's) on free loopback ports, its files in `dir`. */
export async function startJaeger(dir: string): Promise<RunningJaeger> {
  const binary = ensureJaeger();
  const [otlpPort = 0, uiPort = 0, grpcPort = 0] = await freePorts(3);
  const listen = { host: '127.0.0.1', otlpPort, uiPort, grpcPort };
  const config = writeJaegerConfig(dir, listen);
  const log = join(dir, 'jaeger.log');
  const out = openSync(log, 'a');
  const child = spawn(binary, ['--config', config], { stdio: ['ignore', out, out] });
  closeSync(out);
  const url = `http://127.0.0.1:${String(uiPort)}`;
  const stop = () => stopChild(child);
  try {
    await until(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`jaeger exited with ${String(child.exitCode)}`);
        return jaegerListening(listen);
      },
      'Jaeger',
      20_000,
      { logFile: log },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, otlpEndpoint: `http://127.0.0.1:${String(otlpPort)}`, stop };
}
