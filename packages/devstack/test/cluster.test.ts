import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  clusterOperators,
  clusterUpPlan,
  kindCluster,
  operatorCrds,
  repoRoot,
  strimziVersion,
} from '../src/index.js';

describe('npm run cluster:up, as a plan of commands', () => {
  it('when there is no cluster, then it creates the kind cluster from infra/kind.yaml first', () => {
    const [create] = clusterUpPlan(false);
    const config = readFileSync(join(repoRoot, 'infra/kind.yaml'), 'utf8');

    assert.deepEqual(create?.argv.slice(0, 5), [
      'kind',
      'create',
      'cluster',
      '--config',
      join(repoRoot, 'infra/kind.yaml'),
    ]);
    assert.match(config, new RegExp(`^name: ${kindCluster.name}$`, 'm'));
    assert.equal(config.match(/topology\.kubernetes\.io\/zone: zone-/g)?.length, 3);
  });

  it('when the cluster exists, then every operator is installed or upgraded in place, pinned, and waited for', () => {
    const plan = clusterUpPlan(true);
    const installs = plan.filter((step) => step.argv[0] === 'helm');

    assert.equal(plan[0]?.argv[0], 'helm', 'no second cluster');
    assert.deepEqual(
      installs.map((step) => step.argv[5]),
      clusterOperators.map((op) => op.name),
    );
    for (const [i, step] of installs.entries()) {
      const op = clusterOperators[i];
      assert.ok(op);
      assert.deepEqual(step.argv.slice(0, 5), [
        'helm',
        '--kube-context',
        kindCluster.context,
        'upgrade',
        '--install',
      ]);
      assert.equal(step.argv[step.argv.indexOf('--version') + 1], op.version);
      assert.ok(step.argv.includes('--wait'), op.name);
    }
    const metrics = installs.find((step) => step.argv[5] === 'metrics-server');
    assert.ok(
      metrics?.argv.includes('args={--kubelet-insecure-tls}'),
      'kind kubelets serve self-signed certificates',
    );
    assert.deepEqual(plan.at(-1)?.argv.slice(3, 5), ['wait', '--for=condition=Available']);
  });

  it('when an operator is installed, then it is the version whose CRDs the manifests were checked against', () => {
    const version = (name: string) => clusterOperators.find((op) => op.name === name)?.version;
    const crdModule = (module: string) => operatorCrds.find((c) => c.module === module)?.version;

    assert.equal(version('strimzi'), strimziVersion);
    assert.equal(version('envoy-gateway'), crdModule('github.com/envoyproxy/gateway'));
    assert.equal(`v${version('keda') ?? ''}`, crdModule('github.com/kedacore/keda/v2'));
  });
});
