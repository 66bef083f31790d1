import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { localClusterNetwork } from '@mela/topology';
import {
  apiServerAnswers,
  applyServerSide,
  controlPlaneCredentials,
  ensureKubeBinaries,
  ensureKwok,
  etcdArgs,
  freePorts,
  goModuleFile,
  kubeApiserverArgs,
  kwokVersion,
  until,
  type Manifest,
} from '@mela/toolchain';
import { startMetricsAdapter, type MetricsSource } from './metrics-adapter.js';

/**
 * A cluster that really autoscales, on this machine, without containers: etcd,
 * kube-apiserver, kube-controller-manager (Deployments, ReplicaSets, HorizontalPodAutoscalers)
 * and kube-scheduler built from the Go module proxy; kwok's fake nodes, on which pods "run";
 * and a metrics adapter serving the pods' CPU and request rate through the aggregation layer.
 */
export interface SimCluster {
  /** A kubeconfig file for kubectl, scale:watch, … (token auth, self-signed server). */
  readonly kubeconfig: string;
  readonly config: KubeConfig;
  /** Server-side apply of each object, in order. */
  apply(objects: readonly Manifest[]): Promise<void>;
  /** What the processes wrote last (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** The kwok stages (from kwok's own module): nodes become Ready, pods Running, and go away. */
const kwokStages = [
  'kustomize/stage/node/fast/node-initialize.yaml',
  'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'kustomize/stage/pod/fast/pod-ready.yaml',
  'kustomize/stage/pod/fast/pod-complete.yaml',
  'kustomize/stage/pod/fast/pod-delete.yaml',
];

/**
 * An address the API server may proxy to: the aggregation layer refuses loopback endpoints,
 * so the adapter listens on the machine's first non-internal IPv4 address.
 */
export function adapterHost(): string {
  // Not the local cluster's bridge (npm run cluster:local): it may go while this cluster runs.
  const address = Object.entries(networkInterfaces())
    .filter(([name]) => name !== localClusterNetwork.bridge)
    .flatMap(([, addresses]) => addresses ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal);
  if (address === undefined) {
    throw new Error(
      'the metrics adapter needs a non-loopback IPv4 address (the API server will not proxy to 127.0.0.1)',
    );
  }
  return address.address;
}

/** Fake nodes for kwok, one per zone, roomy enough for every replica. */
function fakeNodes(count: number): Manifest[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `kwok-node-${String(i)}`,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': `kwok-node-${String(i)}`,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': `zone-${String.fromCharCode(97 + (i % 3))}`,
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
    },
  }));
}

export async function startSimCluster(options: {
  /** Where its files go (etcd's data, certificates, kubeconfig, logs). */
  readonly dir: string;
  readonly source: MetricsSource;
  /** @default 3 */
  readonly nodes?: number;
  /** How often the HPA controller re-evaluates. @default 5 */
  readonly hpaSyncSeconds?: number;
}): Promise<SimCluster> {
  const binaries = ensureKubeBinaries();
  const kwok = ensureKwok();
  const { dir } = options;
  mkdirSync(dir, { recursive: true });
  const [etcdPort = 0, peerPort = 0, apiPort = 0] = await freePorts(3);
  const credentials = controlPlaneCredentials(dir);
  const { token, keyFile } = credentials;
  const server = `https://127.0.0.1:${String(apiPort)}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'mela-sim', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'mela-admin', user: { token } }],
      contexts: [{ name: 'mela-sim', context: { cluster: 'mela-sim', user: 'mela-admin' } }],
      'current-context': 'mela-sim',
    }),
  );
  const stagesFile = join(dir, 'kwok-stages.yaml');
  writeFileSync(
    stagesFile,
    kwokStages
      .map((file) =>
        readFileSync(goModuleFile('sigs.k8s.io/kwok', kwokVersion, file), 'utf8').trim(),
      )
      .join('\n---\n'),
  );

  let output = '';
  const children: ChildProcess[] = [];
  const launch = (name: string, command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      output = `${output}${chunk.toString().replace(/^/gm, `[${name}] `)}`.slice(-30_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    children.push(child);
    return child;
  };
  const stop = async () => {
    await adapter?.close();
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
  };
  let adapter: Awaited<ReturnType<typeof startMetricsAdapter>> | undefined;
  try {
    launch('etcd', binaries.etcd, etcdArgs(dir, etcdPort, peerPort));
    launch(
      'kube-apiserver',
      binaries.kubeApiserver,
      kubeApiserverArgs({
        dir,
        etcdPort,
        port: apiPort,
        credentials,
        // The metrics adapter is reached at its endpoint's address (there is no kube-proxy).
        extra: ['--enable-aggregator-routing=true'],
      }),
    );
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const core = config.makeApiClient(CoreV1Api);
    await until(() => apiServerAnswers(core), 'the API server', 60_000, {
      context: () => output.slice(-3000),
    });
    const common = [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0'];
    launch('kube-controller-manager', binaries.kubeControllerManager, [
      ...common,
      `--service-account-private-key-file=${keyFile}`,
      '--use-service-account-credentials=false',
      // Its self-signed serving certificate is no CA to publish.
      '--controllers=*,-kube-apiserver-serving-clustertrustbundle-publisher-controller,-serviceaccount-token-controller',
      `--horizontal-pod-autoscaler-sync-period=${String(options.hpaSyncSeconds ?? 5)}s`,
      '--horizontal-pod-autoscaler-initial-readiness-delay=0s',
      '--horizontal-pod-autoscaler-cpu-initialization-period=10s',
    ]);
    launch('kube-scheduler', binaries.kubeScheduler, common);
    launch('kwok', kwok, [
      `--kubeconfig=${kubeconfig}`,
      `--config=${stagesFile}`,
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-lease-duration-seconds=40',
      '--cidr=10.244.0.1/16',
      '--node-ip=10.244.0.1',
    ]);
    const apply = (list: readonly Manifest[]) => applyServerSide(config, list);
    const certs = join(dir, 'certs');
    await until(
      () => Promise.resolve(existsSync(join(certs, 'apiserver.key'))),
      'the API server’s certificate',
      10_000,
      { context: () => output.slice(-3000) },
    );
    const host = adapterHost();
    adapter = await startMetricsAdapter({
      host,
      cert: readFileSync(join(certs, 'apiserver.crt'), 'utf8'),
      key: readFileSync(join(certs, 'apiserver.key'), 'utf8'),
      core,
      source: options.source,
    });
    const service = { name: 'mela-metrics-adapter', namespace: 'kube-system' };
    await apply([
      ...fakeNodes(options.nodes ?? 3),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: service,
        spec: { ports: [{ port: 443, targetPort: adapter.port }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: service,
        subsets: [{ addresses: [{ ip: host }], ports: [{ port: adapter.port }] }],
      },
      ...[
        ['metrics.k8s.io', 'v1beta1'],
        ['custom.metrics.k8s.io', 'v1beta2'],
      ].map(
        ([group = '', version = '']) =>
          ({
            apiVersion: 'apiregistration.k8s.io/v1',
            kind: 'APIService',
            metadata: { name: `${version}.${group}` },
            spec: {
              group,
              version,
              service: { ...service, port: 443 },
              insecureSkipTLSVerify: true,
              groupPriorityMinimum: 100,
              versionPriority: 100,
            },
          }) satisfies Manifest,
      ),
    ]);
    await until(
      async () => {
        const nodes = (await core.listNode()).items;
        return (
          nodes.length === (options.nodes ?? 3) &&
          nodes.every((n) =>
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          )
        );
      },
      'the nodes to be Ready',
      30_000,
      { context: () => output.slice(-3000) },
    );
    return { kubeconfig, config, apply, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The kinds of Mela's manifests the simulated cluster runs (no data layer, no operators). */
const simulatedKinds = new Set([
  'Namespace',
  'ServiceAccount',
  'Service',
  'Deployment',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
]);

/**
 * The services of an environment's committed manifests (`charts/<env>`): the namespace, each
 * service's Deployment, Service and HorizontalPodAutoscaler — what autoscaling is about.
 */
export function scalableManifests(chartDir: string): Manifest[] {
  return ['00-cluster.yaml', '20-services.yaml']
    .flatMap((file) => parseAllDocuments(readFileSync(join(chartDir, file), 'utf8')))
    .map((doc) => doc.toJS() as Manifest)
    .filter((object) => simulatedKinds.has(object.kind));
}
