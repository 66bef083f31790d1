import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureHelm, repoRoot } from '@mela/toolchain';
import { KubeApiError, startOwnKubeApi, type KubeObject, type OwnKubeApi } from '@mela/testkit';
import { parseAllDocuments } from 'yaml';
import { chartVersion } from '../src/index.js';
import { installCrds, outsideServers } from './support.js';

/**
 * The chart as it was just before this version: the parent of the commit that set this
 * version, or HEAD while the new version is not committed yet.
 */
function previousChartCommit(): string | undefined {
  const git = (args: readonly string[]) =>
    spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout;
  const changes = git(['log', '--format=%H', '-G', '^version:', '--', 'charts/mela/Chart.yaml'])
    .split('\n')
    .filter((commit) => commit !== '');
  if (changes.length === 0) return undefined;
  const bump = changes.find((commit) =>
    git(['show', `${commit}:charts/mela/Chart.yaml`]).includes(`version: "${chartVersion}"`),
  );
  return bump === undefined ? 'HEAD' : `${bump}^`;
}

const previous = previousChartCommit();

/**
 * `helm upgrade` from the chart's previous version to this one, on a real kube-apiserver with
 * the operators' CRDs: what a cluster that installed the last release goes through.
 */
describe(
  'charts/mela upgraded from its previous version on a real kube-apiserver',
  { skip: previous === undefined ? 'no earlier chart version in this clone’s history' : false },
  () => {
    const helm = ensureHelm();
    const dir = mkdtempSync(join(tmpdir(), 'mela-helm-upgrade-'));
    let api: OwnKubeApi;
    const kubeconfig = join(dir, 'kubeconfig');
    const run = (args: readonly string[]) =>
      spawnSync(helm, [...args, '--kubeconfig', kubeconfig, '--namespace', 'mela'], {
        encoding: 'utf8',
      });

    before(async () => {
      api = await startOwnKubeApi();
      await installCrds(api);
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            { name: 'own', cluster: { server: api.server, 'insecure-skip-tls-verify': true } },
          ],
          users: [{ name: 'admin', user: { token: api.token } }],
          contexts: [{ name: 'own', context: { cluster: 'own', user: 'admin' } }],
          'current-context': 'own',
        }),
      );
      // The previous chart as its commit had it.
      execFileSync('sh', ['-c', `git archive ${previous ?? ''} charts/mela | tar -x -C ${dir}`], {
        cwd: repoRoot,
      });
    });
    after(async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('when the previous version is installed and this one upgrades it with new values, then a new image, then switched (no TLS, no waiting room, the data outside), then the API takes every change (and helm test’s pod) and each release is deployed', async () => {
      const installed = run(['install', 'mela', join(dir, 'charts/mela'), '--create-namespace']);
      assert.equal(installed.status, 0, installed.stderr);
      const orderDeployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'order', namespace: 'mela' },
      };
      const before = (await api.read(orderDeployment)) as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      };
      assert.equal(before.spec.template.spec.containers[0]?.image, 'ghcr.io/mela-shop/mela:0.1.0');

      const upgraded = run([
        'upgrade',
        'mela',
        join(repoRoot, 'charts/mela'),
        '--set',
        'image.tag=0.2.0',
        '--set',
        'services.order.maxReplicas=60',
      ]);
      assert.equal(upgraded.status, 0, upgraded.stderr);

      const order = (await api.read(orderDeployment)) as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      };
      assert.equal(order.spec.template.spec.containers[0]?.image, 'ghcr.io/mela-shop/mela:0.2.0');
      const scaler = (await api.read({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'order', namespace: 'mela' },
      })) as { spec: { maxReplicas: number } };
      assert.equal(scaler.spec.maxReplicas, 60);
      const status = JSON.parse(run(['status', 'mela', '--output', 'json']).stdout) as {
        version: number;
        info: { status: string };
      };
      assert.deepEqual([status.version, status.info.status], [2, 'deployed']);
      // And the next release, only a new image: the schema Job (immutable) is a new Job.
      const again = run([
        'upgrade',
        'mela',
        join(repoRoot, 'charts/mela'),
        '--set',
        'image.tag=0.3.0',
      ]);
      assert.equal(again.status, 0, again.stderr);
      const third = JSON.parse(run(['status', 'mela', '--output', 'json']).stdout) as {
        version: number;
        info: { status: string };
      };
      assert.deepEqual([third.version, third.info.status], [3, 'deployed']);
      // And switched: plain HTTP, no waiting room, the data layer at outside addresses. The
      // API takes the new objects and helm removes what the switches took away.
      const valuesFile = join(dir, 'switched.yaml');
      writeFileSync(
        valuesFile,
        JSON.stringify({
          gateway: { tls: { enabled: false } },
          features: { waitingRoom: false },
          externalData: { enabled: true, ...outsideServers },
        }),
      );
      const switched = run([
        'upgrade',
        'mela',
        join(repoRoot, 'charts/mela'),
        '--reuse-values',
        '--values',
        valuesFile,
      ]);
      assert.equal(switched.status, 0, switched.stderr);
      assert.match(switched.stdout, /The shop: +http:\/\/<the Gateway's address>\/ +\(plain HTTP/);
      const slice = (await api.read({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'mysql-customer-80-x-external', namespace: 'mela' },
      })) as { endpoints: { addresses: string[] }[] };
      assert.deepEqual(slice.endpoints[0]?.addresses, ['10.20.0.9']);
      const gateway = (await api.read({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'mela', namespace: 'mela' },
      })) as { spec: { listeners: { name: string }[] } };
      assert.deepEqual(
        gateway.spec.listeners.map((l) => l.name),
        ['http'],
      );
      /** Whether the API answers 404 for the object (any other failure fails the test). */
      const gone = (kind: string, apiVersion: string, name: string) =>
        api.read({ apiVersion, kind, metadata: { name, namespace: 'mela' } }).then(
          () => false,
          (error: unknown) => {
            if (error instanceof KubeApiError && error.status === 404) return true;
            throw error;
          },
        );
      assert.ok(await gone('Kafka', 'kafka.strimzi.io/v1', 'mela'), 'the Kafka cluster is gone');
      assert.ok(await gone('StatefulSet', 'apps/v1', 'redis'), 'the Redis StatefulSet is gone');
      // helm test's pod and policy (they need a kubelet to run, but the API checks them now).
      const hooks = spawnSync(
        helm,
        [
          'template',
          'mela',
          join(repoRoot, 'charts/mela'),
          '--namespace',
          'mela',
          '--show-only',
          'templates/tests/shop-answers.yaml',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(hooks.status, 0, hooks.stderr);
      // What the controller manager (absent here) would have made: the namespace's account.
      await api.apply({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: 'mela' },
      });
      for (const doc of parseAllDocuments(hooks.stdout)) {
        const object = doc.toJS() as KubeObject;
        await api.apply({ ...object, metadata: { ...object.metadata, namespace: 'mela' } });
      }
      const history = run(['history', 'mela', '--output', 'json']);
      assert.match(history.stdout, new RegExp(`mela-${chartVersion.replace(/\./g, '\\.')}`));
    });
  },
);
