import { readdirSync, readFileSync } from 'node:fs';
import { ApiObject, App, Chart, YamlOutputType, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment } from './environments.js';
import { gatewayService } from './gateway-chart.js';
import {
  appPeer,
  appSelector,
  dnsEgress,
  egressTo,
  lockedContainer,
  namespacePeer,
  nonRootPod,
  tcpPorts,
} from './pod-policy.js';
import { secrets } from './services-chart.js';

/** The k6 runner the TestRuns use, pinned (k6 runs the TypeScript scripts as they are). */
export const k6RunnerImage = 'grafana/k6:2.3.0';

/** Where k6 pushes its results: kube-prometheus-stack's Prometheus (remote-write receiver on). */
export const k6RemoteWrite =
  'http://kube-prometheus-stack-prometheus.monitoring.svc:9090/api/v1/write';

const scriptsDir = new URL('../../../packages/load/k6/', import.meta.url);

/** The k6 scripts and the files they import (everything in packages/load/k6 but its tsconfig). */
export function k6Scripts(): Map<string, string> {
  return new Map(
    readdirSync(scriptsDir)
      .filter((file) => file.endsWith('.ts'))
      .sort()
      .map((file) => [file, readFileSync(new URL(file, scriptsDir), 'utf8')]),
  );
}

/** The load tests shipped to the cluster, one TestRun per scenario. */
export const k6Scenarios = [
  { name: 'flash-sale', script: 'flash-sale.ts', parallelism: 2 },
  { name: 'shop', script: 'shop.ts', parallelism: 2 },
] as const;

/**
 * The k6 load tests for the k6-operator: the scripts in a ConfigMap (mounted at /test, so their
 * relative imports resolve) and a `k6.io/v1alpha1` TestRun per scenario, driving the Gateway,
 * with its shoppers' tokens (see {@link runnerTokens}) and remote-writing its results to
 * Prometheus. Kept out of the environment's charts: applying one starts a load test.
 */
export class LoadTestChart extends Chart {
  constructor(scope: Construct, id: string, env: Environment, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: env.namespace });
    const labels = {
      'app.kubernetes.io/part-of': 'mela',
      'app.kubernetes.io/component': 'load-test',
    };
    const configMap = 'mela-k6-scripts';
    new k8s.KubeConfigMap(this, 'scripts', {
      metadata: { name: configMap, labels },
      data: Object.fromEntries(k6Scripts()),
    });
    const gateway = `http://${gatewayService.name}.${gatewayService.namespace}.svc`;
    for (const scenario of k6Scenarios) {
      new ApiObject(this, `test-run-${scenario.name}`, {
        apiVersion: 'k6.io/v1alpha1',
        kind: 'TestRun',
        metadata: { name: `mela-${scenario.name}`, labels },
        spec: {
          parallelism: scenario.parallelism,
          script: { configMap: { name: configMap, file: scenario.script } },
          arguments: `--out experimental-prometheus-rw --tag testid=${scenario.name}`,
          // Restricted pods the namespace admits, labelled for their NetworkPolicies below.
          initializer: { ...k6Pod('k6-initializer'), image: k6RunnerImage },
          starter: k6Pod('k6-starter'),
          runner: {
            ...k6Pod('k6-runner'),
            image: k6RunnerImage,
            env: [
              { name: 'BASE_URL', value: gateway },
              ...runnerTokens(env),
              { name: 'K6_PROMETHEUS_RW_SERVER_URL', value: k6RemoteWrite },
              { name: 'K6_PROMETHEUS_RW_TREND_STATS', value: 'p(50),p(95),p(99),max' },
            ],
            resources: {
              requests: { cpu: '500m', memory: '512Mi' },
              limits: { cpu: '2', memory: '2Gi' },
            },
          },
        },
      });
    }
    k6Policies(this, labels);
  }
}

/** The k6 image's user (`k6`, uid 12345), never root, no privileges. */
const k6User = 12_345;

/** What a TestRun's pod of one role wears: its labels and a `restricted` security context. */
function k6Pod(role: 'k6-initializer' | 'k6-starter' | 'k6-runner') {
  return {
    metadata: { labels: { 'app.kubernetes.io/name': role, 'app.kubernetes.io/part-of': 'mela' } },
    securityContext: nonRootPod(k6User, false),
    // k6 writes to its filesystem: the locked container but for a read-only root.
    containerSecurityContext: { ...lockedContainer, readOnlyRootFilesystem: false },
  };
}

/**
 * Under the namespace's default deny: the runners reach the Gateway, Prometheus (remote write)
 * and DNS, and take the starter's calls on k6's REST API (6565); the starter reaches only
 * them; the initializer (it inspects the script) nothing.
 */
function k6Policies(scope: Construct, labels: Record<string, string>): void {
  const restApi = [6565];
  new k8s.KubeNetworkPolicy(scope, 'k6-runner-policy', {
    metadata: { name: 'k6-runner', labels },
    spec: {
      podSelector: appSelector('k6-runner'),
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [appPeer('k6-starter')], ports: tcpPorts(restApi) }],
      egress: [
        dnsEgress,
        { to: [namespacePeer(gatewayService.namespace)] },
        egressTo([namespacePeer('monitoring')], [9090]),
      ],
    },
  });
  new k8s.KubeNetworkPolicy(scope, 'k6-starter-policy', {
    metadata: { name: 'k6-starter', labels },
    spec: {
      podSelector: appSelector('k6-starter'),
      policyTypes: ['Ingress', 'Egress'],
      egress: [dnsEgress, egressTo([appPeer('k6-runner')], restApi)],
    },
  });
  new k8s.KubeNetworkPolicy(scope, 'k6-initializer-policy', {
    metadata: { name: 'k6-initializer', labels },
    spec: {
      podSelector: appSelector('k6-initializer'),
      policyTypes: ['Ingress', 'Egress'],
    },
  });
}

/**
 * How the runners get their shoppers' tokens: where the services verify a shared key
 * (`dev-secret`), they sign their own with it; where an identity provider issues tokens, no
 * signing key leaves it — the runners read tokens it issued for the test users, a JSON object
 * `{userId: token}` in the `mela-load-tokens` Secret (key `tokens`).
 */
function runnerTokens(env: Environment): k8s.EnvVar[] {
  const { tokens } = env;
  if (tokens.kind === 'jwks') {
    return [
      {
        name: 'LOAD_TOKENS',
        valueFrom: {
          secretKeyRef: { name: secrets.loadTokens.secret, key: secrets.loadTokens.key },
        },
      },
    ];
  }
  return [
    { name: 'AUTH_JWT_ISSUER', value: tokens.issuer },
    { name: 'AUTH_JWT_AUDIENCE', value: tokens.audience },
    {
      name: 'AUTH_JWT_SECRET',
      valueFrom: { secretKeyRef: { name: secrets.auth.secret, key: secrets.auth.key } },
    },
  ];
}

/** The load-test chart of `env` as an app of its own (charts/load). */
export function loadTestApp(env: Environment, outdir: string): App {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  new LoadTestChart(app, 'k6', env);
  return app;
}
