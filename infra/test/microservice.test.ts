import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Microservice, type MicroserviceProps } from '../src/index.js';
import { testChart } from './support.js';

interface Obj {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

/** The objects one Microservice synthesizes, by kind. */
function synth(props: Partial<MicroserviceProps> = {}): Map<string, Obj> {
  const chart = testChart();
  new Microservice(chart, 'svc', { name: 'catalog', image: 'mela:test', ...props });
  const objects = chart.toJson() as Obj[];
  return new Map(objects.map((o) => [o.kind, o]));
}

/** A path into an object, for terse assertions. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) current = (current as Record<string | number, unknown>)[key];
  return current;
}

describe('the Microservice construct', () => {
  it('when synthesized with defaults, then it makes the seven objects of a service, all named after it', () => {
    const objects = synth();

    assert.deepEqual([...objects.keys()].sort(), [
      'Deployment',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    for (const o of objects.values()) assert.equal(o.metadata.name, 'catalog');
  });

  it('when it has an ops command, then a suspended CronJob runs it with the service’s image and environment, and its pods reach only DNS and what the command needs', () => {
    const chart = testChart();
    new Microservice(chart, 'svc', {
      name: 'notification',
      image: 'mela:test',
      env: { ORDERS_TOPIC: 'orders' },
      opsCommands: [
        {
          name: 'dlq-replay',
          command: ['node', 'cli.js', 'replay'],
          allowTo: [{ app: 'kafka', ports: [9092] }],
        },
      ],
    });
    const objects = chart.toJson() as Obj[];
    const cron = objects.find((o) => o.kind === 'CronJob');
    const policy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'notification-dlq-replay',
    );

    assert.equal(cron?.metadata.name, 'notification-dlq-replay');
    assert.equal(at(cron, 'spec', 'suspend'), true);
    const pod = at(cron, 'spec', 'jobTemplate', 'spec', 'template', 'spec') as Record<
      string,
      unknown
    >;
    const container = at(pod, 'containers', 0) as {
      command: string[];
      env: { name: string }[];
      image: string;
    };
    assert.deepEqual(container.command, ['/usr/bin/tini', '--', 'node', 'cli.js', 'replay']);
    assert.equal(container.image, 'mela:test');
    assert.ok(container.env.some((e) => e.name === 'ORDERS_TOPIC'));
    assert.equal(pod['restartPolicy'], 'Never');
    assert.deepEqual(at(policy, 'spec', 'ingress'), []);
    assert.deepEqual(at(policy, 'spec', 'egress', 1, 'to', 0, 'podSelector', 'matchLabels'), {
      'app.kubernetes.io/name': 'kafka',
    });
  });

  it('when the autoscaler owns the replicas, then the Deployment has none, and the HPA scales on CPU and requests per second', () => {
    const objects = synth({ replicas: { min: 3, max: 30 }, targetRequestsPerSecond: 150 });
    const deployment = objects.get('Deployment');
    const hpa = objects.get('HorizontalPodAutoscaler');

    assert.equal(at(deployment, 'spec', 'replicas'), undefined);
    assert.equal(at(hpa, 'apiVersion'), 'autoscaling/v2');
    assert.deepEqual(at(hpa, 'spec', 'scaleTargetRef'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'catalog',
    });
    assert.deepEqual([at(hpa, 'spec', 'minReplicas'), at(hpa, 'spec', 'maxReplicas')], [3, 30]);
    assert.deepEqual(at(hpa, 'spec', 'metrics'), [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
      {
        type: 'Pods',
        pods: {
          metric: { name: 'http_requests_per_second' },
          target: { type: 'AverageValue', averageValue: '150' },
        },
      },
    ]);
    assert.equal(at(hpa, 'spec', 'behavior', 'scaleUp', 'stabilizationWindowSeconds'), 0);
    assert.equal(at(hpa, 'spec', 'behavior', 'scaleDown', 'stabilizationWindowSeconds'), 300);
    assert.deepEqual(at(hpa, 'spec', 'behavior', 'scaleDown', 'policies'), [
      { type: 'Percent', value: 10, periodSeconds: 60 },
    ]);
  });

  it('when another autoscaler (KEDA) scales it, then there is no HPA of its own and still no replica count', () => {
    const objects = synth({ autoscaling: 'external' });

    assert.equal(objects.has('HorizontalPodAutoscaler'), false);
    assert.equal(at(objects.get('Deployment'), 'spec', 'replicas'), undefined);
  });

  it('when Prometheus looks for targets, then the ServiceMonitor selects the service and scrapes /metrics on its port', () => {
    const monitor = synth().get('ServiceMonitor');

    assert.equal(at(monitor, 'apiVersion'), 'monitoring.coreos.com/v1');
    assert.equal(at(monitor, 'metadata', 'labels', 'release'), 'kube-prometheus-stack');
    assert.deepEqual(at(monitor, 'spec'), {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'catalog' } },
      endpoints: [{ port: 'http', path: '/metrics', interval: '15s' }],
    });
  });

  it('when a pod runs, then it is probed on /livez and /readyz, limited, and locked down', () => {
    const pod = at(synth().get('Deployment'), 'spec', 'template', 'spec') as Record<
      string,
      unknown
    >;
    const container = at(pod, 'containers', 0) as Record<string, unknown>;

    assert.equal(at(container, 'startupProbe', 'httpGet', 'path'), '/livez');
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), '/livez');
    assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), '/readyz');
    assert.deepEqual(at(container, 'resources'), {
      requests: { cpu: '100m', memory: '192Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
    assert.deepEqual(at(container, 'securityContext'), {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(at(pod, 'securityContext', 'seccompProfile'), { type: 'RuntimeDefault' });
    assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true);
    assert.equal(at(pod, 'automountServiceAccountToken'), false);
    assert.equal(at(pod, 'serviceAccountName'), 'catalog');
  });

  it('when a pod is stopped, then it keeps serving for the drain delay, and the grace period covers drain and shutdown', () => {
    const pod = at(
      synth({ drainDelaySeconds: 7, shutdownTimeoutSeconds: 25 }).get('Deployment'),
      'spec',
      'template',
      'spec',
    );
    const container = at(pod, 'containers', 0);
    const env = at(container, 'env') as { name: string; value?: string }[];

    assert.deepEqual(at(container, 'lifecycle', 'preStop', 'exec', 'command'), ['sleep', '7']);
    assert.equal(at(pod, 'terminationGracePeriodSeconds'), 7 + 25 + 5);
    assert.equal(env.find((e) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value, '25000');
    assert.equal(env.find((e) => e.name === 'SHUTDOWN_DRAIN_DELAY_MS')?.value, '0');
  });

  it('when spread over zones, then replicas are spread over zones and nodes; otherwise over nodes only', () => {
    const keys = (spreadOverZones: boolean) =>
      (
        at(
          synth({ spreadOverZones }).get('Deployment'),
          'spec',
          'template',
          'spec',
          'topologySpreadConstraints',
        ) as {
          topologyKey: string;
        }[]
      ).map((c) => c.topologyKey);

    assert.deepEqual(keys(true), ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    assert.deepEqual(keys(false), ['kubernetes.io/hostname']);
  });

  it('when callers and destinations are given, then the NetworkPolicy denies everything else', () => {
    const policy = synth({
      allowFrom: { apps: ['cart'], namespaces: ['envoy-gateway-system'] },
      allowTo: [{ app: 'redis', ports: [6379] }],
    }).get('NetworkPolicy');

    assert.deepEqual(at(policy, 'spec', 'policyTypes'), ['Ingress', 'Egress']);
    assert.deepEqual(at(policy, 'spec', 'ingress'), [
      {
        from: [
          { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'cart' } } },
          {
            namespaceSelector: {
              matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' },
            },
          },
        ],
        ports: [{ port: 3000, protocol: 'TCP' }],
      },
    ]);
    const egress = at(policy, 'spec', 'egress') as unknown[];
    assert.equal(egress.length, 2, 'DNS and Redis');
    assert.deepEqual(egress[1], {
      to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }],
      ports: [{ port: 6379, protocol: 'TCP' }],
    });
    assert.deepEqual(at(synth().get('NetworkPolicy'), 'spec', 'ingress'), [], 'nobody by default');
  });

  it('when secrets are referenced, then the variables come from secretKeyRef, never as values', () => {
    const env = at(
      synth({ secretEnv: { AUTH_JWT_SECRET: { secret: 'mela-auth', key: 'jwt-secret' } } }).get(
        'Deployment',
      ),
      'spec',
      'template',
      'spec',
      'containers',
      0,
      'env',
    ) as unknown[];

    assert.deepEqual(
      env.find((e) => (e as { name: string }).name === 'AUTH_JWT_SECRET'),
      {
        name: 'AUTH_JWT_SECRET',
        valueFrom: { secretKeyRef: { name: 'mela-auth', key: 'jwt-secret' } },
      },
    );
  });

  it('when a ConfigMap key is to be a file, then it is mounted read-only at its path, nothing else of the map', () => {
    const pod = at(
      synth({
        configFiles: [
          { configMap: 'mela-vschema', key: 'vschema.json', path: '/etc/mela/vschema.json' },
        ],
      }).get('Deployment'),
      'spec',
      'template',
      'spec',
    );

    assert.deepEqual(at(pod, 'containers', 0, 'volumeMounts', 1), {
      name: 'config-0',
      mountPath: '/etc/mela/vschema.json',
      subPath: 'vschema.json',
      readOnly: true,
    });
    assert.deepEqual(at(pod, 'volumes', 1), {
      name: 'config-0',
      configMap: { name: 'mela-vschema', items: [{ key: 'vschema.json', path: 'vschema.json' }] },
    });
  });

  it('when properties are invalid, then synthesis stops with a message naming the service and the property', () => {
    const cases: [Partial<MicroserviceProps>, string][] = [
      [
        { name: 'Catalog' },
        'Microservice Catalog: name must be a DNS label (lower-case letters, digits and -, at most 63)',
      ],
      [{ port: 70000 }, 'Microservice catalog: port must be from 1 to 65535, got 70000'],
      [
        { replicas: { min: 0, max: 3 } },
        'Microservice catalog: replicas.min must be at least 1, got 0',
      ],
      [
        { replicas: { min: 5, max: 3 } },
        'Microservice catalog: replicas.max (3) must be at least replicas.min (5)',
      ],
      [
        { targetCpuUtilization: 120 },
        'Microservice catalog: targetCpuUtilization must be a percentage from 1 to 100, got 120',
      ],
      [
        { targetRequestsPerSecond: 0 },
        'Microservice catalog: targetRequestsPerSecond must be positive, got 0',
      ],
      [
        { requests: { cpu: '1x', memory: '1Gi' } },
        'Microservice catalog: requests.cpu must be a Kubernetes quantity such as 250m or 256Mi, got "1x"',
      ],
      [
        { shutdownTimeoutSeconds: 0 },
        'Microservice catalog: shutdownTimeoutSeconds must be a whole number of seconds ≥ 1, got 0',
      ],
      [{ maxUnavailable: 0 }, 'Microservice catalog: maxUnavailable must be at least 1, got 0'],
      [
        { env: { PORT: '80' } },
        'Microservice catalog: PORT is set by the construct from its properties',
      ],
    ];
    for (const [props, message] of cases) {
      assert.throws(() => synth(props), { message }, JSON.stringify(props));
    }
  });
  it('when the cluster has no Prometheus Operator nor custom-metrics adapter, then there is no ServiceMonitor and the HPA scales on CPU alone', () => {
    const objects = synth({ serviceMonitor: false, requestRateMetric: false });

    assert.equal(objects.has('ServiceMonitor'), false);
    assert.deepEqual(at(objects.get('HorizontalPodAutoscaler'), 'spec', 'metrics'), [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ]);
  });

  it('when a destination is outside the cluster, then egress allows its address block on its ports only', () => {
    const objects = synth({ allowTo: [{ cidr: '10.0.3.7/32', ports: [6390, 3407] }] });
    const egress = at(objects.get('NetworkPolicy'), 'spec', 'egress') as unknown[];

    assert.deepEqual(egress[1], {
      to: [{ ipBlock: { cidr: '10.0.3.7/32' } }],
      ports: [
        { port: 6390, protocol: 'TCP' },
        { port: 3407, protocol: 'TCP' },
      ],
    });
  });
});
