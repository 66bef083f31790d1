import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, run } from './processes.js';

/**
 * The operators' CustomResourceDefinitions the manifests use, taken from their projects' Go
 * modules as the Go module proxy serves them (never written by hand): pinned module versions
 * and the CRD files inside them.
 */
export const operatorCrds = [
  {
    operator: 'Gateway API (Envoy Gateway implements it)',
    module: 'sigs.k8s.io/gateway-api',
    version: 'v1.6.3',
    files: [
      'config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml',
      'config/crd/standard/gateway.networking.k8s.io_gateways.yaml',
      'config/crd/standard/gateway.networking.k8s.io_httproutes.yaml',
      'config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml',
    ],
  },
  {
    operator: 'KEDA',
    module: 'github.com/kedacore/keda/v2',
    version: 'v2.21.0',
    files: [
      'config/crd/bases/keda.sh_scaledobjects.yaml',
      'config/crd/bases/keda.sh_triggerauthentications.yaml',
    ],
  },
  {
    operator: 'Prometheus Operator (kube-prometheus-stack)',
    module: 'github.com/prometheus-operator/prometheus-operator',
    version: 'v0.85.0',
    files: [
      'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml',
      'example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml',
    ],
  },
] as const;

/** Downloads the pinned modules (once; the Go module cache keeps them) and returns the CRD files. */
export function ensureCrds(): string[] {
  if (!hasCommand('go'))
    throw new Error('fetching the operators’ CRDs needs the go command on PATH');
  return operatorCrds.flatMap(({ module, version, files }) => {
    const info = JSON.parse(
      run('go', ['mod', 'download', '-json', `${module}@${version}`], {
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      }),
    ) as { Dir?: string; Error?: string };
    if (info.Dir === undefined)
      throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no folder'}`);
    const dir = info.Dir;
    return files.map((file) => {
      const path = join(dir, file);
      if (!existsSync(path)) throw new Error(`${module}@${version} has no ${file}`);
      return path;
    });
  });
}
