import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import {
  apiServerAnswers,
  applyServerSide,
  controlPlaneCredentials,
  ensureGoTool,
  ensureKubeBinaries,
  ensureSystemPackages,
  etcdArgs,
  kubeApiserverArgs,
  livePid,
  paths,
  progress,
  repoRoot,
  run,
  runningPid,
  startDetached,
  stopProcess,
  until,
  type KubeBinaries,
  type Manifest,
} from '@mela/toolchain';
import { addonImages, addonVersions, coreDns, metricsServerRegistration } from './addons.js';
import {
  createNodeNetwork,
  deleteNetns,
  netnsNames,
  nodeNetwork,
  readSysctls,
  removeKubeFirewall,
  removeKubeRouterPolicies,
  removeNodeNetwork,
  removeUnreachableRoutes,
  writeSysctls,
  type NodeNetwork,
} from './host-network.js';
import { buildImage, imageRequirements, loadIntoContainerd, scratchImage } from './image.js';
import { ensurePki } from './pki.js';
import { dataHost, dataHostDown, dataHostUp, type DataHost } from './data-host.js';

/** The node's name, and where the cluster listens (the API server on the node's address). */
export const nodeName = 'mela-node';
const ports = {
  etcd: 2479,
  etcdPeer: 2480,
  apiserver: 6443,
  kubelet: 10250,
  kubeletHealthz: 10348,
  kubeProxyHealthz: 10356,
  kubeProxyMetrics: 10349,
  metricsServer: 4443,
} as const;

/** Everything the cluster keeps: `.mela/cluster` (its processes' pids and logs are devstack's). */
const dir = paths.data('cluster');
const files = {
  pki: join(dir, 'pki'),
  etcd: dir,
  apiserverCerts: join(dir, 'apiserver-certs'),
  adminKubeconfig: join(dir, 'admin.kubeconfig'),
  nodeKubeconfig: join(dir, 'node.kubeconfig'),
  tokens: join(dir, 'tokens.csv'),
  serviceAccountKey: join(dir, 'service-accounts.key'),
  containerdConfig: join(dir, 'containerd.toml'),
  containerdRoot: join(dir, 'containerd'),
  cniConfDir: join(dir, 'cni/net.d'),
  cniIpam: join(dir, 'cni/ipam'),
  kubeletRoot: join(dir, 'kubelet'),
  kubeletConfig: join(dir, 'kubelet.yaml'),
  kubeletCerts: join(dir, 'kubelet-pki'),
  podLogs: join(dir, 'pod-logs'),
  resolvConf: join(dir, 'resolv.conf'),
  kubeProxyConfig: join(dir, 'kube-proxy.yaml'),
  metricsServerCerts: join(dir, 'metrics-server-certs'),
  /** What the machine had before the cluster came, to restore when it goes. */
  before: join(dir, 'before.json'),
};
/** containerd's state and socket: on /run like every runtime's. */
const containerdState = '/run/mela-containerd';
const containerdSocket = join(containerdState, 'containerd.sock');

/** The processes, in start order; stopped in the reverse order (see `clusterDown`). */
const processNames = [
  'cluster-etcd',
  'cluster-kube-apiserver',
  'cluster-kube-controller-manager',
  'cluster-kube-scheduler',
  'cluster-containerd',
  'cluster-kubelet',
  'cluster-kube-proxy',
  'cluster-kube-router',
  'cluster-metrics-server',
] as const;
type ProcessName = (typeof processNames)[number];

/** What the host had before `up`; `down` puts it back and removes only what is new. */
interface Before {
  readonly sysctls: Record<string, string>;
  readonly netns: string[];
  /** Folders the kubelet or containerd create outside the cluster's own, whatever their flags. */
  readonly existed: Record<string, boolean>;
}
const strayFolders = [
  '/var/log/containers',
  '/var/log/pods',
  '/run/containerd',
  '/var/lib/kubelet',
];

/**
 * One `up` or `down` at a time on this machine (a second one would tear down what the first is
 * starting, whichever checkout it runs from): a lock folder holding the owner's pid; a dead
 * owner's lock is taken over.
 */
async function exclusively<T>(action: () => Promise<T>): Promise<T> {
  // Machine-wide, like what it guards (the bridge, the namespaces, containerd's socket): a
  // second checkout's cluster would collide with this one.
  const lock = '/run/mela-cluster.lock';
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const owner = livePid(join(lock, 'pid'));
      if (owner !== undefined && owner !== process.pid) {
        throw new Error(`the local cluster is busy: process ${String(owner)} holds ${lock}`);
      }
      rmSync(lock, { recursive: true, force: true });
    }
  }
  writeFileSync(join(lock, 'pid'), `${String(process.pid)}\n`);
  try {
    return await action();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A running local cluster. */
export interface LocalCluster {
  readonly kubeconfig: string;
  readonly config: KubeConfig;
  readonly network: NodeNetwork;
  readonly binaries: KubeBinaries;
  /** Where the data layer runs, outside the cluster (Redis, the shards, Kafka, the mailbox). */
  readonly dataHost: DataHost;
  /** Server-side apply of each object, in order. */
  apply(objects: readonly Manifest[]): Promise<void>;
  /** `kubectl` with the admin kubeconfig; throws with its output when it fails. */
  kubectl(args: readonly string[]): string;
}

export const clusterRequirements = [
  ...imageRequirements,
  { command: 'containerd', aptPackage: 'containerd' },
  { command: 'ctr', aptPackage: 'containerd' },
  { file: '/usr/lib/cni/bridge', aptPackage: 'containernetworking-plugins' },
  { command: 'iptables', aptPackage: 'iptables' },
  { command: 'conntrack', aptPackage: 'conntrack' },
  { command: 'ipset', aptPackage: 'ipset' },
  { command: 'openssl', aptPackage: 'openssl' },
  { command: 'mount', aptPackage: 'mount' },
] as const;

/** The Go programs of the add-ons (built once from the Go module proxy). */
function ensureAddonBinaries(): { coredns: string; metricsServer: string; kubeRouter: string } {
  return {
    coredns: ensureGoTool(
      'coredns',
      'github.com/coredns/coredns',
      addonVersions.coredns,
      'a few minutes',
    ),
    metricsServer: ensureGoTool(
      'metrics-server',
      'sigs.k8s.io/metrics-server/cmd/metrics-server',
      addonVersions.metricsServer,
      'a few minutes',
    ),
    kubeRouter: ensureGoTool(
      'kube-router',
      'github.com/cloudnativelabs/kube-router/v2/cmd/kube-router',
      addonVersions.kubeRouter,
      'a few minutes',
    ),
  };
}

/** The pause program (packages/cluster/pause), built once. */
function ensurePause(): string {
  const binary = join(paths.cache('pause'), 'pause');
  if (existsSync(binary)) return binary;
  mkdirSync(paths.cache('pause'), { recursive: true });
  run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', binary, '.'], {
    cwd: join(repoRoot, 'packages/cluster/pause'),
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  return binary;
}

function kubeconfigFile(server: string, user: string, token: string, ca: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'mela-local', cluster: { server, 'certificate-authority': ca } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'mela-local', context: { cluster: 'mela-local', user } }],
    'current-context': 'mela-local',
  });
}

/**
 * The tokens (static token file) — the admin's, and the node's own credential for the Node
 * authorizer — and the kubeconfigs with them; made once, kept with the cluster's data.
 */
function ensureCredentials(net: NodeNetwork, caCert: string): void {
  if (existsSync(files.tokens) && existsSync(files.serviceAccountKey)) return;
  const node = `system:node:${nodeName}`;
  const credentials = controlPlaneCredentials(dir, [{ name: node, group: 'system:nodes' }]);
  const server = `https://${net.nodeIp}:${String(ports.apiserver)}`;
  const write = (file: string, user: string, token: string) =>
    writeFileSync(file, kubeconfigFile(server, user, token, caCert), { mode: 0o600 });
  write(files.adminKubeconfig, 'mela-admin', credentials.token);
  write(files.nodeKubeconfig, node, credentials.tokens[node] ?? '');
}

function containerdConfig(): string {
  return [
    'version = 2',
    `root = "${files.containerdRoot}"`,
    `state = "${containerdState}"`,
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]',
    '[grpc]',
    `  address = "${containerdSocket}"`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${addonImages.pause}"`,
    // This sandbox lacks CAP_SYS_RESOURCE: a pod's oom_score_adj may only be raised.
    '  restrict_oom_score_adj = true',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    // runc: crun refuses cgroup v1 hybrid mode; cgroupfs: there is no systemd.
    '        BinaryName = "/usr/bin/runc"',
    '        SystemdCgroup = false',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = "${files.cniConfDir}"`,
    '',
  ].join('\n');
}

function cniConfig(net: NodeNetwork): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'mela',
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: files.cniIpam,
            ranges: [[{ subnet: net.podCidr, gateway: net.nodeIp, rangeEnd: net.podRangeEnd }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(net: NodeNetwork, caCert: string): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: net.nodeIp,
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports.kubeletHealthz,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: caCert },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${containerdSocket}`,
    // This machine: cgroup v1, no systemd, swap allowed, no node-allocatable enforcement.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: [],
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
    clusterDomain: 'cluster.local',
    clusterDNS: [net.dnsServiceIp],
    resolvConf: files.resolvConf,
    podLogsDir: files.podLogs,
    serializeImagePulls: false,
    // The images are made here and can never be pulled again: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
    },
    maxPods: 110,
  });
}

function kubeProxyConfig(net: NodeNetwork): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: files.adminKubeconfig },
    hostnameOverride: nodeName,
    mode: 'iptables',
    clusterCIDR: net.podCidr,
    bindAddress: net.nodeIp,
    healthzBindAddress: `127.0.0.1:${String(ports.kubeProxyHealthz)}`,
    metricsBindAddress: `127.0.0.1:${String(ports.kubeProxyMetrics)}`,
    nodePortAddresses: [`${net.nodeIp}/32`],
    iptables: { localhostNodePorts: false, masqueradeAll: false },
    // Leave the conntrack sysctls as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

/**
 * Writes a configuration file only when its content differs: kube-proxy exits when its
 * configuration file changes, even to the same bytes.
 */
function writeIfChanged(file: string, content: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === content) return;
  writeFileSync(file, content);
}

function start(name: ProcessName, command: string, args: readonly string[]): void {
  if (runningPid(name) !== undefined) return;
  startDetached(name, command, args, {
    env: { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
  });
}

function handle(kubeconfig: string, binaries: KubeBinaries, net: NodeNetwork): LocalCluster {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  return {
    kubeconfig,
    config,
    network: net,
    binaries,
    dataHost: dataHost(net.dataHost),
    apply: (list) => applyServerSide(config, list),
    kubectl(args) {
      return run(binaries.kubectl, [`--kubeconfig=${kubeconfig}`, ...args]);
    },
  };
}

/** The images the cluster runs: Mela's (built from the Dockerfile) and the add-ons'. */
function loadImages(addons: ReturnType<typeof ensureAddonBinaries>): void {
  const pause = ensurePause();
  const scratch = [
    { name: addonImages.pause, binary: pause, path: '/pause' },
    { name: addonImages.coredns, binary: addons.coredns, path: '/coredns' },
  ];
  const present = run('ctr', [
    '--address',
    containerdSocket,
    '--namespace',
    'k8s.io',
    'images',
    'list',
    '--quiet',
  ]);
  for (const image of scratch) {
    scratchImage(image.name, image.binary, image.path);
    if (!present.split('\n').includes(image.name))
      loadIntoContainerd(image.name, image.name, containerdSocket);
  }
  const mela = buildImage();
  progress(`loading ${mela.name} into the node's containerd`);
  loadIntoContainerd(mela.name, 'docker.io/library/mela:dev', containerdSocket);
}

/**
 * Starts the cluster (each part only if it is not running): the node network; etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler; containerd; the images; the kubelet
 * and kube-proxy; then CoreDNS, kube-router's NetworkPolicy controller and metrics-server — and waits until the
 * node is Ready and every add-on answers. Needs root.
 */
export function clusterUp(net: NodeNetwork = nodeNetwork): Promise<LocalCluster> {
  return exclusively(() => up(net));
}

async function up(net: NodeNetwork): Promise<LocalCluster> {
  if (process.getuid?.() !== 0)
    throw new Error('the local cluster needs root (bridges, iptables, mounts, cgroups)');
  ensureSystemPackages(clusterRequirements);
  const binaries = ensureKubeBinaries();
  const addons = ensureAddonBinaries();
  mkdirSync(dir, { recursive: true });
  if (!existsSync(files.before)) {
    const before: Before = {
      sysctls: readSysctls(),
      netns: netnsNames(),
      existed: Object.fromEntries(strayFolders.map((f) => [f, existsSync(f)])),
    };
    writeFileSync(files.before, JSON.stringify(before, null, 2));
  }
  createNodeNetwork(net);
  progress(`starting the data host (Redis, MariaDB shards, Kafka, mailbox) on ${net.dataHost}`);
  await dataHostUp(net, dataHost(net.dataHost));
  const pki = ensurePki(files.pki, net.nodeIp, net.kubernetesServiceIp);
  ensureCredentials(net, pki.caCert);

  start('cluster-etcd', binaries.etcd, etcdArgs(files.etcd, ports.etcd, ports.etcdPeer));
  start(
    'cluster-kube-apiserver',
    binaries.kubeApiserver,
    kubeApiserverArgs({
      dir: files.apiserverCerts,
      etcdPort: ports.etcd,
      port: ports.apiserver,
      credentials: { keyFile: files.serviceAccountKey, tokenFile: files.tokens },
      bindAddress: net.nodeIp,
      authorizationModes: ['Node', 'RBAC'],
      serviceCidr: net.serviceCidr,
      extra: [
        `--advertise-address=${net.nodeIp}`,
        `--tls-cert-file=${pki.apiserver.cert}`,
        `--tls-private-key-file=${pki.apiserver.key}`,
        `--client-ca-file=${pki.caCert}`,
        '--enable-admission-plugins=NodeRestriction',
        `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
        `--kubelet-client-key=${pki.kubeletClient.key}`,
        '--kubelet-preferred-address-types=InternalIP',
        // The aggregation layer (metrics.k8s.io) and its front-proxy identity.
        `--requestheader-client-ca-file=${pki.caCert}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--proxy-client-cert-file=${pki.frontProxy.cert}`,
        `--proxy-client-key-file=${pki.frontProxy.key}`,
        '--enable-aggregator-routing=true',
        '--allow-privileged=true',
      ],
    }),
  );
  const kube = handle(files.adminKubeconfig, binaries, net);
  const core = kube.config.makeApiClient(CoreV1Api);
  await until(() => apiServerAnswers(core), 'the API server', 90_000, {
    logFile: paths.log('cluster-kube-apiserver'),
  });

  const common = [`--kubeconfig=${files.adminKubeconfig}`, '--leader-elect=false'];
  start('cluster-kube-controller-manager', binaries.kubeControllerManager, [
    ...common,
    '--secure-port=0',
    `--service-account-private-key-file=${files.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--use-service-account-credentials=false',
    `--cluster-cidr=${net.podCidr}`,
    `--service-cluster-ip-range=${net.serviceCidr}`,
    '--controllers=*,-kube-apiserver-serving-clustertrustbundle-publisher-controller',
    '--horizontal-pod-autoscaler-sync-period=5s',
  ]);
  start('cluster-kube-scheduler', binaries.kubeScheduler, [...common, '--secure-port=0']);

  mkdirSync(files.cniConfDir, { recursive: true });
  writeIfChanged(join(files.cniConfDir, '10-mela.conflist'), cniConfig(net));
  writeIfChanged(files.containerdConfig, containerdConfig());
  start('cluster-containerd', 'containerd', ['--config', files.containerdConfig]);
  await until(
    () =>
      Promise.resolve(
        spawnSync('ctr', ['--address', containerdSocket, 'version'], { stdio: 'ignore' }).status ===
          0,
      ),
    'containerd',
    30_000,
    { logFile: paths.log('cluster-containerd') },
  );
  loadImages(addons);

  writeFileSync(
    files.resolvConf,
    '# the cluster resolves cluster.local only; nothing leaves this machine\n',
  );
  writeIfChanged(files.kubeletConfig, kubeletConfig(net, pki.caCert));
  mkdirSync(files.kubeletRoot, { recursive: true });
  start('cluster-kubelet', binaries.kubelet, [
    `--config=${files.kubeletConfig}`,
    `--kubeconfig=${files.nodeKubeconfig}`,
    `--root-dir=${files.kubeletRoot}`,
    `--cert-dir=${files.kubeletCerts}`,
    `--node-ip=${net.nodeIp}`,
    `--hostname-override=${nodeName}`,
    '--node-labels=topology.kubernetes.io/zone=local',
  ]);
  writeIfChanged(files.kubeProxyConfig, kubeProxyConfig(net));
  start('cluster-kube-proxy', binaries.kubeProxy, [`--config=${files.kubeProxyConfig}`]);
  await until(
    async () => {
      try {
        const node = await core.readNode({ name: nodeName });
        return (
          node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
        );
      } catch {
        return false;
      }
    },
    'the node to be Ready',
    60_000,
    { logFile: paths.log('cluster-kubelet') },
  );
  start('cluster-metrics-server', addons.metricsServer, [
    `--kubeconfig=${files.adminKubeconfig}`,
    `--authentication-kubeconfig=${files.adminKubeconfig}`,
    `--authorization-kubeconfig=${files.adminKubeconfig}`,
    `--bind-address=${net.nodeIp}`,
    `--secure-port=${String(ports.metricsServer)}`,
    `--cert-dir=${files.metricsServerCerts}`,
    '--kubelet-insecure-tls',
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-port=${String(ports.kubelet)}`,
    '--metric-resolution=15s',
  ]);
  // NetworkPolicies: kube-router's policy controller alone (no routing, no service proxy),
  // with iptables and ipsets on the node. kube-network-policies, SIG Network's enforcer, needs
  // nftables' queue expression, which this kernel lacks.
  start('cluster-kube-router', addons.kubeRouter, [
    `--kubeconfig=${files.adminKubeconfig}`,
    `--hostname-override=${nodeName}`,
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--run-loadbalancer=false',
    '--enable-ipv6=false',
    '--health-port=0',
    '--metrics-port=0',
    `--service-cluster-ip-range=${net.serviceCidr}`,
    '--iptables-sync-period=1m',
  ]);
  await kube.apply([...coreDns(net), ...metricsServerRegistration(net, ports.metricsServer)]);
  await until(
    async () => {
      try {
        const pods = (await core.listNamespacedPod({ namespace: 'kube-system' })).items;
        const ready = (prefix: string) =>
          pods.some(
            (p) =>
              p.metadata?.name?.startsWith(prefix) === true &&
              p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          );
        if (!ready('coredns') || !policyControllerSynced()) return false;
        kube.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes']);
        return true;
      } catch {
        return false;
      }
    },
    'the add-ons (CoreDNS, kube-router’s policy controller, metrics-server)',
    120_000,
    { logFile: paths.log('cluster-kubelet') },
  );
  return kube;
}

/** kube-router's policy controller has written its chains (it then enforces every policy). */
function policyControllerSynced(): boolean {
  return (
    spawnSync('iptables', ['-w', '-n', '-L', 'KUBE-ROUTER-FORWARD'], { stdio: 'ignore' }).status ===
    0
  );
}

/** The running cluster, if it is up. */
export function runningCluster(net: NodeNetwork = nodeNetwork): LocalCluster | undefined {
  if (runningPid('cluster-kube-apiserver') === undefined || !existsSync(files.adminKubeconfig))
    return undefined;
  return handle(files.adminKubeconfig, ensureKubeBinaries(), net);
}

export function clusterStatus(): { name: string; pid: number | undefined }[] {
  return processNames.map((name) => ({ name, pid: runningPid(name) }));
}

/** Mount points under `prefix` (deepest first), from this process's mount table. */
function mountsUnder(prefixes: readonly string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((point) => prefixes.some((p) => point === p || point.startsWith(`${p}/`)))
    .sort((a, b) => b.length - a.length);
}

/** The containerd shims of this cluster's containerd (they outlive it by design). */
function shimPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return cmdline[0]?.endsWith('containerd-shim-runc-v2') === true &&
          cmdline.includes(containerdSocket)
          ? [Number(pid)]
          : [];
      } catch {
        return [];
      }
    });
}

/** Removes the kubelet's cgroups (`kubepods` under every v1 controller), leaves first. */
function removeKubepodsCgroups(): void {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  const remove = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) remove(join(path, entry.name));
    }
    try {
      rmdirSync(path);
    } catch {
      // still has tasks: the processes below are being killed
    }
  };
  for (const controller of readdirSync(root)) {
    const kubepods = join(root, controller, 'kubepods');
    if (existsSync(kubepods)) remove(kubepods);
  }
}

const systemNamespaces = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

async function deleteApplied(cluster: LocalCluster): Promise<void> {
  const core = cluster.config.makeApiClient(CoreV1Api);
  // Controllers first, so that nothing makes the pods again; then the pods, and wait until the
  // kubelet has torn down their sandboxes (CNI DEL, netns, mounts).
  try {
    cluster.kubectl([
      'delete',
      'deployments,daemonsets,statefulsets,replicasets,jobs,horizontalpodautoscalers',
      '--all',
      '--all-namespaces',
      '--wait=false',
    ]);
    cluster.kubectl([
      'delete',
      'pods',
      '--all',
      '--all-namespaces',
      '--grace-period=5',
      '--wait=false',
    ]);
    // And what was applied to it: the next `up` starts from an empty cluster (etcd is kept
    // for its own objects, the add-ons re-applied).
    const applied = (await core.listNamespace()).items
      .map((n) => n.metadata?.name ?? '')
      .filter((name) => name !== '' && !systemNamespaces.has(name));
    if (applied.length > 0) cluster.kubectl(['delete', 'namespace', ...applied, '--wait=false']);
  } catch (error) {
    progress(
      `deleting the cluster's pods: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  await until(
    async () => {
      try {
        const pods = (await core.listPodForAllNamespaces()).items.length;
        const namespaces = (await core.listNamespace()).items.filter(
          (n) => !systemNamespaces.has(n.metadata?.name ?? ''),
        ).length;
        return pods === 0 && namespaces === 0;
      } catch {
        return true;
      }
    },
    'every pod and applied namespace to be gone',
    60_000,
  ).catch((error: unknown) => progress(String(error)));
}

/**
 * Stops the cluster and removes everything it made: pods first (so the kubelet unmounts their
 * volumes and deletes their network namespaces), kube-proxy's rules, the kubelet, containerd and
 * its shims, the control plane, etcd last; then mounts, cgroups, the node network, the folders
 * the kubelet writes anyway, and the kernel settings as they were. Only its own processes.
 */
export function clusterDown(net: NodeNetwork = nodeNetwork): Promise<void> {
  return exclusively(() => down(net));
}

async function down(net: NodeNetwork): Promise<void> {
  const cluster = runningCluster(net);
  if (cluster !== undefined && runningPid('cluster-kubelet') !== undefined)
    await deleteApplied(cluster);
  const stop = async (name: ProcessName, graceMs = 10_000) => {
    if (await stopProcess(name, graceMs)) progress(`stopped ${name.replace('cluster-', '')}`);
  };
  await stop('cluster-kube-proxy');
  const binaries = ensureKubeBinaries();
  spawnSync(binaries.kubeProxy, ['--cleanup'], { stdio: 'ignore' });
  removeKubeFirewall();
  await stop('cluster-kube-router');
  removeKubeRouterPolicies();
  await stop('cluster-metrics-server');
  await stop('cluster-kubelet');
  // Once more with nothing else at iptables: the first cleanup, run while the kubelet and
  // kube-router were still running, once left kube-proxy's filter chains behind.
  spawnSync(binaries.kubeProxy, ['--cleanup'], { stdio: 'ignore' });
  await stop('cluster-containerd');
  for (const pid of shimPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await stop('cluster-kube-scheduler');
  await stop('cluster-kube-controller-manager');
  // The API server before etcd: without etcd it hangs on SIGTERM.
  await stop('cluster-kube-apiserver');
  await stop('cluster-etcd');
  for (const point of mountsUnder([
    files.kubeletRoot,
    files.containerdRoot,
    containerdState,
    '/run/containerd',
    '/run/netns',
  ])) {
    if (point.startsWith('/run/netns') && !point.includes('/cni-')) continue;
    spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  }
  removeKubepodsCgroups();
  let before: Before | undefined;
  try {
    before = JSON.parse(readFileSync(files.before, 'utf8')) as Before;
  } catch {
    before = undefined;
  }
  for (const name of netnsNames()) {
    if (name.startsWith('cni-') && !(before?.netns.includes(name) ?? false)) deleteNetns(name);
  }
  await dataHostDown(dataHost(net.dataHost));
  removeNodeNetwork(net);
  if (processNames.every((name) => runningPid(name) === undefined)) removeUnreachableRoutes(net);
  rmSync(containerdState, { recursive: true, force: true });
  if (before !== undefined) {
    for (const folder of strayFolders) {
      if (before.existed[folder] === false) rmSync(folder, { recursive: true, force: true });
    }
    writeSysctls(before.sysctls);
    rmSync(files.before);
  }
  // The data (etcd, containerd's images, certificates) stays, for a fast next start.
}

/** Deletes the cluster's data too (etcd, containerd's images, certificates). */
export async function clusterPurge(net: NodeNetwork = nodeNetwork): Promise<void> {
  await clusterDown(net);
  for (const point of mountsUnder([dir])) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
