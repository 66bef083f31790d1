import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { clusterOperators } from '@mela/cluster';
import { synthLoad, type TestRunSpec } from './support.js';
import { gatewayService, k6RunnerImage, k6Scenarios, secrets } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('the k6 load tests for the cluster (charts/load)', () => {
  const { files, objects } = synthLoad();

  it('when synthesized, then charts/load holds exactly that (run npm run synth when it differs)', () => {
    const committed = new Map(
      readdirSync(join(root, 'charts/load')).map((f) => [
        f,
        readFileSync(join(root, 'charts/load', f), 'utf8'),
      ]),
    );
    assert.deepEqual(committed, files);
  });

  it('when a TestRun starts, then its script and every file it imports are in the ConfigMap, as written in packages/load/k6', () => {
    const configMap = objects.find((o) => o.kind === 'ConfigMap');
    const data = (configMap?.['data'] ?? {}) as Record<string, string>;
    const sources = readdirSync(join(root, 'packages/load/k6')).filter((f) => f.endsWith('.ts'));

    assert.deepEqual(Object.keys(data).sort(), sources.sort());
    for (const file of sources)
      assert.equal(data[file], readFileSync(join(root, 'packages/load/k6', file), 'utf8'));
    for (const text of Object.values(data)) {
      for (const [, imported] of text.matchAll(/from '\.\/([\w.-]+)'/g)) {
        assert.ok(
          imported !== undefined && imported in data,
          `${String(imported)} is mounted next to it`,
        );
      }
    }
    const runs = objects.filter((o) => o.kind === 'TestRun');
    assert.deepEqual(
      runs.map((o) => (o['spec'] as TestRunSpec).script),
      k6Scenarios.map((s) => ({ configMap: { name: configMap?.metadata.name, file: s.script } })),
    );
  });

  it('when the runners start, then they are pinned, drive the Gateway, sign with the documented key and remote-write to Prometheus', () => {
    const served = new Set(clusterOperators.flatMap((op) => op.provides));
    assert.ok(served.has('k6.io'), 'the k6-operator is installed by cluster:up');
    assert.match(k6RunnerImage, /^grafana\/k6:\d+\.\d+\.\d+$/);
    for (const run of objects.filter((o) => o.kind === 'TestRun')) {
      const spec = run['spec'] as TestRunSpec;
      const env = new Map(spec.runner.env.map((e) => [e.name, e]));
      assert.equal(run.apiVersion, 'k6.io/v1alpha1');
      assert.equal(spec.runner.image, k6RunnerImage);
      assert.equal(
        env.get('BASE_URL')?.value,
        `http://${gatewayService.name}.${gatewayService.namespace}.svc`,
      );
      assert.deepEqual(env.get('AUTH_JWT_SECRET')?.valueFrom?.secretKeyRef, {
        name: secrets.auth.secret,
        key: secrets.auth.key,
      });
      assert.match(spec.arguments, /--out experimental-prometheus-rw/);
      assert.match(
        env.get('K6_PROMETHEUS_RW_SERVER_URL')?.value ?? '',
        /^http:\/\/kube-prometheus-stack-prometheus\.monitoring\.svc:9090\/api\/v1\/write$/,
      );
    }
    const stack = readFileSync(
      join(root, 'infra/cluster/kube-prometheus-stack.values.yaml'),
      'utf8',
    );
    assert.match(stack, /enableRemoteWriteReceiver: true/);
  });
});
