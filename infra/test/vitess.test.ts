import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@mela/testkit';
import { localTopology } from '@mela/topology';
import { devVitess, secrets, vitessCluster, vitessShardMap, vschemaConfig } from '../src/index.js';
import { synthObjects } from './support.js';

const objects = synthObjects(devVitess);
const find = (kind: string, name: string): KubeObject => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(object, `${kind} ${name}`);
  return object;
};
const stringData = (name: string) => find('Secret', name)['stringData'] as Record<string, string>;

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

describe('the dev-vitess environment: the shards as a VitessCluster', () => {
  const cluster = find('VitessCluster', vitessCluster.name)['spec'] as {
    cells: {
      name: string;
      gateway: {
        authentication: { static: { secret: { name: string; key: string } } };
        extraFlags: Record<string, string>;
      };
    }[];
    keyspaces: {
      name: string;
      vitessOrchestrator?: unknown;
      partitionings: {
        custom: {
          shards: {
            keyRange: { start: string; end: string };
            databaseInitScriptSecret: { name: string; key: string };
            tabletPools: { replicas: number; type: string }[];
          }[];
        };
      }[];
    }[];
  };

  it('when synthesized, then its keyspaces and keyranges are the topology’s and no MySQL StatefulSet is made', () => {
    const expected = new Map<string, string[]>();
    for (const { keyspace, shard } of localTopology({}).mysql.instances) {
      expected.set(keyspace, [...(expected.get(keyspace) ?? []), shard]);
    }
    const shards = cluster.keyspaces.map((k) => [
      k.name,
      k.partitionings.flatMap((p) =>
        p.custom.shards.map((s) => `${s.keyRange.start}-${s.keyRange.end}`),
      ),
    ]);

    assert.deepEqual(shards, [
      ['commerce', ['-']],
      ['customer', ['-80', '80-']],
    ]);
    assert.deepEqual([...expected.keys()], ['commerce', 'customer']);
    assert.deepEqual(expected.get('customer'), ['-80', '80-']);
    for (const keyspace of cluster.keyspaces) {
      assert.ok(keyspace.vitessOrchestrator, `${keyspace.name}: VTOrc elects the primary`);
      for (const shard of keyspace.partitionings[0]?.custom.shards ?? []) {
        assert.deepEqual(
          shard.tabletPools.map((p) => [p.type, p.replicas]),
          [['replica', devVitess.vitess?.tabletsPerShard]],
        );
      }
    }
    assert.deepEqual(
      objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name),
      ['redis', 'redis-carts'],
    );
  });

  it('when the services connect, then they log in to vtgate as the user its static authentication knows, through a stable Service on the operator’s pods', () => {
    const [cell] = cluster.cells;
    assert.ok(cell);
    const { name, key } = cell.gateway.authentication.static.secret;
    const users = JSON.parse(stringData(name)[key] ?? '{}') as Record<
      string,
      { Password: string }[]
    >;
    const url = new URL(stringData(secrets.vtgateUrl.secret)[secrets.vtgateUrl.key] ?? '');
    const service = find('Service', vitessCluster.vtgate.service)['spec'] as {
      selector: Record<string, string>;
      ports: { port: number }[];
    };

    assert.equal(users[url.username]?.[0]?.Password, url.password);
    assert.equal(url.hostname, vitessCluster.vtgate.service);
    assert.equal(url.port, String(service.ports[0]?.port));
    assert.deepEqual(service.selector, {
      'planetscale.com/cluster': vitessCluster.name,
      'planetscale.com/component': 'vtgate',
    });
    assert.equal(cell.gateway.extraFlags['transaction-mode'], 'SINGLE');
    for (const deployment of objects.filter(
      (o) =>
        o.kind === 'Deployment' && o.metadata.name !== 'edge-cache' && o.metadata.name !== 'cart',
    )) {
      const [container] = (deployment['spec'] as { template: { spec: PodSpec } }).template.spec
        .containers;
      const env = new Map(container?.env?.map((e) => [e.name, e]));
      assert.equal(env.get('MYSQL_MODE')?.value, 'vtgate', deployment.metadata.name);
      assert.equal(env.get('VTGATE_URL')?.valueFrom?.secretKeyRef.name, secrets.vtgateUrl.secret);
      assert.equal(env.has('SHARD_MAP'), false);
      const policy = find('NetworkPolicy', deployment.metadata.name)['spec'] as {
        egress: { to: { podSelector: { matchLabels: Record<string, string> } }[] }[];
      };
      assert.ok(
        policy.egress.some(
          (rule) => rule.to[0]?.podSelector.matchLabels['planetscale.com/component'] === 'vtgate',
        ),
        `${deployment.metadata.name} may reach vtgate`,
      );
    }
  });

  it('when a tablet starts, then its init script creates the accounts vttablet logs in with', () => {
    const script = cluster.keyspaces.flatMap((k) =>
      k.partitionings.flatMap((p) => p.custom.shards.map((s) => s.databaseInitScriptSecret)),
    );
    const [first] = script;
    assert.ok(first);
    const sql = stringData(first.name)[first.key] ?? '';

    assert.ok(script.every((s) => s.name === first.name && s.key === first.key));
    for (const account of [
      'vt_dba',
      'vt_app',
      'vt_appdebug',
      'vt_allprivs',
      'vt_repl',
      'vt_filtered',
    ]) {
      assert.match(sql, new RegExp(`CREATE USER '${account}'@`), account);
    }
    assert.match(sql, /SET sql_log_bin = 0;/);
  });

  it('when the schema Job runs, then it migrates each shard through vtgate without a session lock, then applies each keyspace’s VSchema from the ConfigMap', () => {
    const job = objects.find((o) => o.kind === 'Job');
    assert.ok(job);
    const pod = (job['spec'] as { template: { spec: PodSpec } }).template.spec;
    const [migrate] = pod.initContainers ?? [];
    const [apply] = pod.containers;
    const env = new Map(migrate?.env?.map((e) => [e.name, e]));
    const shardMap = JSON.parse(
      stringData(secrets.shardMap.secret)[secrets.shardMap.key] ?? '{}',
    ) as Record<string, Record<string, string>>;
    const vschemas = find('ConfigMap', vschemaConfig.configMap)['data'] as Record<string, string>;
    const whole = JSON.parse(vschemas[vschemaConfig.key] ?? '{}') as {
      keyspaces: Record<string, unknown>;
    };

    assert.equal(migrate?.image, devVitess.image);
    assert.equal(env.get('SHARD_MAP')?.valueFrom?.secretKeyRef.name, secrets.shardMap.secret);
    assert.equal(env.get('MIGRATE_LOCK')?.value, 'false');
    assert.deepEqual(shardMap, vitessShardMap('mela-dev-password'));
    assert.equal(
      shardMap['customer']?.['80-'],
      'mysql://mela:mela-dev-password@mela-vtgate:3306/customer:80-',
    );
    assert.equal(apply?.image, devVitess.vitess?.image);
    const script = apply?.command?.at(-1) ?? '';
    const mount = apply?.volumeMounts?.[0];
    assert.equal(
      pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name,
      vschemaConfig.configMap,
    );
    for (const keyspace of Object.keys(whole.keyspaces)) {
      assert.ok(
        script.includes(
          `--server mela-vtctld:15999 ApplyVSchema --vschema-file ${mount?.mountPath ?? ''}/${keyspace}.json ${keyspace}`,
        ),
        keyspace,
      );
      assert.deepEqual(
        JSON.parse(vschemas[`${keyspace}.json`] ?? 'null'),
        whole.keyspaces[keyspace],
      );
    }
    const policy = find('NetworkPolicy', 'mela-schema')['spec'] as {
      egress: { to?: { podSelector: { matchLabels: Record<string, string> } }[] }[];
    };
    assert.deepEqual(
      policy.egress
        .slice(1)
        .map((rule) => rule.to?.[0]?.podSelector.matchLabels['planetscale.com/component']),
      ['vtgate', 'vtctld'],
    );
    assert.deepEqual(
      (find('Service', vitessCluster.vtctld.service)['spec'] as { ports: { port: number }[] })
        .ports[0]?.port,
      vitessCluster.vtctld.port,
    );
  });
});
