import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, startOwnKubeApi, type KubeObject, type OwnKubeApi } from '@mela/testkit';
import { allAddons, environments } from '../src/index.js';
import { installCrds, synthObjects } from './support.js';

/** The API's message, from a refusal. */
function refusal(error: unknown): string {
  return error instanceof KubeApiError ? error.message : String(error);
}

for (const env of Object.values(environments)) {
  // Each environment as a fresh install on its own API server (dev and prod differ in fields
  // the API keeps immutable, such as a StatefulSet's volume claims).
  describe(`the ${env.name} manifests against a real kube-apiserver`, () => {
    let api: OwnKubeApi;
    before(async () => {
      api = await startOwnKubeApi();
      await installCrds(api);
    });
    after(() => api.stop());

    it(`when every ${env.name} manifest is applied server-side, then the API accepts each one`, async () => {
      const refused: string[] = [];
      const objects = synthObjects(env);
      for (const object of objects) {
        await api.apply(object).catch((error: unknown) => {
          refused.push(`${object.kind}/${object.metadata.name}: ${refusal(error)}`);
        });
      }

      assert.deepEqual(refused, []);
      // The namespace warns for `restricted`: no pod template of Mela's falls short of it.
      assert.deepEqual(
        api.warnings.filter((w) => /PodSecurity/.test(w)),
        [],
      );
      const kinds = new Set(objects.map((o) => o.kind));
      const addons = env.addons ?? allAddons;
      for (const kind of [
        'Deployment',
        'Job',
        'HorizontalPodAutoscaler',
        ...(env.externalData
          ? ['EndpointSlice']
          : ['StatefulSet', 'Kafka', 'KafkaNodePool', 'KafkaTopic', 'KafkaUser']),
        ...(addons.keda ? ['ScaledObject'] : []),
        ...(addons.prometheusOperator ? ['ServiceMonitor'] : []),
        ...(addons.gateway ? ['HTTPRoute', 'Gateway'] : []),
      ])
        assert.ok(kinds.has(kind), `${env.name} has a ${kind}`);
    });

    it('when the same manifests are applied again, then nothing is refused (an upgrade is a re-apply)', async () => {
      const refused: string[] = [];
      for (const object of synthObjects(env)) {
        await api.apply(object).catch((error: unknown) => {
          refused.push(`${object.kind}/${object.metadata.name}: ${refusal(error)}`);
        });
      }

      assert.deepEqual(refused, []);
    });

    if (env.name !== 'dev') return;

    it('when a manifest is wrong, then the API refuses it and says why', async () => {
      const deployment = synthObjects(env).find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'cart',
      ) as KubeObject & { spec: { template: { spec: { containers: { resources: unknown }[] } } } };
      const broken = structuredClone(deployment);
      const [container] = broken.spec.template.spec.containers;
      assert.ok(container);
      container.resources = { requests: { cpu: 'lots' } };
      const badScaler: KubeObject = {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'broken', namespace: 'mela' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' },
          minReplicas: 5,
          maxReplicas: 2,
        },
      };
      const badRoute: KubeObject = {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'broken', namespace: 'mela' },
        spec: { rules: [{ matches: [{ path: { type: 'Prefix', value: '/x' } }] }] },
      };

      await assert.rejects(api.apply(broken), (error: unknown) => {
        assert.match(refusal(error), /quantities must match the regular expression/);
        return true;
      });
      await assert.rejects(api.apply(badScaler), (error: unknown) => {
        assert.match(refusal(error), /maxReplicas.*must be greater than or equal to `minReplicas`/);
        return true;
      });
      await assert.rejects(api.apply(badRoute), (error: unknown) => {
        assert.match(
          refusal(error),
          /spec\.rules\[0\]\.matches\[0\]\.path\.type: Unsupported value: "Prefix"/,
        );
        return true;
      });
    });
  });
}
