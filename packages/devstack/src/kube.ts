import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { paths, repoRoot } from './paths.js';
import { hasCommand, progress, run } from './processes.js';

/** The Kubernetes release the real-API tests run (and its etcd, as Kubernetes pins it). */
export const kubeVersion = 'v1.37.2';

/** Where `kube-apiserver` and `etcd` are, once built. */
export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
}

const targets = [
  { binary: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { binary: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
] as const;

/**
 * Builds kube-apiserver and etcd from the Go module proxy with `infra/kube-binaries` (once, ~5
 * minutes on two cores; cached in `.mela/cache/kube-<version>/bin`), and returns their paths.
 */
export function ensureKubeBinaries(): KubeBinaries {
  const bin = join(paths.cache(`kube-${kubeVersion}`), 'bin');
  const at = (binary: string) => join(bin, binary);
  const missing = targets.filter((t) => !existsSync(at(t.binary)));
  if (missing.length > 0) {
    if (!hasCommand('go')) {
      throw new Error('building kube-apiserver and etcd needs Go ≥ 1.26 (the go command) on PATH');
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
  return { kubeApiserver: at('kube-apiserver'), etcd: at('etcd') };
}

/** The Helm release the chart is checked with (`helm lint`, `helm template`). */
export const helmVersion = 'v3.22.0';

/**
 * Builds the `helm` command from the Go module proxy (once, about a minute; cached in
 * `.mela/cache/helm-<version>/bin`) and returns its path.
 */
export function ensureHelm(): string {
  const bin = join(paths.cache(`helm-${helmVersion}`), 'bin');
  const helm = join(bin, 'helm');
  if (existsSync(helm)) return helm;
  if (!hasCommand('go')) throw new Error('building helm needs Go (the go command) on PATH');
  progress(`building helm ${helmVersion} from the Go module proxy — once, about a minute`);
  const partial = join(bin, 'partial');
  mkdirSync(partial, { recursive: true });
  run(
    'go',
    ['install', '-trimpath', '-ldflags', '-s -w', `helm.sh/helm/v3/cmd/helm@${helmVersion}`],
    {
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: partial },
    },
  );
  renameSync(join(partial, 'helm'), helm);
  return helm;
}
