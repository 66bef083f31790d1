import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ensureHelm } from '@mela/toolchain';
import type { KubeObject } from '@mela/testkit';
import {
  chartDefaults,
  chartValuesSchema,
  environments,
  escapeHelmTemplates,
  prod,
  type Environment,
} from '../src/index.js';
import { outsideServers, synthObjects } from './support.js';

const chart = fileURLToPath(new URL('../../../charts/mela', import.meta.url));

describe('charts/mela through the real helm command', () => {
  const helm = ensureHelm();

  /**
   * `helm template` with `--set` values (and a values file of `values`): the objects, or what
   * helm said when it refused.
   */
  const render = (sets: readonly string[] = [], values?: object, extra: readonly string[] = []) => {
    const dir = mkdtempSync(join(tmpdir(), 'mela-helm-values-'));
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values ?? {}));
    const run = spawnSync(
      helm,
      [
        'template',
        'mela',
        chart,
        '--namespace',
        'mela',
        '--values',
        file,
        ...extra,
        ...sets.flatMap((s) => ['--set', s]),
      ],
      { encoding: 'utf8' },
    );
    rmSync(dir, { recursive: true, force: true });
    const objects =
      run.status === 0
        ? parseAllDocuments(run.stdout)
            .map((doc) => doc.toJS() as KubeObject | null)
            .filter((o): o is KubeObject => o !== null)
        : [];
    return { status: run.status, stderr: run.stderr, objects };
  };
  const find = (objects: readonly KubeObject[], kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `${kind} ${name}`);
    return found as KubeObject & { spec: Record<string, unknown> };
  };
  const containerOf = (deployment: KubeObject & { spec: Record<string, unknown> }) =>
    (deployment.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
      .spec.containers[0] ?? {};
  /** The value of variable `name` in a Deployment's container. */
  const variableOf = (objects: readonly KubeObject[], deployment: string, name: string) =>
    (
      containerOf(find(objects, 'Deployment', deployment)) as {
        env: { name: string; value?: string }[];
      }
    ).env.find((e) => e.name === name)?.value;

  it('when linted strictly, then helm finds nothing wrong', () => {
    const out = execFileSync(helm, ['lint', '--strict', chart], { encoding: 'utf8' });

    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('when values are set, then the image, each service’s replicas and resources, and the Gateway’s host follow them', () => {
    const { status, stderr, objects } = render([
      'image.repository=registry.example.com/shop/mela',
      'image.tag=2.0.0',
      'image.pullPolicy=Always',
      'services.order.minReplicas=5',
      'services.order.maxReplicas=60',
      'services.cart.resources.limits.memory=1Gi',
      'services.notification.maxReplicas=12',
      'gateway.tls.hostname=shop.test.example',
      'auth.jwksUrl=https://idp.test.example/keys',
      'logLevel=debug',
      'secrets.redis=shop-redis',
      'secrets.shards=shop-shards',
      'tracing.endpoint=http://collector.tracing.svc:4318',
      'tracing.namespace=tracing',
      'tracing.sampleRatio=0.25',
    ]);
    assert.equal(status, 0, stderr);
    for (const name of ['catalog', 'cart', 'order', 'notification']) {
      const container = containerOf(find(objects, 'Deployment', name));
      assert.equal(container['image'], 'registry.example.com/shop/mela:2.0.0', name);
      assert.equal(container['imagePullPolicy'], 'Always', name);
    }
    const order = find(objects, 'HorizontalPodAutoscaler', 'order').spec;
    assert.deepEqual([order['minReplicas'], order['maxReplicas']], [5, 60]);
    assert.equal(find(objects, 'HorizontalPodAutoscaler', 'catalog').spec['maxReplicas'], 30);
    const cart = containerOf(find(objects, 'Deployment', 'cart')) as {
      resources: { limits: { memory: string } };
    };
    assert.equal(cart.resources.limits.memory, '1Gi');
    assert.equal(find(objects, 'ScaledObject', 'notification').spec['maxReplicaCount'], 12);
    assert.match(
      JSON.stringify(find(objects, 'Gateway', 'mela')),
      /"hostname":"shop\.test\.example"/,
    );
    // Spans go to the collector set, which the services' egress policy lets them reach.
    const variable = (name: string) => variableOf(objects, 'order', name);
    assert.equal(variable('OTEL_EXPORTER_OTLP_ENDPOINT'), 'http://collector.tracing.svc:4318');
    assert.equal(variable('OTEL_TRACES_SAMPLER_ARG'), '0.25');
    assert.equal(variable('OTEL_SDK_DISABLED'), 'false');
    assert.match(
      JSON.stringify(find(objects, 'NetworkPolicy', 'order')),
      /"namespaceSelector":\{"matchLabels":\{"kubernetes\.io\/metadata\.name":"tracing"\}\}/,
    );
    assert.equal(variable('RATE_LIMIT'), 'true');
    const off = render(['tracing.enabled=false', 'features.rateLimit=false']);
    assert.equal(off.status, 0, off.stderr);
    assert.equal(variableOf(off.objects, 'cart', 'OTEL_SDK_DISABLED'), 'true');
    assert.equal(variableOf(off.objects, 'cart', 'RATE_LIMIT'), 'false');
  });

  it('when a value cannot work, then helm refuses it before rendering anything, and says which', () => {
    for (const [set, says] of [
      ['services.order.minReplicas=0', /minReplicas/],
      ['services.order.maxReplicas=2', /maxReplicas \(2\) is below minReplicas \(3\)/],
      ['image.pullPolicy=Sometimes', /pullPolicy/],
      ['image.tag=has space', /tag/],
      ['services.catalog.resources.requests.cpu=lots', /cpu/],
      ['gateway.tls.hostname=not a host', /hostname/],
      ['replicas=3', /replicas/],
      ['auth.jwksUrl=http://idp.test.example/keys', /jwksUrl/],
      ['logLevel=loud', /logLevel/],
      ['secrets.redis=Shop_Redis', /redis/],
      ['tracing.sampleRatio=2', /sampleRatio/],
      ['features.rateLimit=maybe', /rateLimit/],
      ['features.nearCache=true', /nearCache/],
      ['tracing.endpoint=collector:4318', /endpoint/],
      ['tracing.namespace=Tracing', /namespace/],
      ['gateway.serviceType=Ingress', /serviceType/],
      ['gateway.tls.enabled=maybe', /enabled/],
      ['edgeCache.replicas=0', /replicas/],
      [
        'externalData.enabled=true',
        /missing properties 'redis', 'cartRedis', 'mysql', 'kafka', 'smtp'/,
      ],
      ['externalData.redis.address=redis.example.com', /address/],
    ] as const) {
      const { status, stderr } = render([set]);
      assert.notEqual(status, 0, set);
      assert.match(stderr, says, `${set}: ${stderr}`);
    }
  });

  it('when helm test runs, then a pod of the shop’s image asks each public service what it answers when up, let out by its own policy, both gone once it passes', () => {
    const hookOf = (o: KubeObject) =>
      (o.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'];
    const tests = render().objects.filter((o) => hookOf(o) === 'test');
    assert.deepEqual(tests.map((o) => o.kind).sort(), ['NetworkPolicy', 'Pod']);
    const pod = tests.find((o) => o.kind === 'Pod') as KubeObject & {
      spec: { containers: { image: string; command: string[] }[] };
    };
    assert.equal(pod.spec.containers[0]?.image, 'ghcr.io/mela-shop/mela:0.1.0');
    const script = pod.spec.containers[0].command.at(-1);
    assert.ok(script !== undefined);
    for (const path of [':3000', '/api/catalog/categories', '/api/cart', '/api/orders'])
      assert.ok(script.includes(path), path);
    // Each service lets the test's pod in.
    for (const service of ['catalog', 'cart', 'order']) {
      const policy = render().objects.find(
        (o) => o.kind === 'NetworkPolicy' && o.metadata.name === service,
      );
      assert.match(JSON.stringify(policy), /"app.kubernetes.io\/name":"mela-shop-test"/, service);
    }
  });

  it('when the chart’s defaults are read, then they are the prod environment’s, and the schema accepts them', () => {
    const values = parse(readFileSync(`${chart}/values.yaml`, 'utf8')) as unknown;
    assert.deepEqual(values, chartDefaults(prod));
    assert.ok(chartValuesSchema.safeParse(values).success);
  });

  // Helm installs in its own order (by kind); compare object by object.
  const key = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`;
  const byKey = (list: readonly KubeObject[]) =>
    [...list].sort((a, b) => key(a).localeCompare(key(b)));
  /** An environment's manifests as helm installs them: without the namespace helm creates. */
  const manifestsOf = (env: Environment) =>
    byKey(synthObjects(env).filter((o) => o.kind !== 'Namespace'));

  it('when rendered, then it is exactly the prod manifests (less the namespace helm creates), braces of alerts and legends intact', () => {
    const rendered = execFileSync(
      helm,
      ['template', 'mela', chart, '--namespace', 'mela', '--skip-tests'],
      { encoding: 'utf8' },
    );
    const objects = parseAllDocuments(rendered)
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);

    assert.deepEqual(byKey(objects), manifestsOf(environments.prod));
    assert.ok(rendered.includes('summary: "{{ $labels.service }} is burning its availability'));
  });

  it('when TLS, the waiting room or the in-cluster data layer is switched off, alone or together, then the objects are exactly those of prod so changed', () => {
    const switches = {
      tlsOff: {
        values: { gateway: { tls: { enabled: false } } },
        // The Gateway's Service stays what the values say (a load balancer), TLS or not.
        change: (env: Environment): Environment => ({
          ...env,
          tls: undefined,
          gatewayServiceType: 'LoadBalancer',
        }),
      },
      waitingRoomOff: {
        values: { features: { waitingRoom: false } },
        change: (env: Environment): Environment => ({
          ...env,
          edgeCache: { ...env.edgeCache, waitingRoom: false },
        }),
      },
      externalData: {
        values: { externalData: { enabled: true, ...outsideServers } },
        change: (env: Environment): Environment => ({ ...env, externalData: outsideServers }),
      },
    };
    const combinations = [
      ['tlsOff'],
      ['waitingRoomOff'],
      ['externalData'],
      ['tlsOff', 'waitingRoomOff', 'externalData'],
    ] as const;
    for (const names of combinations) {
      const chosen = names.map((name) => switches[name]);
      const values = chosen.reduce<object>((all, { values }) => merge(all, values), {});
      const { status, stderr, objects } = render([], values, ['--skip-tests']);
      assert.equal(status, 0, stderr);
      const env = chosen.reduce((e, { change }) => change(e), environments.prod);

      assert.deepEqual(byKey(objects), manifestsOf(env), names.join(' + '));
    }
  });

  it('when a template holds braces, then they are escaped so Helm prints them', () => {
    assert.equal(escapeHelmTemplates('a {{ $x }} b'), 'a {{ "{{" }} $x {{ "}}" }} b');
  });
});

/** `b` laid over `a`, object by object (as helm merges values files). */
function merge(a: object, b: object): object {
  const out: Record<string, unknown> = { ...a };
  for (const [name, value] of Object.entries(b)) {
    const before = out[name];
    out[name] =
      typeof value === 'object' && value !== null && typeof before === 'object' && before !== null
        ? merge(before, value as object)
        : value;
  }
  return out;
}
