import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkedAgainst,
  clusterOperators,
  clusterUpPlan,
  kindCluster,
  pinnedVitessManifest,
  vitessOperator,
  vitessOperatorManifest,
} from '../src/index.js';
import { goModuleFile, operatorCrds, repoRoot, strimziVersion } from '@mela/toolchain';

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
    assert.equal(
      clusterOperators.find((op) => op.name === 'kube-prometheus-stack')?.operatorVersion,
      crdModule('github.com/prometheus-operator/prometheus-operator'),
    );
  });

  it('when asked for Vitess, then its operator comes from the manifest whose CRD was checked, runs in default and watches mela', () => {
    const crds = operatorCrds.find((c) => c.module === 'vitess.io/vitess');
    assert.ok(crds);
    const example = readFileSync(goModuleFile(crds.module, crds.version, crds.files[0]), 'utf8');
    const manifest = vitessOperatorManifest(example);
    const plan = clusterUpPlan(true, example);
    const install = plan.find((step) => step.stdin !== undefined);

    // The manifest applied is the one whose CRD was checked, byte for byte the pinned one.
    assert.equal(crds.version, vitessOperator.manifest.version);
    assert.equal(pinnedVitessManifest(), example);
    assert.throws(
      () => checkedAgainst(`${example}\n# changed`, vitessOperator.manifest.sha256, 'the manifest'),
      /the manifest: SHA-256 [0-9a-f]{64}, pinned [0-9a-f]{64}; refusing to apply it/,
    );
    assert.match(
      manifest,
      new RegExp(`image: planetscale/vitess-operator:${vitessOperator.version}\\s`),
    );
    assert.match(manifest, /- name: WATCH_NAMESPACE\s+value: "mela"/);
    assert.doesNotMatch(manifest, /namespace: example|default,example/);
    assert.equal(
      manifest.match(/^\s*namespace: default\s*$/gm)?.length,
      example.match(/^\s*namespace: (example|default)\s*$/gm)?.length,
    );
    assert.deepEqual(install?.argv.slice(3), [
      'apply',
      '--server-side',
      '--namespace',
      'default',
      '-f',
      '-',
    ]);
    assert.equal(install.stdin, manifest);
    assert.equal(plan.at(-1)?.argv[3], 'wait', 'waited for with the others');
    assert.equal(clusterUpPlan(true).filter((step) => step.stdin !== undefined).length, 0);
    assert.throws(() => vitessOperatorManifest('kind: Deployment\n'), /sets no WATCH_NAMESPACE/);
  });
});
