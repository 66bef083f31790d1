import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controlPlaneCredentials,
  ensureKubeBinaries,
  etcdArgs,
  kubeApiserverArgs,
} from '@mela/toolchain';
import { httpRequest } from '@mela/toolchain';
import { deadPorts } from './network.js';
import { stopChild } from '@mela/toolchain';
import { until } from './wait.js';

/** A Kubernetes object as a manifest holds it. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** What the API server answered when it refused a request (its Status message). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A real kube-apiserver over a real etcd, of the test's own: no nodes, no controllers. */
export interface OwnKubeApi {
  /** `https://127.0.0.1:<port>` (a self-signed certificate). */
  readonly server: string;
  /** A bearer token of `system:masters`. */
  readonly token: string;
  /**
   * Server-side apply of the object exactly as given (`kubectl apply --server-side --force-conflicts`);
   * rejects with a {@link KubeApiError} carrying the API's message.
   */
  apply(object: KubeObject): Promise<Record<string, unknown>>;
  /** The object as stored (GET), or a {@link KubeApiError}. */
  read(object: KubeObject): Promise<Record<string, unknown>>;
  /** Every `Warning` the API answered with so far (Pod Security's among them), in order. */
  readonly warnings: readonly string[];
  /** What each process wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** One request to the API server as its `system:masters` user (the certificate is self-signed). */
async function call(
  server: string,
  token: string,
  method: string,
  path: string,
  body?: { readonly text: string; readonly type: string },
): Promise<{ status: number; text: string; warnings: string[] }> {
  const answer = await httpRequest(`${server}${path}`, {
    method,
    insecure: true,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body ? { 'content-type': body.type } : {}),
    },
    ...(body ? { body: body.text } : {}),
  });
  const warning = answer.headers['warning'];
  return {
    status: answer.status,
    text: answer.body,
    warnings: warning === undefined ? [] : [warning].flat(),
  };
}

/** Server-side apply and reads against one API server, finding resources by discovery. */
function kubeClient(server: string, token: string) {
  const warnings: string[] = [];
  const discovered = new Map<
    string,
    Promise<{ name: string; kind: string; namespaced: boolean }[]>
  >();
  const resources = (apiVersion: string) => {
    let found = discovered.get(apiVersion);
    if (found === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      found = call(server, token, 'GET', path).then(({ status, text }) => {
        if (status !== 200) throw new KubeApiError(status, `no API ${apiVersion}: ${text}`);
        return (
          JSON.parse(text) as { resources: { name: string; kind: string; namespaced: boolean }[] }
        ).resources;
      });
      discovered.set(apiVersion, found);
      found.catch(() => discovered.delete(apiVersion));
    }
    return found;
  };
  const pathOf = async (object: KubeObject) => {
    const resource = (await resources(object.apiVersion)).find(
      (r) => r.kind === object.kind && !r.name.includes('/'),
    );
    if (resource === undefined)
      throw new KubeApiError(404, `the API serves no ${object.kind} in ${object.apiVersion}`);
    const base = object.apiVersion.includes('/')
      ? `/apis/${object.apiVersion}`
      : `/api/${object.apiVersion}`;
    const namespace = resource.namespaced
      ? `/namespaces/${object.metadata.namespace ?? 'default'}`
      : '';
    return `${base}${namespace}/${resource.name}/${encodeURIComponent(object.metadata.name)}`;
  };
  const answer = ({ status, text }: { status: number; text: string }) => {
    const parsed = JSON.parse(text || '{}') as Record<string, unknown>;
    const message = parsed['message'];
    if (status >= 400) throw new KubeApiError(status, typeof message === 'string' ? message : text);
    return parsed;
  };
  return {
    warnings,
    async apply(object: KubeObject) {
      const path = `${await pathOf(object)}?fieldManager=mela-test&force=true`;
      const result = await call(server, token, 'PATCH', path, {
        text: JSON.stringify(object),
        type: 'application/apply-patch+yaml',
      });
      warnings.push(...result.warnings.map((w) => `${object.kind}/${object.metadata.name}: ${w}`));
      return answer(result);
    },
    async read(object: KubeObject) {
      return answer(await call(server, token, 'GET', await pathOf(object)));
    },
  };
}

/**
 * Starts etcd and kube-apiserver (built from the Go module proxy by the devstack) on free
 * ports in a temporary folder, and waits until the API server says it is ready.
 */
export async function startOwnKubeApi(): Promise<OwnKubeApi> {
  const binaries = ensureKubeBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'mela-kube-'));
  const [etcdPort = 0, peerPort = 0, apiPort = 0] = await deadPorts(3);
  const credentials = controlPlaneCredentials(dir);
  const { token } = credentials;
  let output = '';
  const keep = (name: string) => (chunk: Buffer) => {
    output = `${output}${chunk.toString().replace(/^/gm, `[${name}] `)}`.slice(-30_000);
  };
  const children: ChildProcess[] = [];
  const launch = (name: string, command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', keep(name));
    child.stderr.on('data', keep(name));
    children.push(child);
    return child;
  };
  launch('etcd', binaries.etcd, etcdArgs(dir, etcdPort, peerPort));
  const apiserver = launch(
    'kube-apiserver',
    binaries.kubeApiserver,
    kubeApiserverArgs({ dir, etcdPort, port: apiPort, credentials }),
  );
  const server = `https://127.0.0.1:${String(apiPort)}`;
  // Throwaway servers: killed, not drained (a graceful kube-apiserver shutdown takes a minute).
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (apiserver.exitCode !== null) throw new Error(`kube-apiserver exited:\n${output}`);
        const ready = await call(server, token, 'GET', '/readyz').catch(() => undefined);
        return ready?.text === 'ok';
      },
      'kube-apiserver to be ready',
      60_000,
    );
  } catch (error) {
    await stop();
    throw new Error(`${String(error)}\n${output}`, { cause: error });
  }
  return { server, token, ...kubeClient(server, token), output: () => output, stop };
}
