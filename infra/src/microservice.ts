import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { ServiceMonitor } from '../imports/monitoring.coreos.com.js';
import {
  appPeer,
  dnsEgress,
  egressTo,
  lockedContainer,
  namespacePeer,
  nonRootPod,
  resources,
} from './pod-policy.js';

/** CPU and memory as Kubernetes quantities, e.g. `{ cpu: '250m', memory: '256Mi' }`. */
export interface ComputeResources {
  readonly cpu: string;
  readonly memory: string;
}

/** Who may call the service: pods of these apps in the namespace, or whole namespaces. */
export interface IngressPeers {
  /** `app.kubernetes.io/name` of pods in the same namespace. @default none */
  readonly apps?: readonly string[];
  /** Namespaces (by `kubernetes.io/metadata.name`), e.g. the gateway's and monitoring's. @default none */
  readonly namespaces?: readonly string[];
}

/** Where the service's pods may connect, besides DNS. */
export type EgressPeer =
  | {
      /** `app.kubernetes.io/name` of pods in the same namespace (a service, Redis, a MySQL shard). */
      readonly app: string;
      readonly ports: readonly number[];
    }
  | {
      /** Labels of pods an operator makes (e.g. Vitess's vtgate), in the same namespace. */
      readonly pods: Readonly<Record<string, string>>;
      readonly ports: readonly number[];
    }
  | {
      /** Every pod of another namespace (an OpenTelemetry Collector's, say). */
      readonly namespace: string;
      readonly ports: readonly number[];
    }
  | {
      /** Addresses outside the cluster (a managed database), e.g. `10.0.3.7/32`. */
      readonly cidr: string;
      /** Blocks inside `cidr` it may not reach. @default none */
      readonly except?: readonly string[];
      readonly ports: readonly number[];
    };

export interface MicroserviceProps {
  /** The service: names every object and is the `app.kubernetes.io/name` label. */
  readonly name: string;
  /** The container image, e.g. `ghcr.io/mela/mela:1.0.0`. */
  readonly image: string;
  /** When the kubelet pulls the image. @default IfNotPresent */
  readonly imagePullPolicy?: string;
  /** The port the process listens on (`PORT`). @default 3000 */
  readonly port?: number;
  /** Plain variables of the process. @default none */
  readonly env?: Readonly<Record<string, string>>;
  /** Variables read from Secrets, by variable name. @default none */
  readonly secretEnv?: Readonly<Record<string, { readonly secret: string; readonly key: string }>>;
  /** @default { cpu: '100m', memory: '192Mi' } */
  readonly requests?: ComputeResources;
  /** @default { cpu: '1', memory: '512Mi' } */
  readonly limits?: ComputeResources;
  /** Replicas the autoscaler keeps between. @default { min: 2, max: 10 } */
  readonly replicas?: { readonly min: number; readonly max: number };
  /** Average CPU utilisation (of requests) the autoscaler aims for, in percent. @default 70 */
  readonly targetCpuUtilization?: number;
  /**
   * Requests per second per pod the autoscaler aims for (the `http_requests_per_second` pods
   * metric, served from Prometheus by a metrics adapter). @default 200
   */
  readonly targetRequestsPerSecond?: number;
  /**
   * After the pod is told to stop, how long it keeps serving while endpoints and load
   * balancers forget it (a preStop sleep). @default 5
   */
  readonly drainDelaySeconds?: number;
  /** Then how long in-flight requests get before connections are cut (`SHUTDOWN_TIMEOUT_MS`). @default 20 */
  readonly shutdownTimeoutSeconds?: number;
  /** Who may connect to the service's port; everything else is denied. @default nobody */
  readonly allowFrom?: IngressPeers;
  /** Where the pods may connect besides DNS; everything else is denied. @default nowhere */
  readonly allowTo?: readonly EgressPeer[];
  /**
   * Operator commands of the service (a DLQ replay, say), each a suspended CronJob with the
   * service's image and environment that an operator runs on demand:
   * `kubectl create job --from=cronjob/<service>-<name> <job-name>`. Its pods may reach only
   * DNS and `allowTo`, and nothing may reach them. @default none
   */
  readonly opsCommands?: readonly {
    /** A DNS label; the CronJob is `<service>-<name>`. */
    readonly name: string;
    /** What the container runs (under tini), e.g. `['node', 'dist/…/cli.js', 'replay']`. */
    readonly command: readonly string[];
    readonly allowTo: readonly EgressPeer[];
  }[];
  /** Spread replicas over zones as well as nodes (prod). @default true */
  readonly spreadOverZones?: boolean;
  /** Pods that may be down at once in a voluntary disruption (drain, upgrade). @default 1 */
  readonly maxUnavailable?: number;
  /** Files from ConfigMaps, mounted read-only at `path` (one key each). @default none */
  readonly configFiles?: readonly {
    readonly configMap: string;
    readonly key: string;
    readonly path: string;
  }[];
  /**
   * Who scales the Deployment: `hpa` (this construct's HorizontalPodAutoscaler) or `external`
   * (e.g. a KEDA ScaledObject made next to it, which owns its own HPA). @default 'hpa'
   */
  readonly autoscaling?: 'hpa' | 'external';
  /**
   * Labels the Prometheus Operator selects ServiceMonitors by (kube-prometheus-stack: its
   * release name). @default { release: 'kube-prometheus-stack' }
   */
  readonly monitorLabels?: Readonly<Record<string, string>>;
  /** A ServiceMonitor for the Prometheus Operator (a cluster without it has no such kind). @default true */
  readonly serviceMonitor?: boolean;
  /**
   * Scale on requests per second as well as CPU (needs a custom-metrics adapter such as
   * prometheus-adapter; without one the HPA could never scale down). @default true
   */
  readonly requestRateMetric?: boolean;
}

const dnsLabel = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const quantity = /^[+]?\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

function fail(name: string, message: string): never {
  throw new Error(`Microservice ${name}: ${message}`);
}

/** The checked, defaulted properties. */
function resolve(props: MicroserviceProps) {
  const { name } = props;
  if (!dnsLabel.test(name))
    fail(name, 'name must be a DNS label (lower-case letters, digits and -, at most 63)');
  const port = props.port ?? 3000;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    fail(name, `port must be from 1 to 65535, got ${String(port)}`);
  const replicas = props.replicas ?? { min: 2, max: 10 };
  if (!Number.isInteger(replicas.min) || replicas.min < 1)
    fail(name, `replicas.min must be at least 1, got ${String(replicas.min)}`);
  if (!Number.isInteger(replicas.max) || replicas.max < replicas.min)
    fail(
      name,
      `replicas.max (${String(replicas.max)}) must be at least replicas.min (${String(replicas.min)})`,
    );
  const targetCpuUtilization = props.targetCpuUtilization ?? 70;
  if (
    !Number.isInteger(targetCpuUtilization) ||
    targetCpuUtilization < 1 ||
    targetCpuUtilization > 100
  )
    fail(
      name,
      `targetCpuUtilization must be a percentage from 1 to 100, got ${String(targetCpuUtilization)}`,
    );
  const targetRequestsPerSecond = props.targetRequestsPerSecond ?? 200;
  if (!(targetRequestsPerSecond > 0))
    fail(name, `targetRequestsPerSecond must be positive, got ${String(targetRequestsPerSecond)}`);
  const requests = props.requests ?? { cpu: '100m', memory: '192Mi' };
  const limits = props.limits ?? { cpu: '1', memory: '512Mi' };
  for (const [which, resources] of [
    ['requests', requests],
    ['limits', limits],
  ] as const) {
    for (const key of ['cpu', 'memory'] as const) {
      if (!quantity.test(resources[key]))
        fail(
          name,
          `${which}.${key} must be a Kubernetes quantity such as 250m or 256Mi, got "${resources[key]}"`,
        );
    }
  }
  const drainDelaySeconds = props.drainDelaySeconds ?? 5;
  const shutdownTimeoutSeconds = props.shutdownTimeoutSeconds ?? 20;
  if (!Number.isInteger(drainDelaySeconds) || drainDelaySeconds < 0)
    fail(
      name,
      `drainDelaySeconds must be a whole number of seconds ≥ 0, got ${String(drainDelaySeconds)}`,
    );
  if (!Number.isInteger(shutdownTimeoutSeconds) || shutdownTimeoutSeconds < 1)
    fail(
      name,
      `shutdownTimeoutSeconds must be a whole number of seconds ≥ 1, got ${String(shutdownTimeoutSeconds)}`,
    );
  const maxUnavailable = props.maxUnavailable ?? 1;
  if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1)
    fail(name, `maxUnavailable must be at least 1, got ${String(maxUnavailable)}`);
  for (const variable of [...Object.keys(props.env ?? {}), ...Object.keys(props.secretEnv ?? {})]) {
    if (['PORT', 'SHUTDOWN_TIMEOUT_MS', 'SHUTDOWN_DRAIN_DELAY_MS'].includes(variable))
      fail(name, `${variable} is set by the construct from its properties`);
  }
  return {
    ...props,
    port,
    replicas,
    targetCpuUtilization,
    targetRequestsPerSecond,
    requests,
    limits,
    drainDelaySeconds,
    shutdownTimeoutSeconds,
    maxUnavailable,
    spreadOverZones: props.spreadOverZones ?? true,
    autoscaling: props.autoscaling ?? 'hpa',
    monitorLabels: props.monitorLabels ?? { release: 'kube-prometheus-stack' },
    serviceMonitor: props.serviceMonitor ?? true,
    requestRateMetric: props.requestRateMetric ?? true,
  };
}

/** The NetworkPolicy peer of an egress destination. */
function egressPeer(peer: EgressPeer): k8s.NetworkPolicyPeer {
  if ('cidr' in peer) {
    return { ipBlock: { cidr: peer.cidr, ...(peer.except ? { except: [...peer.except] } : {}) } };
  }
  if ('namespace' in peer) return namespacePeer(peer.namespace);
  return {
    podSelector: {
      matchLabels: 'app' in peer ? { 'app.kubernetes.io/name': peer.app } : peer.pods,
    },
  };
}

/**
 * One Mela service as Kubernetes runs it: ServiceAccount, Deployment (replicas owned by the
 * autoscaler; probes on /livez and /readyz; non-root, read-only, no capabilities, RuntimeDefault
 * seccomp; spread over zones and nodes; a drain that matches the app's), Service,
 * HorizontalPodAutoscaler (CPU and requests per second; fast up, slow down),
 * PodDisruptionBudget, a default-deny NetworkPolicy that lets through only `allowFrom` and
 * `allowTo`, and a ServiceMonitor for its `/metrics`.
 */
export class Microservice extends Construct {
  /** The Service's port and name, for callers. */
  readonly port: number;
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const p = resolve(props);
    this.port = p.port;
    this.serviceName = p.name;
    const labels = { 'app.kubernetes.io/name': p.name, 'app.kubernetes.io/part-of': 'mela' };
    const selector = { 'app.kubernetes.io/name': p.name };

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: p.name, labels },
      automountServiceAccountToken: false,
    });

    const env: k8s.EnvVar[] = [
      ...Object.entries({
        ...p.env,
        PORT: String(p.port),
        HOST: '0.0.0.0',
        // The preStop sleep already kept the pod serving while it was taken out of rotation.
        SHUTDOWN_DRAIN_DELAY_MS: '0',
        SHUTDOWN_TIMEOUT_MS: String(p.shutdownTimeoutSeconds * 1000),
      })
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ({ name, value })),
      ...Object.entries(p.secretEnv ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, ref]) => ({
          name,
          valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
        })),
    ];
    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 2,
    });
    const spread = (
      topologyKey: string,
      whenUnsatisfiable: string,
    ): k8s.TopologySpreadConstraint => ({
      topologyKey,
      maxSkew: 1,
      whenUnsatisfiable,
      labelSelector: { matchLabels: selector },
    });

    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: p.name, labels },
      spec: {
        // No replicas: the HorizontalPodAutoscaler owns the count.
        selector: { matchLabels: selector },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: k8s.IntOrString.fromString('25%'),
            maxUnavailable: k8s.IntOrString.fromNumber(0),
          },
        },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: p.name,
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: p.drainDelaySeconds + p.shutdownTimeoutSeconds + 5,
            securityContext: nonRootPod(1000),
            topologySpreadConstraints: [
              ...(p.spreadOverZones
                ? [spread('topology.kubernetes.io/zone', 'ScheduleAnyway')]
                : []),
              spread('kubernetes.io/hostname', 'ScheduleAnyway'),
            ],
            containers: [
              {
                name: p.name,
                image: p.image,
                imagePullPolicy: p.imagePullPolicy ?? 'IfNotPresent',
                ports: [{ name: 'http', containerPort: p.port, protocol: 'TCP' }],
                env,
                resources: resources({ requests: p.requests, limits: p.limits }),
                // Starting: up to 60 s to listen; then liveness restarts a hung process and
                // readiness takes a pod out of rotation while a critical dependency is down.
                startupProbe: probe('/livez', 2, 30),
                livenessProbe: probe('/livez', 10, 3),
                readinessProbe: probe('/readyz', 5, 2),
                lifecycle: {
                  preStop: { exec: { command: ['sleep', String(p.drainDelaySeconds)] } },
                },
                securityContext: lockedContainer,
                volumeMounts: [
                  { name: 'tmp', mountPath: '/tmp' },
                  ...(p.configFiles ?? []).map((file, i) => ({
                    name: `config-${String(i)}`,
                    mountPath: file.path,
                    subPath: file.key,
                    readOnly: true,
                  })),
                ],
              },
            ],
            volumes: [
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
              ...(p.configFiles ?? []).map((file, i) => ({
                name: `config-${String(i)}`,
                configMap: { name: file.configMap, items: [{ key: file.key, path: file.key }] },
              })),
            ],
          },
        },
      },
    });

    for (const command of p.opsCommands ?? []) this.#opsCommand(p, env, command);

    new k8s.KubeService(this, 'service', {
      metadata: { name: p.name, labels },
      spec: {
        selector,
        ports: [
          {
            name: 'http',
            port: p.port,
            targetPort: k8s.IntOrString.fromString('http'),
            protocol: 'TCP',
          },
        ],
      },
    });

    if (p.autoscaling === 'hpa') this.#autoscaler(p, labels);

    new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
      metadata: { name: p.name, labels },
      spec: {
        selector: { matchLabels: selector },
        maxUnavailable: k8s.IntOrString.fromNumber(p.maxUnavailable),
      },
    });

    const from = p.allowFrom ?? {};
    const sources: k8s.NetworkPolicyPeer[] = [
      ...(from.apps ?? []).map(appPeer),
      ...(from.namespaces ?? []).map(namespacePeer),
    ];
    new k8s.KubeNetworkPolicy(this, 'network-policy', {
      metadata: { name: p.name, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress:
          sources.length === 0
            ? []
            : [
                {
                  from: sources,
                  ports: [{ port: k8s.IntOrString.fromNumber(p.port), protocol: 'TCP' }],
                },
              ],
        egress: [
          dnsEgress,
          ...(p.allowTo ?? []).map((peer) => egressTo([egressPeer(peer)], peer.ports)),
        ],
      },
    });
    if (p.serviceMonitor) {
      new ServiceMonitor(this, 'service-monitor', {
        metadata: { name: p.name, labels: { ...labels, ...p.monitorLabels } },
        spec: {
          selector: { matchLabels: selector },
          endpoints: [{ port: 'http', path: '/metrics', interval: '15s' }],
        },
      });
    }
  }

  #opsCommand(
    p: ReturnType<typeof resolve>,
    env: readonly k8s.EnvVar[],
    command: NonNullable<MicroserviceProps['opsCommands']>[number],
  ): void {
    const name = `${p.name}-${command.name}`;
    if (!dnsLabel.test(name)) fail(p.name, `ops command "${command.name}" must make a DNS label`);
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mela' };
    new k8s.KubeCronJob(this, `ops-${command.name}`, {
      metadata: { name, labels },
      spec: {
        // Never on a schedule: an operator creates a Job from it when needed.
        suspend: true,
        schedule: '0 0 1 1 *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            ttlSecondsAfterFinished: 86_400,
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                securityContext: nonRootPod(1000),
                containers: [
                  {
                    name: command.name,
                    image: p.image,
                    imagePullPolicy: p.imagePullPolicy ?? 'IfNotPresent',
                    command: ['/usr/bin/tini', '--', ...command.command],
                    env: [...env],
                    resources: resources({ requests: p.requests, limits: p.limits }),
                    securityContext: lockedContainer,
                    volumeMounts: (p.configFiles ?? []).map((file, i) => ({
                      name: `config-${String(i)}`,
                      mountPath: file.path,
                      subPath: file.key,
                      readOnly: true,
                    })),
                  },
                ],
                volumes: (p.configFiles ?? []).map((file, i) => ({
                  name: `config-${String(i)}`,
                  configMap: { name: file.configMap, items: [{ key: file.key, path: file.key }] },
                })),
              },
            },
          },
        },
      },
    });
    new k8s.KubeNetworkPolicy(this, `ops-${command.name}-network-policy`, {
      metadata: { name, labels },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': name } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [
          dnsEgress,
          ...command.allowTo.map((peer) => egressTo([egressPeer(peer)], peer.ports)),
        ],
      },
    });
  }

  #autoscaler(p: ReturnType<typeof resolve>, labels: Record<string, string>): void {
    new k8s.KubeHorizontalPodAutoscalerV2(this, 'autoscaler', {
      metadata: { name: p.name, labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: p.name },
        minReplicas: p.replicas.min,
        maxReplicas: p.replicas.max,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: p.targetCpuUtilization },
            },
          },
          ...(p.requestRateMetric
            ? [
                {
                  type: 'Pods',
                  pods: {
                    metric: { name: 'http_requests_per_second' },
                    target: {
                      type: 'AverageValue',
                      averageValue: k8s.Quantity.fromString(String(p.targetRequestsPerSecond)),
                    },
                  },
                },
              ]
            : []),
        ],
        // A sale arrives in seconds: double (or add 4 pods) every 15 s with no stabilisation;
        // it leaves slowly: 10 % a minute after 5 minutes of lower load, so a dip does not flap.
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: 'Max',
            policies: [
              { type: 'Percent', value: 100, periodSeconds: 15 },
              { type: 'Pods', value: 4, periodSeconds: 15 },
            ],
          },
          scaleDown: {
            stabilizationWindowSeconds: 300,
            selectPolicy: 'Min',
            policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }],
          },
        },
      },
    });
  }
}
