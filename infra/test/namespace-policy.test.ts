import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeVersion } from '@mela/toolchain';
import type { KubeObject } from '@mela/testkit';
import { environments } from '../src/index.js';
import { synthLoad, synthObjects } from './support.js';

interface Policy {
  readonly podSelector: { readonly matchLabels?: Record<string, string> };
  readonly policyTypes?: readonly string[];
  readonly ingress?: readonly unknown[];
  readonly egress?: readonly unknown[];
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'Job', 'CronJob', 'DaemonSet']);

/** The labels of the pods a workload makes (a CronJob's through its Job template). */
function podLabels(object: KubeObject): Record<string, string> {
  const spec = object['spec'] as Record<string, unknown>;
  const template =
    object.kind === 'CronJob'
      ? (
          spec['jobTemplate'] as {
            spec: { template: { metadata?: { labels?: Record<string, string> } } };
          }
        ).spec.template
      : (spec['template'] as { metadata?: { labels?: Record<string, string> } });
  return template.metadata?.labels ?? {};
}

const selects = (policy: Policy, labels: Record<string, string>) =>
  Object.entries(policy.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

describe("the namespace's Pod Security and default deny", () => {
  for (const env of Object.values(environments)) {
    const objects = synthObjects(env);
    const policies = objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => ({ name: o.metadata.name, spec: o['spec'] as Policy }));

    it(`when ${env.name} is installed, then nothing in the namespace talks unless a policy of its own says so`, () => {
      const deny = policies.find((p) => p.name === 'mela-default-deny');
      assert.deepEqual(deny?.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      for (const workload of objects.filter((o) => workloadKinds.has(o.kind))) {
        const own = policies.filter(
          (p) =>
            p.name !== 'mela-default-deny' &&
            Object.keys(p.spec.podSelector.matchLabels ?? {}).length > 0 &&
            selects(p.spec, podLabels(workload)),
        );
        assert.ok(own.length > 0, `${workload.kind}/${workload.metadata.name} has its own policy`);
      }
    });

    it(`when ${env.name}'s namespace is made, then it ${env.vitess ? 'enforces baseline (Vitess) and warns restricted' : 'enforces restricted'}, pinned to the Kubernetes checked against`, () => {
      const namespace = objects.find((o) => o.kind === 'Namespace');
      if (namespace === undefined) return; // the Helm chart installs into a namespace it is given
      const labels = (namespace.metadata as { labels?: Record<string, string> }).labels ?? {};
      const minor = /^v\d+\.\d+/.exec(kubeVersion)?.[0];
      assert.equal(
        labels['pod-security.kubernetes.io/enforce'],
        env.vitess ? 'baseline' : 'restricted',
      );
      assert.equal(labels['pod-security.kubernetes.io/warn'], 'restricted');
      assert.equal(labels['pod-security.kubernetes.io/audit'], 'restricted');
      for (const mode of ['enforce', 'warn', 'audit'])
        assert.equal(labels[`pod-security.kubernetes.io/${mode}-version`], minor);
    });
  }

  it('when a load test runs, then the k6 pods are restricted and each role has its own policy', () => {
    const { objects } = synthLoad();
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    for (const run of objects.filter((o) => o.kind === 'TestRun')) {
      const spec = run['spec'] as Record<
        string,
        {
          metadata: { labels: Record<string, string> };
          securityContext: Record<string, unknown>;
          containerSecurityContext: Record<string, unknown>;
        }
      >;
      for (const role of ['initializer', 'starter', 'runner']) {
        const pod = spec[role];
        assert.ok(pod, role);
        assert.equal(pod.securityContext['runAsNonRoot'], true, role);
        assert.deepEqual(pod.securityContext['seccompProfile'], { type: 'RuntimeDefault' });
        assert.equal(pod.containerSecurityContext['allowPrivilegeEscalation'], false, role);
        assert.deepEqual(pod.containerSecurityContext['capabilities'], { drop: ['ALL'] });
        const name = pod.metadata.labels['app.kubernetes.io/name'];
        assert.ok(
          policies.some((p) =>
            selects(p['spec'] as Policy, { 'app.kubernetes.io/name': name ?? '' }),
          ),
          `${role} has its policy`,
        );
      }
    }
  });
});
