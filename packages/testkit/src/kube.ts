import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKubeBinaries } from '@mela/devstack';
import { deadPort } from './network.js';
import { stopChild } from './process.js';
import { until } from './wait.js';

/** A real kube-apiserver over a real etcd, of the test's own: no nodes, no controllers. */
export interface OwnKubeApi {
  /** `https://127.0.0.1:<port>` (a self-signed certificate). */
  readonly server: string;
  /** A bearer token of `system:masters`. */
  readonly token: string;
  /** What each process wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

function readyz(server: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', () => resolve(''));
    req.end();
  });
}

/**
 * Starts etcd and kube-apiserver (built from the Go module proxy by the devstack) on free
 * ports in a temporary folder, and waits until the API server says it is ready.
 */
export async function startOwnKubeApi(): Promise<OwnKubeApi> {
  const binaries = ensureKubeBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'mela-kube-'));
  const [etcdPort, peerPort, apiPort] = [await deadPort(), await deadPort(), await deadPort()];
  const token = randomBytes(24).toString('hex');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'service-accounts.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${token},mela-test,mela-test,system:masters\n`);
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
  const etcdUrl = `http://127.0.0.1:${String(etcdPort)}`;
  launch('etcd', binaries.etcd, [
    '--data-dir',
    join(dir, 'etcd'),
    '--listen-client-urls',
    etcdUrl,
    '--advertise-client-urls',
    etcdUrl,
    '--listen-peer-urls',
    `http://127.0.0.1:${String(peerPort)}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${String(peerPort)}`,
    '--initial-cluster',
    `default=http://127.0.0.1:${String(peerPort)}`,
    '--unsafe-no-fsync',
  ]);
  const apiserver = launch('kube-apiserver', binaries.kubeApiserver, [
    '--etcd-servers',
    etcdUrl,
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    String(apiPort),
    '--cert-dir',
    join(dir, 'certs'),
    '--token-auth-file',
    tokenFile,
    '--authorization-mode',
    'RBAC',
    '--service-account-issuer',
    'https://kubernetes.default.svc',
    '--service-account-key-file',
    keyFile,
    '--service-account-signing-key-file',
    keyFile,
    '--service-cluster-ip-range',
    '10.96.0.0/16',
  ]);
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
        return (await readyz(server, token)) === 'ok';
      },
      'kube-apiserver to be ready',
      60_000,
    );
  } catch (error) {
    await stop();
    throw new Error(`${String(error)}\n${output}`, { cause: error });
  }
  return { server, token, output: () => output, stop };
}
