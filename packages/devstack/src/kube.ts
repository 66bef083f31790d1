import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { paths, repoRoot } from './paths.js';
import { hasCommand, progress, run } from './processes.js';

/** The Kubernetes release the real-API tests run (and its etcd, as Kubernetes pins it). */
export const kubeVersion = 'v1.37.2';

/** Where the control plane's binaries are, once built. */
export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly etcd: string;
}

const targets = [
  { binary: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { binary: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager' },
  { binary: 'kube-scheduler', pkg: 'k8s.io/kubernetes/cmd/kube-scheduler' },
  { binary: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
] as const;

/**
 * Builds kube-apiserver, kube-controller-manager, kube-scheduler and etcd from the Go module
 * proxy with `infra/kube-binaries` (once, ~8 minutes on two cores; cached in
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
      const partial = `${at(binary)}.partial`;
      run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', partial, pkg], {
        cwd: module,
        env: { ...process.env, CGO_ENABLED: '0' },
      });
      renameSync(partial, at(binary));
    }
  }
  return {
    kubeApiserver: at('kube-apiserver'),
    kubeControllerManager: at('kube-controller-manager'),
    kubeScheduler: at('kube-scheduler'),
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
function ensureGoTool(name: string, pkg: string, version: string, minutes: string): string {
  const bin = join(paths.cache(`${name}-${version}`), 'bin');
  const binary = join(bin, name);
  if (existsSync(binary)) return binary;
  if (!hasCommand('go')) throw new Error(`building ${name} needs Go (the go command) on PATH`);
  progress(`building ${name} ${version} from the Go module proxy — once, ${minutes}`);
  const partial = join(bin, 'partial');
  mkdirSync(partial, { recursive: true });
  run('go', ['install', '-trimpath', '-ldflags', '-s -w', `${pkg}@${version}`], {
    env: { ...process.env, CGO_ENABLED: '0', GOBIN: partial },
  });
  renameSync(join(partial, name), binary);
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
