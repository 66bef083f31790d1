import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceEnvironment } from '@mela/devstack';
import type { KubeObject } from '@mela/testkit';
import {
  callersOf,
  localTopology,
  needName,
  needVariables,
  optionalNeeds,
  serviceNames,
  serviceNeeds,
  type Need,
  type ServiceName,
} from '@mela/topology';
import { environments } from '../src/index.js';
import { synthObjects } from './support.js';

/** Every flow there is, so a rendering that wires one a service does not need is caught too. */
const everyNeed: readonly Need[] = [
  'redis',
  'cart-redis',
  'mysql',
  'kafka',
  'smtp',
  'webhooks',
  'identity-provider',
  'tracing',
  ...serviceNames.map((service) => ({ service })),
];

/** The needs whose variables appear in `variables`. */
function needsIn(variables: ReadonlySet<string>): string[] {
  return everyNeed
    .filter((need) => needVariables(need).some((v) => variables.has(v)))
    .map(needName)
    .sort();
}

/** The needs of `service` that carry variables (and so must show in its environment). */
function wiredNeeds(service: ServiceName, { optional }: { optional: boolean }): string[] {
  return serviceNeeds[service]
    .filter((need) => needVariables(need).length > 0)
    .filter((need) => optional || !optionalNeeds.includes(need))
    .map(needName)
    .sort();
}

function deploymentOf(objects: readonly KubeObject[], name: string) {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  assert.ok(deployment, name);
  return deployment['spec'] as {
    template: { spec: { containers: { env: { name: string }[] }[] } };
  };
}

function networkPolicyOf(objects: readonly KubeObject[], name: string) {
  const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name);
  assert.ok(policy, `${name}'s NetworkPolicy`);
  return policy['spec'] as Record<'ingress' | 'egress', Rule[] | undefined>;
}

interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
}
interface Peer {
  readonly podSelector?: { readonly matchLabels?: Readonly<Record<string, string>> };
}

/** The Mela services among a rule list's peers. */
function servicesAmong(peers: readonly Peer[]): string[] {
  return peers
    .map((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'])
    .filter(
      (app): app is string =>
        app !== undefined && (serviceNames as readonly string[]).includes(app),
    )
    .sort();
}

describe("one description of the services' wiring (serviceNeeds), rendered for local mode and for the cluster", () => {
  for (const [envName, env] of Object.entries(environments)) {
    const objects = synthObjects(env);
    for (const service of serviceNames) {
      it(`${envName}: then ${service} is wired to the same flows locally and in its Deployment`, () => {
        const local = new Set(Object.keys(serviceEnvironment(localTopology(), service)));
        const [container] = deploymentOf(objects, service).template.spec.containers;
        assert.ok(container);
        const cluster = new Set(container.env.map((e) => e.name));

        assert.deepEqual(needsIn(local), wiredNeeds(service, { optional: true }), 'local mode');
        // A need a rendering may leave out (SMS and push webhooks) may be missing in the cluster.
        const inCluster = needsIn(cluster);
        assert.deepEqual(
          inCluster.filter((n) => !optionalNeeds.map(needName).includes(n)),
          wiredNeeds(service, { optional: false }),
          'the cluster',
        );
      });
    }
  }

  it('then a service may call exactly the services it needs, and be called by exactly those that need it (NetworkPolicies)', () => {
    const objects = synthObjects(environments.dev);
    for (const service of serviceNames) {
      const policy = networkPolicyOf(objects, service);
      const calls = serviceNeeds[service].flatMap((need) =>
        typeof need === 'object' ? [need.service] : [],
      );
      assert.deepEqual(
        servicesAmong((policy.egress ?? []).flatMap((r) => r.to ?? [])),
        calls.sort(),
        `${service} egress`,
      );
      assert.deepEqual(
        servicesAmong((policy.ingress ?? []).flatMap((r) => r.from ?? [])),
        callersOf(service).sort(),
        `${service} ingress`,
      );
    }
  });
});
