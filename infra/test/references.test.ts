import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cartVariables, loadCartConfig } from '@mela/cart/config';
import { catalogVariables, loadCatalogConfig } from '@mela/catalog/config';
import { loadNotificationConfig, notificationVariables } from '@mela/notification/config';
import { loadOrderConfig, orderVariables } from '@mela/order/config';
import {
  createHttpService,
  createPlatform,
  createServiceApp,
  loadConfig,
  platformConfigSchema,
  type HttpService,
} from '@mela/platform';
import { clusterOperators, vitessOperator } from '@mela/cluster';
import { principalHeader } from '@mela/edge';
import { principalKeyHeader } from '@mela/platform';
import type { KubeObject } from '@mela/testkit';
import { localShardMap, localTopology, type ServiceName } from '@mela/topology';
import {
  dataLayer,
  allAddons,
  environments,
  gatewayService,
  kafkaCluster,
  mysqlSecret,
  secrets,
} from '../src/index.js';
import { parse } from 'yaml';
import { synthObjects } from './support.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** What the code reads, per service: a manifest naming anything else is wrong. */
const services: Record<
  ServiceName,
  { variables: readonly string[]; load: (env: Record<string, string>) => unknown }
> = {
  catalog: { variables: catalogVariables, load: loadCatalogConfig },
  cart: { variables: cartVariables, load: loadCartConfig },
  order: { variables: orderVariables, load: loadOrderConfig },
  notification: { variables: notificationVariables, load: loadNotificationConfig },
};

/** Values a Secret would hold, valid for the services' configuration. */
const secretValues: Record<string, string> = {
  [`${secrets.auth.secret}/${secrets.auth.key}`]: 'a-development-secret-of-more-than-32-characters',
  [`${secrets.rateLimitClient.secret}/${secrets.rateLimitClient.key}`]:
    'a-client-id-key-of-more-than-32-characters',
  [`${secrets.shardMap.secret}/${secrets.shardMap.key}`]: JSON.stringify(
    localShardMap(localTopology({})),
  ),
  [`${secrets.kafkaPassword.secret}/${secrets.kafkaPassword.key}`]: 'a-password',
  [`${secrets.vtgateUrl.secret}/${secrets.vtgateUrl.key}`]:
    'mysql://mela:a-password@mela-vtgate:3306',
  [`${secrets.redisUrl.secret}/${secrets.redisUrl.key}`]: 'redis://:a-password@redis:6379',
  [`${secrets.cartRedisUrl.secret}/${secrets.cartRedisUrl.key}`]:
    'redis://:a-password@redis-carts:6379',
};

interface Container {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  env: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef: { name: string; key: string } };
  }[];
  startupProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

/** The containers of the Mela services' Deployments (not the edge cache's nginx). */
function containersOf(objects: readonly KubeObject[]) {
  return objects
    .filter((o) => o.kind === 'Deployment' && o.metadata.name in services)
    .map((o) => {
      const spec = o['spec'] as { template: { spec: { containers: Container[] } } };
      const [container] = spec.template.spec.containers;
      assert.ok(container, o.metadata.name);
      return { deployment: o.metadata.name, container };
    });
}

/** Where the mounted files are written: one folder for this file's tests, removed after them. */
const scratch = mkdtempSync(join(tmpdir(), 'mela-mounted-'));
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * When `path` is where a Deployment mounts a ConfigMap key, that key's content written to a
 * temporary file (its path returned) — so the configuration loads what the pod would read.
 */
function mountedFile(
  objects: readonly KubeObject[],
  deployment: string,
  path: string,
): string | undefined {
  const spec = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment)?.[
    'spec'
  ] as {
    template: {
      spec: {
        containers: { volumeMounts?: { name: string; mountPath: string }[] }[];
        volumes?: { name: string; configMap?: { name: string; items: { key: string }[] } }[];
      };
    };
  };
  const pod = spec.template.spec;
  const mount = pod.containers[0]?.volumeMounts?.find((m) => m.mountPath === path);
  const source = pod.volumes?.find((v) => v.name === mount?.name)?.configMap;
  if (source === undefined) return undefined;
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === source.name);
  const key = source.items[0]?.key ?? '';
  const content = (configMap?.['data'] as Record<string, string> | undefined)?.[key];
  assert.ok(
    content !== undefined,
    `${deployment} mounts ${source.name}/${key}, which the manifests do not define`,
  );
  const file = join(mkdtempSync(join(scratch, `${deployment}-`)), key);
  writeFileSync(file, content);
  return file;
}

describe('what the manifests reference exists in the code, the image and the configuration', () => {
  let probeTarget: HttpService;
  let probeUrl: string;
  before(async () => {
    // The platform every service is built on: the probes must be answered there.
    const platform = createPlatform(
      'probe-check',
      loadConfig(platformConfigSchema, { AUTH_JWT_SECRET: 'x'.repeat(40), LOG_LEVEL: 'silent' }),
    );
    probeTarget = createHttpService(
      platform,
      createServiceApp(platform, () => undefined),
    );
    const address = await probeTarget.start();
    probeUrl = `http://127.0.0.1:${String(address.port)}`;
  });
  after(() => probeTarget.stop());

  it('when skaffold builds and deploys dev, then its image is the one dev runs, it applies charts/dev (charts/dev-vitess with -p vitess) and forwards the Gateway', () => {
    const skaffold = parse(readFileSync(join(root, 'skaffold.yaml'), 'utf8')) as {
      build: { artifacts: { image: string; docker: { dockerfile: string } }[] };
      manifests: { rawYaml: string[]; hooks: { before: { host: { command: string[] } }[] } };
      profiles: { name: string; patches?: { op: string; path: string; value: string }[] }[];
      portForward: {
        resourceType: string;
        resourceName: string;
        namespace: string;
        port: number;
      }[];
    };
    const [artifact] = skaffold.build.artifacts;

    assert.ok(artifact);
    assert.equal(artifact.image, environments.dev.image.split(':')[0]);
    assert.ok(existsSync(join(root, artifact.docker.dockerfile)));
    assert.deepEqual(skaffold.manifests.rawYaml, ['charts/dev/*.yaml']);
    const vitess = skaffold.profiles.find((p) => p.name === 'vitess');
    assert.deepEqual(vitess?.patches, [
      { op: 'replace', path: '/manifests/rawYaml/0', value: 'charts/dev-vitess/*.yaml' },
    ]);
    assert.equal(environments['dev-vitess'].image, environments.dev.image);
    assert.deepEqual(skaffold.manifests.hooks.before[0]?.host.command, [
      'npm',
      'run',
      '--silent',
      'synth',
    ]);
    assert.deepEqual(skaffold.portForward[0], {
      resourceType: 'service',
      resourceName: gatewayService.name,
      namespace: gatewayService.namespace,
      port: 80,
      localPort: 8080,
    });
  });

  for (const env of Object.values(environments)) {
    const objects = synthObjects(env);

    it(`when ${env.name} sets a variable, then its service reads it, and the values load as its configuration`, () => {
      for (const { deployment, container } of containersOf(objects)) {
        const service = services[deployment as ServiceName];
        assert.ok(service, `${deployment} is not a Mela service`);
        const unknown = container.env
          .map((e) => e.name)
          .filter((name) => name !== 'MELA_SERVICE' && !service.variables.includes(name));
        assert.deepEqual(unknown, [], `${deployment} sets variables its code never reads`);
        const values = Object.fromEntries(
          container.env.map((e) => {
            const ref = e.valueFrom?.secretKeyRef;
            const value = ref ? secretValues[`${ref.name}/${ref.key}`] : e.value;
            assert.ok(value !== undefined, `${deployment}: ${e.name} has no value`);
            // A path inside a mounted ConfigMap: the test reads the ConfigMap's own content.
            const mounted = mountedFile(objects, deployment, value);
            return [e.name, mounted ?? value];
          }),
        );
        assert.doesNotThrow(() => service.load(values), `${deployment}'s configuration`);
      }
    });

    it(`when ${env.name} runs the image, then MELA_SERVICE names a built service and the image's entrypoint reads it`, () => {
      const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
      assert.match(dockerfile, /services\/\$\{MELA_SERVICE/);
      for (const { deployment, container } of containersOf(objects)) {
        assert.equal(container.image, env.image);
        const chosen = container.env.find((e) => e.name === 'MELA_SERVICE')?.value;
        assert.equal(chosen, deployment);
        assert.ok(existsSync(join(root, `services/${deployment}/src/main.ts`)), deployment);
      }
    });

    it(`when ${env.name} probes, routes and scrapes, then every port and path is one the pods serve`, async () => {
      const serviceObjects = objects.filter((o) => o.kind === 'Service');
      for (const { deployment, container } of containersOf(objects)) {
        const [port] = container.ports;
        assert.ok(port);
        assert.equal(port.name, 'http');
        assert.equal(
          container.env.find((e) => e.name === 'PORT')?.value,
          String(port.containerPort),
        );
        for (const probe of [
          container.startupProbe,
          container.livenessProbe,
          container.readinessProbe,
        ]) {
          assert.equal(probe.httpGet.port, 'http');
          const answer = await fetch(`${probeUrl}${probe.httpGet.path}`);
          await answer.body?.cancel();
          assert.equal(answer.status, 200, `${deployment} probes ${probe.httpGet.path}`);
        }
        const service = serviceObjects.find((o) => o.metadata.name === deployment);
        const servicePorts = (
          service?.['spec'] as { ports: { name: string; port: number; targetPort: string }[] }
        ).ports;
        assert.deepEqual(
          servicePorts.map((p) => [p.name, p.targetPort]),
          [['http', 'http']],
        );
      }
      for (const route of objects.filter((o) => o.kind === 'HTTPRoute')) {
        const rules = (
          route['spec'] as { rules: { backendRefs?: { name: string; port: number }[] }[] }
        ).rules;
        // A redirect rule has no backends.
        for (const ref of rules.flatMap((r) => r.backendRefs ?? [])) {
          const target = serviceObjects.find((o) => o.metadata.name === ref.name);
          assert.ok(target, `HTTPRoute ${route.metadata.name} → ${ref.name}`);
          const ports = (target['spec'] as { ports: { port: number }[] }).ports.map((p) => p.port);
          assert.ok(ports.includes(ref.port), `${ref.name} has no port ${String(ref.port)}`);
        }
      }
      for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
        const endpoints = (monitor['spec'] as { endpoints: { port: string; path: string }[] })
          .endpoints;
        for (const endpoint of endpoints) {
          assert.equal(endpoint.port, 'http');
          const answer = await fetch(`${probeUrl}${endpoint.path}`);
          await answer.body?.cancel();
          assert.equal(answer.status, 200, `${monitor.metadata.name} scrapes ${endpoint.path}`);
        }
      }
    });

    it(`when ${env.name} reads a Secret key, then it is a documented one, and in dev the chart itself creates it`, () => {
      const documented = new Set([
        ...Object.values(secrets).map((s) => `${s.secret}/${s.key}`),
        `${mysqlSecret.secret}/${mysqlSecret.rootPasswordKey}`,
        `${mysqlSecret.secret}/${mysqlSecret.passwordKey}`,
      ]);
      const podSpecs = objects.flatMap((o) => {
        const spec = o['spec'] as
          | {
              template?: {
                spec?: {
                  containers?: { env?: Container['env'] }[];
                  initContainers?: { env?: Container['env'] }[];
                };
              };
            }
          | undefined;
        return [
          ...(spec?.template?.spec?.initContainers ?? []),
          ...(spec?.template?.spec?.containers ?? []),
        ];
      });
      const referenced = podSpecs.flatMap((c) =>
        (c.env ?? []).flatMap((e) =>
          e.valueFrom ? [`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`] : [],
        ),
      );
      const triggerAuth = objects
        .filter((o) => o.kind === 'TriggerAuthentication')
        .flatMap((o) =>
          (o['spec'] as { secretTargetRef: { name: string; key: string }[] }).secretTargetRef.map(
            (r) => `${r.name}/${r.key}`,
          ),
        );
      const all = [...referenced, ...triggerAuth];
      assert.deepEqual(
        all.filter((ref) => !documented.has(ref)),
        [],
      );
      if (env.devSecrets) {
        const created = new Set(
          objects
            .filter((o) => o.kind === 'Secret')
            .flatMap((o) =>
              Object.keys((o['stringData'] ?? {}) as Record<string, string>).map(
                (key) => `${o.metadata.name}/${key}`,
              ),
            ),
        );
        // The Kafka user's password is written by Strimzi's User Operator for its KafkaUser.
        const fromOperators = new Set([
          `${secrets.kafkaPassword.secret}/${secrets.kafkaPassword.key}`,
        ]);
        assert.deepEqual(
          [...new Set(all)].filter((ref) => !created.has(ref) && !fromOperators.has(ref)),
          [],
        );
      }
    });

    const addons = env.addons ?? allAddons;

    if (!addons.gateway) {
      it(`when ${env.name}'s cluster has no Gateway, then neither a Gateway, its routes nor the edge cache are in it`, () => {
        const kinds = new Set(objects.map((o) => o.kind));
        for (const kind of ['Gateway', 'HTTPRoute', 'GatewayClass', 'EnvoyProxy'])
          assert.equal(kinds.has(kind), false, kind);
        assert.equal(
          objects.some((o) => o.metadata.name === 'edge-cache'),
          false,
        );
      });
    } else
      it(`when ${env.name} runs the edge cache, then nginx's generated configuration is mounted and serves its probe path`, () => {
        const config = objects.find(
          (o) => o.kind === 'ConfigMap' && o.metadata.name === 'edge-cache',
        );
        const deployment = objects.find(
          (o) => o.kind === 'Deployment' && o.metadata.name === 'edge-cache',
        );
        const pod = (
          deployment?.['spec'] as {
            template: {
              spec: {
                containers: {
                  args: string[];
                  readinessProbe: { httpGet: { path: string } };
                  startupProbe?: { httpGet: { path: string } };
                }[];
              };
            };
          }
        ).template.spec;
        const nginx =
          (config?.['data'] as Record<string, string> | undefined)?.['nginx.conf'] ?? '';
        const [container] = pod.containers;

        assert.ok(container);
        assert.deepEqual(container.args.slice(0, 3), ['nginx', '-c', '/etc/mela/nginx.conf']);
        assert.match(nginx, new RegExp(`location = ${container.readinessProbe.httpGet.path} \\{`));
        assert.equal(container.startupProbe?.httpGet.path, container.readinessProbe.httpGet.path);
        assert.match(nginx, /proxy_cache mela_edge;/);
        assert.match(nginx, /server catalog\.mela\.svc\.cluster\.local:3000 /);
      });

    it(`when ${env.name} uses custom resources, then an operator cluster:up installs serves each group`, () => {
      const builtIn = new Set([
        'apps',
        'batch',
        'policy',
        'autoscaling',
        'networking.k8s.io',
        'discovery.k8s.io',
      ]);
      const groups = new Set(
        objects
          .map((o) => o.apiVersion)
          .filter((v) => v.includes('/'))
          .map((v) => v.slice(0, v.indexOf('/')))
          .filter((g) => !builtIn.has(g)),
      );
      const served = new Set([...clusterOperators, vitessOperator].flatMap((op) => op.provides));

      assert.deepEqual(
        [...groups].filter((g) => !served.has(g)),
        [],
      );
      assert.equal(groups.has('kafka.strimzi.io'), env.externalData === undefined);
      assert.equal(groups.has('keda.sh'), addons.keda);
      assert.equal(groups.has('monitoring.coreos.com'), addons.prometheusOperator);
    });

    it(`when ${env.name} autoscales and is watched, then the adapter serves the HPAs' metric from a series the services export, and Grafana and Prometheus select the monitoring objects`, async () => {
      const adapter = parse(
        readFileSync(join(root, 'infra/cluster/prometheus-adapter.values.yaml'), 'utf8'),
      ) as {
        rules: { custom: { seriesQuery: string; name: { as: string } }[] };
      };
      const stack = parse(
        readFileSync(join(root, 'infra/cluster/kube-prometheus-stack.values.yaml'), 'utf8'),
      ) as {
        grafana: {
          sidecar: { dashboards: { label: string; labelValue: string; searchNamespace: string } };
        };
      };
      const served = new Map(
        adapter.rules.custom.map((rule) => [rule.name.as, rule.seriesQuery.split('{')[0]]),
      );
      const exported = await (await fetch(`${probeUrl}/metrics`)).text();
      for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
        const metrics = (
          hpa['spec'] as { metrics: { type: string; pods?: { metric: { name: string } } }[] }
        ).metrics;
        for (const metric of metrics.filter((m) => m.type === 'Pods')) {
          const series = served.get(metric.pods?.metric.name ?? '');
          assert.ok(series, `${hpa.metadata.name}: ${String(metric.pods?.metric.name)} is served`);
          assert.match(exported, new RegExp(`^${series}\\{`, 'm'), `${series} is exported`);
        }
      }
      if (!addons.customMetrics) {
        // Without an adapter a Pods metric would never be served, and the HPA never scale down.
        const types = objects
          .filter((o) => o.kind === 'HorizontalPodAutoscaler')
          .flatMap((hpa) => (hpa['spec'] as { metrics: { type: string }[] }).metrics)
          .map((m) => m.type);
        assert.deepEqual([...new Set(types)], ['Resource']);
      }
      if (!addons.prometheusOperator) {
        assert.equal(
          objects.some((o) => ['PrometheusRule', 'ServiceMonitor'].includes(o.kind)),
          false,
        );
        return;
      }
      const { label, labelValue, searchNamespace } = stack.grafana.sidecar.dashboards;
      const dashboards = objects.filter(
        (o) => o.kind === 'ConfigMap' && o.metadata.labels?.[label] === labelValue,
      );
      assert.equal(dashboards.length, 7);
      assert.equal(searchNamespace, 'ALL');
      const release = clusterOperators.find((op) => op.name === 'kube-prometheus-stack')?.name;
      for (const kind of ['PrometheusRule', 'ServiceMonitor']) {
        const selected = objects.filter((o) => o.kind === kind);
        assert.ok(selected.length > 0, kind);
        for (const o of selected)
          assert.equal(o.metadata.labels?.['release'], release, o.metadata.name);
      }
    });

    if (env.externalData) {
      const { kafka } = env.externalData;
      it(`when ${env.name}'s Kafka is outside the cluster, then its bootstrap Service has Strimzi's name and points at the broker, which the services reach without SCRAM`, () => {
        const slice = objects.find(
          (o) =>
            o.kind === 'EndpointSlice' &&
            o.metadata.labels?.['kubernetes.io/service-name'] === dataLayer.kafka.bootstrap,
        );
        assert.deepEqual(
          (slice?.['endpoints'] as { addresses: string[] }[] | undefined)?.[0]?.addresses,
          [kafka.address],
        );
        for (const { container } of containersOf(objects)) {
          const names = container.env.map((e) => e.name);
          assert.equal(names.includes('KAFKA_SASL_MECHANISM'), false);
          assert.equal(names.includes('KAFKA_PASSWORD'), false);
        }
      });
    } else
      it(`when ${env.name} connects to Kafka, then the names are those Strimzi and the services use`, () => {
        const user = objects.find((o) => o.kind === 'KafkaUser');
        const scaler = objects.find((o) => o.kind === 'ScaledObject');
        const topics = objects
          .filter((o) => o.kind === 'KafkaTopic')
          .map((o) => (o['spec'] as { topicName: string }).topicName);
        const trigger = (scaler?.['spec'] as { triggers: { metadata: Record<string, string> }[] })
          .triggers[0]?.metadata;

        assert.equal(dataLayer.kafka.bootstrap, `${kafkaCluster}-kafka-bootstrap`);
        assert.equal(
          user?.metadata.name,
          secrets.kafkaPassword.secret,
          'Strimzi names the Secret after the user',
        );
        const notification = loadNotificationConfig({
          AUTH_JWT_SECRET: 'x'.repeat(40),
          SHARD_MAP: JSON.stringify(localShardMap(localTopology({}))),
        });
        assert.deepEqual(
          topics.sort(),
          [notification.topic, notification.redelivery.topic, notification.deadLetterTopic].sort(),
        );
        assert.equal(trigger?.['topic'], 'orders');
        assert.equal(trigger['consumerGroup'], notification.groupId);
        if (env.devSecrets) {
          const client = objects.find(
            (o) => o.kind === 'Secret' && o.metadata.name === secrets.kafkaUsername.secret,
          );
          assert.equal(
            (client?.['stringData'] as Record<string, string> | undefined)?.[
              secrets.kafkaUsername.key
            ],
            user.metadata.name,
          );
        }
      });

    it(`when ${env.name} serves HTTPS, then plain HTTP only redirects there (301), and the API and pages are on HTTPS alone`, () => {
      const routes = objects.filter((o) => o.kind === 'HTTPRoute');
      const refs = (route: (typeof routes)[number]) =>
        (route['spec'] as { parentRefs: { name: string; sectionName?: string }[] }).parentRefs;
      if (!env.tls) {
        for (const route of routes) assert.deepEqual(refs(route), [{ name: 'mela' }]);
        return;
      }
      const redirect = routes.find((r) => r.metadata.name === 'https-redirect');
      assert.deepEqual(redirect && refs(redirect), [{ name: 'mela', sectionName: 'http' }]);
      assert.deepEqual(
        (redirect?.['spec'] as { rules: { filters: unknown[] }[] }).rules[0]?.filters,
        [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }],
      );
      for (const route of routes.filter((r) => r !== redirect))
        assert.deepEqual(
          refs(route),
          [{ name: 'mela', sectionName: 'https' }],
          route.metadata.name,
        );
    });

    it(`when ${env.name} takes checkouts, then they pass the edge cache's waiting room, which may reach the order and catalog replicas, and the header it counts users by is the one the catalog sends`, () => {
      assert.equal(principalHeader, principalKeyHeader);
      const routes = objects.filter((o) => o.kind === 'HTTPRoute');
      if (routes.length === 0) return; // no Gateway in this environment: nothing routes past the edge
      const ordersRoute = routes.filter((route) =>
        JSON.stringify(route['spec']).includes('"value":"/api/orders"'),
      );
      assert.deepEqual(
        ordersRoute.map((r) => r.metadata.name),
        ['edge-cache'],
      );
      const policy = (name: string) =>
        objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name)?.['spec'];
      assert.match(JSON.stringify(policy('order')), /"app.kubernetes.io\/name":"edge-cache"/);
      const egress = JSON.stringify((policy('edge-cache') as { egress: unknown }).egress);
      for (const app of ['order', 'catalog'])
        assert.match(egress, new RegExp(`"app.kubernetes.io/name":"${app}"`));
    });

    it(`when ${env.name} runs another command in the image, then its script is built and tini is in the image`, () => {
      const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
      type PodTemplate = {
        spec: {
          containers: { image: string; command: string[] }[];
          initContainers?: { image: string; command: string[] }[];
        };
      };
      const jobs = objects.flatMap((o) => {
        if (o.kind === 'Job')
          return [{ o, template: (o['spec'] as { template: PodTemplate }).template }];
        if (o.kind === 'CronJob') {
          const spec = o['spec'] as { jobTemplate: { spec: { template: PodTemplate } } };
          return [{ o, template: spec.jobTemplate.spec.template }];
        }
        return [];
      });
      assert.ok(jobs.some(({ o }) => o.metadata.name === 'notification-dlq-replay'));
      for (const { o: job, template } of jobs) {
        const pod = template.spec;
        const container = [...(pod.initContainers ?? []), ...pod.containers].find(
          (c) => c.image === env.image,
        );
        const [init, , , script] = container?.command ?? [];
        assert.equal(init, '/usr/bin/tini');
        assert.match(dockerfile, /apt-get install -y --no-install-recommends tini/);
        const source = script?.replace(
          /^(packages|services)\/(\w+)\/dist\/src\/(.+)\.js$/,
          '$1/$2/src/$3.ts',
        );
        assert.ok(
          source !== undefined && existsSync(join(root, source)),
          `${job.metadata.name}: ${String(script)}`,
        );
      }
    });
  }
});
