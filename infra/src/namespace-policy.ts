import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { kubeVersion } from '@mela/toolchain';
import { vitessOperator } from '@mela/cluster';
import type { Environment } from './environments.js';
import { dnsEgress, egressTo, namespacePeer, tcpPorts } from './pod-policy.js';
import { dataLayer } from './services-chart.js';
import { vitessCluster } from './vitess.js';

const partOf = { 'app.kubernetes.io/part-of': 'mela' };

/**
 * Pod Security Admission for Mela's namespace: `restricted` enforced — every pod Mela and
 * Strimzi (its restricted provider, see cluster:up) run in it qualifies — pinned to the
 * Kubernetes minor the manifests are checked against. Vitess's pods do not qualify: with the
 * VitessCluster the namespace enforces `baseline` and still warns and audits `restricted`.
 */
export function podSecurityLabels(env: Environment): Record<string, string> {
  const version = /^v\d+\.\d+/.exec(kubeVersion)?.[0] ?? 'latest';
  const enforce = env.vitess ? 'baseline' : 'restricted';
  const label = 'pod-security.kubernetes.io';
  return {
    [`${label}/enforce`]: enforce,
    [`${label}/enforce-version`]: version,
    [`${label}/audit`]: 'restricted',
    [`${label}/audit-version`]: version,
    [`${label}/warn`]: 'restricted',
    [`${label}/warn-version`]: version,
  };
}

/** The Kubernetes API, which operator-run pods (Strimzi's entity operator, Vitess) call. */
const apiServer = [{ ipBlock: { cidr: '0.0.0.0/0' } }];
const apiServerPorts = [443, 6443];

/**
 * Nothing in the namespace talks to anything unless a policy of its own says so: a default
 * deny of both directions for every pod, Mela's own each with its NetworkPolicy (the
 * Microservice, the data layer, the edge cache, the schema Job, the k6 runners), and for the
 * pods operators make here what they need among themselves — Strimzi's Kafka nodes and entity
 * operator (Strimzi makes their ingress policies itself), Vitess's components.
 */
export function namespacePolicies(scope: Construct, env: Environment): void {
  new k8s.KubeNetworkPolicy(scope, 'default-deny', {
    metadata: { name: 'mela-default-deny', labels: partOf },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  });
  if (env.externalData === undefined) {
    const kafka = { 'strimzi.io/cluster': dataLayer.kafka.cluster };
    new k8s.KubeNetworkPolicy(scope, 'kafka-egress', {
      metadata: { name: 'mela-kafka-egress', labels: partOf },
      spec: {
        podSelector: { matchLabels: kafka },
        policyTypes: ['Egress'],
        egress: [
          dnsEgress,
          { to: [{ podSelector: { matchLabels: kafka } }] },
          egressTo(apiServer, apiServerPorts),
        ],
      },
    });
  }
  if (env.vitess) {
    const vitess = {
      'planetscale.com/cluster': vitessCluster.podLabels('vtgate')['planetscale.com/cluster'],
    };
    const operator = namespacePeer(vitessOperator.namespace);
    new k8s.KubeNetworkPolicy(scope, 'vitess', {
      metadata: { name: 'mela-vitess', labels: partOf },
      spec: {
        podSelector: { matchLabels: vitess },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: vitess } }, operator] },
          // The services reach vtgate (their own policies say which may).
          {
            from: [{ podSelector: { matchLabels: partOf } }],
            ports: tcpPorts([vitessCluster.vtgate.port]),
          },
        ],
        egress: [
          dnsEgress,
          { to: [{ podSelector: { matchLabels: vitess } }] },
          egressTo(apiServer, apiServerPorts),
        ],
      },
    });
  }
}
