import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  KubernetesObjectApi,
  PatchStrategy,
  type CoreV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, repoRoot } from './paths.js';
import { fillAtomically, goBuild, hasCommand, progress, run } from './processes.js';

/** The Kubernetes release the real-API tests run (and its etcd, as Kubernetes pins it). */
export const kubeVersion = 'v1.37.2';

/** Where the control plane's binaries are, once built. */
export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubectl: string;
  readonly etcd: string;
}

const targets = [
  { binary: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { binary: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager' },
  { binary: 'kube-scheduler', pkg: 'k8s.io/kubernetes/cmd/kube-scheduler' },
  { binary: 'kubelet', pkg: 'k8s.io/kubernetes/cmd/kubelet' },
  { binary: 'kube-proxy', pkg: 'k8s.io/kubernetes/cmd/kube-proxy' },
  { binary: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
  { binary: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
] as const;

/** So that the Kubernetes binaries report their release (`kubelet --version`, the node's info). */
function versionFlags(): string {
  const [major = '', minor = ''] = kubeVersion.slice(1).split('.');
  const base = 'k8s.io/component-base/version';
  return [
    `-X ${base}.gitVersion=${kubeVersion}`,
    `-X ${base}.gitMajor=${major}`,
    `-X ${base}.gitMinor=${minor}`,
    `-X ${base}.gitTreeState=clean`,
  ].join(' ');
}

/**
 * Builds the Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
 * kubelet, kube-proxy, kubectl) and etcd from the Go module proxy with `infra/kube-binaries`
 * (once: ~12 minutes on two cores with a cold Go build cache, seconds with a warm one; cached in
 * `.mela/cache/kube-<version>/bin`), and returns their paths.
 */
export function ensureKubeBinaries(): KubeBinaries {
  const bin = join(paths.cache(`kube-${kubeVersion}`), 'bin');
  const at = (binary: string) => join(bin, binary);
  const missing = targets.filter((t) => !existsSync(at(t.binary)));
  if (missing.length > 0) {
    if (!hasCommand('go')) {
      throw new Error('building the Kubernetes binaries needs Go ≥ 1.26 (the go command) on PATH');
    }
    mkdirSync(bin, { recursive: true });
    const module = join(repoRoot, 'infra/kube-binaries');
    for (const { binary, pkg } of missing) {
      progress(`building ${binary} (${pkg}) from the Go module proxy — once, a few minutes`);
      const ldflags = pkg.startsWith('k8s.io/') ? `-s -w ${versionFlags()}` : '-s -w';
      goBuild(module, pkg, at(binary), ldflags);
    }
  }
  return {
    kubeApiserver: at('kube-apiserver'),
    kubeControllerManager: at('kube-controller-manager'),
    kubeScheduler: at('kube-scheduler'),
    kubelet: at('kubelet'),
    kubeProxy: at('kube-proxy'),
    kubectl: at('kubectl'),
    etcd: at('etcd'),
  };
}

/** The Helm release the chart is checked with (`helm lint`, `helm template`). */
export const helmVersion = 'v3.22.0';

/** kwok, which runs the simulated cluster's fake nodes and pods. */
export const kwokVersion = 'v0.8.0';

/**
 * A Go program built with `go install module/cmd@version` (once; cached in
 * `.mela/cache/<name>-<version>/bin`), its path returned.
 */
export function ensureGoTool(name: string, pkg: string, version: string, minutes: string): string {
  const bin = join(paths.cache(`${name}-${version}`), 'bin');
  const binary = join(bin, name);
  if (existsSync(binary)) return binary;
  if (!hasCommand('go')) throw new Error(`building ${name} needs Go (the go command) on PATH`);
  progress(`building ${name} ${version} from the Go module proxy — once, ${minutes}`);
  fillAtomically(bin, (staging) => {
    mkdirSync(staging, { recursive: true });
    run('go', ['install', '-trimpath', '-ldflags', '-s -w', `${pkg}@${version}`], {
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: staging },
    });
    // `go install` names the binary after the package's last element (`…/cmd` → `cmd`).
    const installed = join(staging, pkg.split('/').at(-1) ?? name);
    if (installed !== join(staging, name)) renameSync(installed, join(staging, name));
  });
  return binary;
}

/** The `helm` command, built from the Go module proxy. */
export function ensureHelm(): string {
  return ensureGoTool('helm', 'helm.sh/helm/v3/cmd/helm', helmVersion, 'about a minute');
}

/** The `kwok` controller, built from the Go module proxy. */
export function ensureKwok(): string {
  return ensureGoTool('kwok', 'sigs.k8s.io/kwok/cmd/kwok', kwokVersion, 'about a minute');
}

/**
 * What a throwaway control plane in `dir` authenticates with: a service-account signing key
 * and a bearer token of `system:masters` (a static token file).
 */
export function controlPlaneCredentials(
  dir: string,
  /** More users of the token file, e.g. a node's `system:node:<name>` in `system:nodes`. */
  users: readonly { readonly name: string; readonly group: string }[] = [],
): {
  readonly token: string;
  readonly keyFile: string;
  readonly tokenFile: string;
  /** Each of `users`' tokens, by name. */
  readonly tokens: Readonly<Record<string, string>>;
} {
  const token = randomBytes(24).toString('hex');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'service-accounts.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  const tokens = Object.fromEntries(users.map((u) => [u.name, randomBytes(24).toString('hex')]));
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    [
      `${token},mela-admin,mela-admin,system:masters`,
      ...users.map((u) => `${tokens[u.name] ?? ''},${u.name},${u.name},${u.group}`),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { token, keyFile, tokenFile, tokens };
}

/** A single-member etcd on loopback, its data in `dir/etcd`, fsync off (throwaway). */
export function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${String(clientPort)}`;
  const peer = `http://127.0.0.1:${String(peerPort)}`;
  return [
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--unsafe-no-fsync',
  ];
}

/**
 * kube-apiserver over that etcd, with the credentials above: on loopback with RBAC, or on
 * `bindAddress` with the authorizers given (a real node needs `Node,RBAC`).
 */
export function kubeApiserverArgs(options: {
  readonly dir: string;
  readonly etcdPort: number;
  readonly port: number;
  readonly credentials: { readonly keyFile: string; readonly tokenFile: string };
  /** @default 127.0.0.1 */
  readonly bindAddress?: string;
  /** @default RBAC */
  readonly authorizationModes?: readonly string[];
  /** @default 10.96.0.0/16 */
  readonly serviceCidr?: string;
  readonly extra?: readonly string[];
}): string[] {
  const { keyFile, tokenFile } = options.credentials;
  return [
    `--etcd-servers=http://127.0.0.1:${String(options.etcdPort)}`,
    `--bind-address=${options.bindAddress ?? '127.0.0.1'}`,
    `--secure-port=${String(options.port)}`,
    `--cert-dir=${join(options.dir, 'certs')}`,
    `--token-auth-file=${tokenFile}`,
    `--authorization-mode=${(options.authorizationModes ?? ['RBAC']).join(',')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${keyFile}`,
    `--service-account-signing-key-file=${keyFile}`,
    `--service-cluster-ip-range=${options.serviceCidr ?? '10.96.0.0/16'}`,
    ...(options.extra ?? []),
  ];
}

/** A manifest as plain data (client-node's types want class instances; the API wants JSON). */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<
    string,
    unknown
  >;
  readonly [field: string]: unknown;
}

/** Server-side apply (field manager `mela`, conflicts forced) of each object, in order. */
export async function applyServerSide(
  config: KubeConfig,
  objects: readonly Manifest[],
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(config);
  for (const object of objects) {
    await api.patch(object, undefined, undefined, 'mela', true, PatchStrategy.ServerSideApply);
  }
}

/**
 * True once the API server answers and can give Services their IPs, for start-up waits: it has
 * created its own `kubernetes` Service. Just after start the Service IP allocator's range may
 * not be ready yet, and a Service applied then is refused with "failed to allocate a serviceIP:
 * range is full" (a fresh-clone CI run met it in the simulated cluster).
 */
export async function apiServerAnswers(core: CoreV1Api): Promise<boolean> {
  try {
    await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    return true;
  } catch {
    return false;
  }
}
