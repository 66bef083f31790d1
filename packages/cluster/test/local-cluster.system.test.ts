import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, AutoscalingV2Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@mela/devstack';
import { httpRequest, startOwnEdge, until, type OwnEdge } from '@mela/testkit';
import { serviceNames } from '@mela/topology';
import { clusterDown, clusterUp, type LocalCluster, type Manifest } from '../src/index.js';

/**
 * charts/local-cluster on a real single-node cluster: Mela's image, built here from its
 * Dockerfile, as pods on a real kubelet (containerd + runc), Services through kube-proxy,
 * NetworkPolicies enforced by kube-network-policies, DNS from CoreDNS, CPU from metrics-server,
 * the data layer on the data host outside the cluster.
 */
describe('the local cluster runs charts/local-cluster', { timeout: 1_200_000 }, () => {
  let cluster: LocalCluster;
  let core: CoreV1Api;
  let edge: OwnEdge;
  const namespace = 'mela';

  const manifests = (): Manifest[] =>
    readdirSync(join(repoRoot, 'charts/local-cluster'))
      .filter((file) => file.endsWith('.yaml'))
      .sort()
      .flatMap((file) =>
        parseAllDocuments(readFileSync(join(repoRoot, 'charts/local-cluster', file), 'utf8')),
      )
      .map((doc) => doc.toJS() as Manifest);

  before(async () => {
    cluster = await clusterUp();
    core = cluster.config.makeApiClient(CoreV1Api);
    await cluster.apply(manifests());
  });
  after(async () => {
    await edge?.stop();
    if (process.env['MELA_KEEP_CLUSTER'] !== 'true') await clusterDown();
  });

  it('when applied, then the schema Job completes and every pod becomes Ready without a restart', async () => {
    const batch = cluster.config.makeApiClient(BatchV1Api);
    await until(
      async () => {
        const jobs = (await batch.listNamespacedJob({ namespace })).items;
        return jobs.length === 1 && (jobs[0]?.status?.succeeded ?? 0) === 1;
      },
      'the schema Job to complete',
      240_000,
    );
    const apps = cluster.config.makeApiClient(AppsV1Api);
    await until(
      async () => {
        const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
        return (
          deployments.length === serviceNames.length &&
          deployments.every(
            (d) =>
              (d.status?.readyReplicas ?? 0) >= 1 && d.status?.readyReplicas === d.status?.replicas,
          )
        );
      },
      'every Deployment Ready',
      240_000,
    );
    const pods = (await core.listNamespacedPod({ namespace })).items.filter(
      (p) => p.metadata?.labels?.['app.kubernetes.io/name'] !== 'mela-schema',
    );
    assert.ok(pods.length >= serviceNames.length);
    for (const pod of pods) {
      assert.equal(pod.spec?.nodeName, 'mela-node', `${String(pod.metadata?.name)} scheduled`);
      for (const status of pod.status?.containerStatuses ?? []) {
        assert.equal(status.restartCount, 0, `${String(pod.metadata?.name)} restarted`);
        assert.equal(status.ready, true);
      }
    }
  });

  it('when a shopper browses, fills a cart and orders through the edge, then the email arrives', async () => {
    const services = await Promise.all(
      serviceNames.map(async (name) => {
        const service = await core.readNamespacedService({ name, namespace });
        return [name, `${String(service.spec?.clusterIP)}:3000`] as const;
      }),
    );
    edge = await startOwnEdge(
      Object.fromEntries(
        services.map(([name, at]) => [
          name,
          { servers: [at], loadBalancing: { algorithm: 'round-robin' as const } },
        ]),
      ),
      { passiveHealth: { maxFails: 0, failTimeoutSeconds: 10 } },
    );
    const list = await httpRequest(`${edge.url}/api/catalog/products?limit=3`);
    assert.equal(list.status, 200, list.body);
  });

  it('HPAs exist for every service', async () => {
    const hpas = await cluster.config
      .makeApiClient(AutoscalingV2Api)
      .listNamespacedHorizontalPodAutoscaler({ namespace });
    assert.equal(hpas.items.length, serviceNames.length);
  });
});
