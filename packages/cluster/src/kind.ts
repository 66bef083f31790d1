import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  goModuleFile,
  hasCommand,
  progress,
  repoRoot,
  vitessOperatorSource,
} from '@mela/toolchain';

/** The kind cluster's name (infra/kind.yaml) and its kubectl context. */
export const kindCluster = { name: 'mela', context: 'kind-mela' } as const;

/** An operator `cluster:up` installs with Helm, pinned. */
export interface ClusterOperator {
  readonly name: string;
  /** What the operator is for, as the README says it. */
  readonly purpose: string;
  readonly chart: string;
  /** The chart repository; none for an OCI chart. */
  readonly repo?: string;
  readonly version: string;
  readonly namespace: string;
  readonly values?: readonly string[];
  /** The API groups of the custom resources it serves. */
  readonly provides: readonly string[];
  /**
   * The version of the operator the chart installs, where it is not the chart's own version:
   * the CRDs the manifests are checked against must be that operator's.
   */
  readonly operatorVersion?: string;
}

/** The operators the manifests rely on, in install order, each pinned. */
export const clusterOperators: readonly ClusterOperator[] = [
  {
    name: 'metrics-server',
    purpose: 'CPU and memory of pods for the HorizontalPodAutoscalers',
    chart: 'metrics-server',
    repo: 'https://kubernetes-sigs.github.io/metrics-server/',
    version: '3.13.1',
    namespace: 'kube-system',
    // kind's kubelets serve self-signed certificates.
    values: ['--set', 'args={--kubelet-insecure-tls}'],
    provides: ['metrics.k8s.io'],
  },
  {
    name: 'strimzi',
    purpose:
      'runs Kafka, its topics and users from the Kafka, KafkaNodePool, KafkaTopic and KafkaUser resources',
    chart: 'oci://quay.io/strimzi-helm/strimzi-kafka-operator',
    version: '1.2.0',
    namespace: 'strimzi',
    // Kafka's pods as Pod Security `restricted` admits them (Mela's namespace enforces it).
    values: [
      '--set',
      'watchAnyNamespace=true',
      '--set',
      'extraEnvs[0].name=STRIMZI_POD_SECURITY_PROVIDER_CLASS',
      '--set',
      'extraEnvs[0].value=restricted',
    ],
    provides: ['kafka.strimzi.io'],
  },
  {
    name: 'envoy-gateway',
    purpose: 'implements the Gateway API: the Gateway and HTTPRoutes in front of the services',
    chart: 'oci://docker.io/envoyproxy/gateway-helm',
    version: 'v1.9.1',
    namespace: 'envoy-gateway-system',
    provides: ['gateway.networking.k8s.io', 'gateway.envoyproxy.io'],
  },
  {
    name: 'keda',
    purpose: 'scales the notification consumers on their Kafka lag (ScaledObject)',
    chart: 'keda',
    repo: 'https://kedacore.github.io/charts',
    version: '2.21.0',
    namespace: 'keda',
    provides: ['keda.sh'],
  },
  {
    name: 'kube-prometheus-stack',
    purpose: 'Prometheus (reads the ServiceMonitors), Grafana, kube-state-metrics, alerting',
    chart: 'kube-prometheus-stack',
    repo: 'https://prometheus-community.github.io/helm-charts',
    version: '81.6.2',
    // The 81.x charts install Prometheus Operator v0.88.0 (81.0.0 moved to it,
    // prometheus-community/helm-charts#6489; v0.89.0 came with 82.0.0).
    operatorVersion: 'v0.88.0',
    namespace: 'monitoring',
    values: ['-f', join(repoRoot, 'infra/cluster/kube-prometheus-stack.values.yaml')],
    provides: ['monitoring.coreos.com'],
  },
  {
    name: 'jaeger',
    purpose:
      'Jaeger v2 (an OpenTelemetry Collector with Jaeger’s storage and UI): receives the services’ OTLP spans, Grafana’s trace data source',
    chart: 'jaeger',
    repo: 'https://jaegertracing.github.io/helm-charts',
    // Jaeger 2.20.0 (the chart's appVersion), all-in-one, traces in memory.
    version: '4.13.0',
    namespace: 'observability',
    values: ['-f', join(repoRoot, 'infra/cluster/jaeger.values.yaml')],
    provides: [],
  },
  {
    name: 'prometheus-adapter',
    purpose:
      'serves the http_requests_per_second pods metric the HorizontalPodAutoscalers scale on, from Prometheus',
    chart: 'prometheus-adapter',
    repo: 'https://prometheus-community.github.io/helm-charts',
    version: '5.2.0',
    namespace: 'monitoring',
    values: ['-f', join(repoRoot, 'infra/cluster/prometheus-adapter.values.yaml')],
    provides: ['custom.metrics.k8s.io'],
  },
  {
    name: 'k6-operator',
    purpose: 'runs k6 load tests in the cluster (TestRun)',
    chart: 'k6-operator',
    repo: 'https://grafana.github.io/helm-charts',
    version: '4.6.0',
    namespace: 'k6-operator-system',
    provides: ['k6.io'],
  },
];

/**
 * The Vitess operator, for the `dev-vitess` environment (`cluster:up -- --vitess`). It has no
 * Helm chart we can pin; Vitess ships its install manifest with the examples, version-matched
 * to vitess/lite v24 — the same file whose VitessCluster CRD the manifests are checked against.
 */
export const vitessOperator = {
  name: 'vitess-operator',
  purpose: 'runs the dev-vitess environment’s VitessCluster: vtgate, vttablets, vtctld, VTOrc',
  /** The operator image that manifest runs. */
  version: 'v2.17.1',
  /** Its manifest, pinned (see `vitessOperatorSource`). */
  manifest: vitessOperatorSource,
  /** Where the operator runs, and the namespace it watches (Mela's). */
  namespace: 'default',
  watches: 'mela',
  provides: ['planetscale.com'],
} as const;

/** The Vitess operator's manifest, refused unless it is the pinned one byte for byte. */
export function pinnedVitessManifest(): string {
  const { module, version, file, sha256 } = vitessOperator.manifest;
  const text = readFileSync(goModuleFile(module, version, file), 'utf8');
  return checkedAgainst(text, sha256, `${module}@${version}/${file}`);
}

/** `text` when its SHA-256 is `sha256`; otherwise an error naming both. */
export function checkedAgainst(text: string, sha256: string, what: string): string {
  const actual = createHash('sha256').update(text).digest('hex');
  if (actual !== sha256) {
    throw new Error(`${what}: SHA-256 ${actual}, pinned ${sha256}; refusing to apply it`);
  }
  return text;
}

/**
 * The example manifest made to run the operator in `default` and watch Mela's namespace: it is
 * written for an `example` namespace, which it both uses and watches.
 */
export function vitessOperatorManifest(example: string): string {
  const watch = /(- name: WATCH_NAMESPACE\s+value: )"default,example"/;
  if (!watch.test(example)) throw new Error('the Vitess operator manifest sets no WATCH_NAMESPACE');
  return example
    .replace(watch, `$1"${vitessOperator.watches}"`)
    .replaceAll(/^(\s*namespace: )example\s*$/gm, `$1${vitessOperator.namespace}`);
}

/** One command of a plan: what it does (for the progress line), the argv and its input. */
export interface Step {
  readonly what: string;
  readonly argv: readonly string[];
  readonly stdin?: string;
}

/**
 * The commands `cluster:up` runs, in order; each is idempotent. With `vitessManifest` (the
 * operator's manifest, fetched) the Vitess operator is applied after the Helm charts.
 */
export function clusterUpPlan(existing: boolean, vitessManifest?: string): Step[] {
  const kubectl = ['kubectl', '--context', kindCluster.context];
  return [
    ...(existing
      ? []
      : [
          {
            what: 'creating the kind cluster (1 control plane, 3 workers in 3 zones)',
            argv: [
              'kind',
              'create',
              'cluster',
              '--config',
              join(repoRoot, 'infra/kind.yaml'),
              '--wait',
              '120s',
            ],
          },
        ]),
    ...clusterOperators.map((op) => ({
      what: `installing ${op.name} ${op.version} (${op.purpose})`,
      argv: [
        'helm',
        '--kube-context',
        kindCluster.context,
        'upgrade',
        '--install',
        op.name,
        op.chart,
        ...(op.repo ? ['--repo', op.repo] : []),
        '--version',
        op.version,
        '--namespace',
        op.namespace,
        '--create-namespace',
        ...(op.values ?? []),
        '--wait',
        '--timeout',
        '10m',
      ],
    })),
    ...(vitessManifest === undefined
      ? []
      : [
          {
            what: `installing ${vitessOperator.name} ${vitessOperator.version} (${vitessOperator.purpose})`,
            argv: [
              ...kubectl,
              'apply',
              '--server-side',
              '--namespace',
              vitessOperator.namespace,
              '-f',
              '-',
            ],
            stdin: vitessOperatorManifest(vitessManifest),
          },
        ]),
    {
      what: 'waiting for every operator Deployment to be available',
      argv: [
        ...kubectl,
        'wait',
        '--for=condition=Available',
        'deployment',
        '--all',
        '--all-namespaces',
        '--timeout=600s',
      ],
    },
  ];
}

function runStep(step: Step): void {
  progress(step.what);
  const [command, ...args] = step.argv;
  const result = spawnSync(command ?? '', args, {
    stdio: [step.stdin === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
    ...(step.stdin === undefined ? {} : { input: step.stdin }),
  });
  if (result.status !== 0)
    throw new Error(`${step.argv.join(' ')} failed (${String(result.status)})`);
}

function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((tool) => !hasCommand(tool));
  if (missing.length > 0) {
    throw new Error(
      `cluster:up needs ${missing.join(', ')} on PATH (Docker, kind, Helm 3 and kubectl; see README "Run on kind")`,
    );
  }
}

/**
 * Creates the kind cluster unless it exists and installs (or upgrades) the pinned operators;
 * `vitess` adds the Vitess operator (for `charts/dev-vitess`).
 */
export function kindClusterUp(options: { readonly vitess?: boolean } = {}): void {
  requireTools(['docker', 'kind', 'helm', 'kubectl']);
  const clusters = spawnSync('kind', ['get', 'clusters'], { encoding: 'utf8' }).stdout.split('\n');
  let vitessManifest: string | undefined;
  if (options.vitess === true) {
    vitessManifest = pinnedVitessManifest();
  }
  const plan = clusterUpPlan(clusters.includes(kindCluster.name), vitessManifest);
  for (const step of plan) runStep(step);
  progress(
    `cluster ready: kubectl --context ${kindCluster.context} get pods -A; then skaffold dev`,
  );
}

/** Deletes the kind cluster. */
export function kindClusterDown(): void {
  requireTools(['kind']);
  runStep({
    what: 'deleting the kind cluster',
    argv: ['kind', 'delete', 'cluster', '--name', kindCluster.name],
  });
}
