import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startOwnKubeApi, type OwnKubeApi } from '@mela/testkit';
import { environments } from '../src/index.js';
import { synthObjects, type Manifest } from './support.js';

/** Server-side apply, as `kubectl apply --server-side` does. */
function applier(api: OwnKubeApi) {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'test', server: api.server, skipTLSVerify: true }],
    users: [{ name: 'test', token: api.token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  const client = KubernetesObjectApi.makeApiClient(config);
  return (object: KubernetesObject) =>
    client.patch(object, undefined, undefined, 'mela-test', true, PatchStrategy.ServerSideApply);
}

/** The API's reason for refusing, from the client's error. */
function reason(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') return body;
  return JSON.stringify(body ?? String(error));
}

describe('the synthesized manifests against a real kube-apiserver', () => {
  let api: OwnKubeApi;
  let apply: ReturnType<typeof applier>;
  before(async () => {
    api = await startOwnKubeApi();
    apply = applier(api);
  });
  after(() => api.stop());

  for (const env of Object.values(environments)) {
    it(`when every ${env.name} manifest is applied server-side, then the API accepts each one`, async () => {
      const refused: string[] = [];
      const objects = synthObjects(env);
      for (const object of objects) {
        await apply(object).catch((error: unknown) => {
          refused.push(`${object.kind}/${object.metadata.name}: ${reason(error)}`);
        });
      }

      assert.deepEqual(refused, []);
      assert.ok(objects.length >= 20, `${String(objects.length)} objects`);
    });
  }

  it('when a manifest is wrong, then the API refuses it and says why', async () => {
    const deployment = synthObjects(environments.dev).find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'cart',
    ) as Manifest & { spec: { template: { spec: { containers: { resources: unknown }[] } } } };
    const broken = structuredClone(deployment);
    const [container] = broken.spec.template.spec.containers;
    assert.ok(container);
    container.resources = { requests: { cpu: 'lots' } };
    const badScaler = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'broken', namespace: 'mela' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' },
        minReplicas: 5,
        maxReplicas: 2,
      },
    };

    await assert.rejects(apply(broken), (error: unknown) => {
      assert.match(reason(error), /quantities must match the regular expression/);
      return true;
    });
    await assert.rejects(apply(badScaler), (error: unknown) => {
      assert.match(reason(error), /maxReplicas.*must be greater than or equal to `minReplicas`/);
      return true;
    });
  });
});
