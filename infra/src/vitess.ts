import { readFileSync } from 'node:fs';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  VitessCluster,
  VitessClusterSpecCellsGatewayResourcesLimits,
  VitessClusterSpecCellsGatewayResourcesRequests,
  VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsDataVolumeClaimTemplateResourcesRequests,
  VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsMysqldResourcesLimits,
  VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsMysqldResourcesRequests,
  VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsType,
  VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsVttabletResourcesLimits,
  VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsVttabletResourcesRequests,
  VitessClusterSpecKeyspacesTurndownPolicy,
  VitessClusterSpecKeyspacesVitessOrchestratorResourcesLimits,
  VitessClusterSpecKeyspacesVitessOrchestratorResourcesRequests,
  VitessClusterSpecUpdateStrategyType,
  VitessClusterSpecVitessDashboardResourcesLimits,
  VitessClusterSpecVitessDashboardResourcesRequests,
} from '../imports/planetscale.com.js';
import { localTopology } from '@mela/topology';
import type { Environment, VitessOptions } from './environments.js';
import type { ComputeResources } from './microservice.js';

/**
 * The VitessCluster's names. The operator names its own Services with a hash
 * (`mela-zone1-vtgate-<hash>`), so the chart puts stable ones in front of vtgate and vtctld.
 */
export const vitessCluster = {
  name: 'mela',
  cell: 'zone1',
  /** Labels the operator puts on a component's pods. */
  podLabels: (component: 'vtgate' | 'vtctld') => ({
    'planetscale.com/cluster': 'mela',
    'planetscale.com/component': component,
  }),
  vtgate: { service: 'mela-vtgate', port: 3306 },
  vtctld: { service: 'mela-vtctld', port: 15999 },
  /** vtgate's users (static authentication) and the tablets' init script. */
  config: { secret: 'mela-vitess', users: 'users.json', initDb: 'init_db.sql' },
  /** The account the services and the schema Job log in to vtgate with. */
  user: 'mela',
} as const;

/** A keyspace's shards as the operator names them: the full range of an unsharded one is `-`. */
export function vitessShards(): { keyspace: string; sharded: boolean; shards: string[] }[] {
  const keyspaces = new Map<string, string[]>();
  for (const { keyspace, shard } of localTopology({}).mysql.instances) {
    keyspaces.set(keyspace, [...(keyspaces.get(keyspace) ?? []), shard]);
  }
  return [...keyspaces].map(([keyspace, shards]) => {
    const sharded = shards.some((s) => s.includes('-'));
    return { keyspace, sharded, shards: sharded ? shards : ['-'] };
  });
}

/**
 * The schema Job's shard map through vtgate: each shard targeted as `keyspace:shard`, so the
 * migrations (and their `schema_migrations` table) reach that shard's primary as written,
 * without the VSchema routing them.
 */
export function vitessShardMap(password: string): Record<string, Record<string, string>> {
  const host = `${vitessCluster.vtgate.service}:${String(vitessCluster.vtgate.port)}`;
  return Object.fromEntries(
    vitessShards().map(({ keyspace, shards }) => [
      keyspace,
      Object.fromEntries(
        shards.map((shard) => [
          shard,
          `mysql://${vitessCluster.user}:${password}@${host}/${keyspace}:${shard}`,
        ]),
      ),
    ]),
  );
}

/** vtgate's static users file: the one application account. */
export function vtgateUsers(password: string): string {
  return JSON.stringify({
    [vitessCluster.user]: [{ Password: password, UserData: vitessCluster.user }],
  });
}

/** The tablets' init script (infra/vitess/init_db.sql): the accounts vttablet uses. */
export function tabletInitScript(): string {
  return readFileSync(new URL('../../vitess/init_db.sql', import.meta.url), 'utf8');
}

interface QuantityType<Q> {
  fromString(value: string): Q;
}

function quantities<Q>(type: QuantityType<Q>, values: ComputeResources | { memory: string }) {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, type.fromString(value as string)]),
  );
}

/** Small, fixed sizes for Vitess's own processes (mysqld takes the environment's MySQL sizes). */
const sizes = {
  vttablet: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '256Mi' } },
  vtgate: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '256Mi' } },
  vtctld: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
  vtorc: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
} as const;

/**
 * The shards as a VitessCluster (`planetscale.com/v2`) for teams running the Vitess operator:
 * the topology's keyspaces and keyranges, one cell, vtgate with static authentication and
 * single-shard transactions (what Mela's vtgate mode expects), and stable Services for vtgate
 * and vtctld.
 */
export class VitessShards extends Construct {
  constructor(scope: Construct, id: string, env: Environment, vitess: VitessOptions) {
    super(scope, id);
    const labels = { 'app.kubernetes.io/part-of': 'mela' };
    const initScript = { name: vitessCluster.config.secret, key: vitessCluster.config.initDb };
    const tabletPool = {
      cell: vitessCluster.cell,
      type: VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsType.REPLICA,
      replicas: vitess.tabletsPerShard,
      vttablet: {
        extraFlags: { 'db-charset': 'utf8mb4' },
        resources: {
          requests: quantities(
            VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsVttabletResourcesRequests,
            sizes.vttablet.requests,
          ),
          limits: quantities(
            VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsVttabletResourcesLimits,
            sizes.vttablet.limits,
          ),
        },
      },
      mysqld: {
        resources: {
          requests: quantities(
            VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsMysqldResourcesRequests,
            env.data.mysql.requests,
          ),
          limits: quantities(
            VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsMysqldResourcesLimits,
            env.data.mysql.limits,
          ),
        },
      },
      dataVolumeClaimTemplate: {
        accessModes: ['ReadWriteOnce'],
        resources: {
          requests: {
            storage:
              VitessClusterSpecKeyspacesPartitioningsCustomShardsTabletPoolsDataVolumeClaimTemplateResourcesRequests.fromString(
                vitess.tabletStorage,
              ),
          },
        },
      },
    };
    new VitessCluster(this, 'cluster', {
      metadata: { name: vitessCluster.name, labels },
      spec: {
        images: {
          vtctld: vitess.image,
          vtgate: vitess.image,
          vttablet: vitess.image,
          vtbackup: vitess.image,
          vtorc: vitess.image,
          mysqld: { mysql80Compatible: vitess.image },
        },
        cells: [
          {
            name: vitessCluster.cell,
            gateway: {
              replicas: vitess.vtgateReplicas,
              authentication: {
                static: {
                  secret: { name: vitessCluster.config.secret, key: vitessCluster.config.users },
                },
              },
              // Mela's transactions stay on one shard (the user's); vtgate refuses any other.
              extraFlags: { 'transaction-mode': 'SINGLE' },
              resources: {
                requests: quantities(
                  VitessClusterSpecCellsGatewayResourcesRequests,
                  sizes.vtgate.requests,
                ),
                limits: quantities(
                  VitessClusterSpecCellsGatewayResourcesLimits,
                  sizes.vtgate.limits,
                ),
              },
            },
          },
        ],
        vitessDashboard: {
          cells: [vitessCluster.cell],
          replicas: 1,
          resources: {
            requests: quantities(
              VitessClusterSpecVitessDashboardResourcesRequests,
              sizes.vtctld.requests,
            ),
            limits: quantities(
              VitessClusterSpecVitessDashboardResourcesLimits,
              sizes.vtctld.limits,
            ),
          },
        },
        keyspaces: vitessShards().map(({ keyspace, shards }) => ({
          name: keyspace,
          durabilityPolicy: vitess.durabilityPolicy,
          turndownPolicy: VitessClusterSpecKeyspacesTurndownPolicy.REQUIRE_IDLE,
          // VTOrc elects each shard's first primary and repairs replication after a failure.
          vitessOrchestrator: {
            resources: {
              requests: quantities(
                VitessClusterSpecKeyspacesVitessOrchestratorResourcesRequests,
                sizes.vtorc.requests,
              ),
              limits: quantities(
                VitessClusterSpecKeyspacesVitessOrchestratorResourcesLimits,
                sizes.vtorc.limits,
              ),
            },
          },
          partitionings: [
            {
              custom: {
                shards: shards.map((shard) => {
                  const [start = '', end = ''] = shard === '-' ? [] : shard.split('-');
                  return {
                    keyRange: { start, end },
                    databaseInitScriptSecret: initScript,
                    tabletPools: [tabletPool],
                  };
                }),
              },
            },
          ],
        })),
        updateStrategy: { type: VitessClusterSpecUpdateStrategyType.IMMEDIATE },
      },
    });
    for (const component of ['vtgate', 'vtctld'] as const) {
      const { service, port } = vitessCluster[component];
      new k8s.KubeService(this, `${component}-service`, {
        metadata: { name: service, labels: { ...labels, 'app.kubernetes.io/name': service } },
        spec: {
          selector: vitessCluster.podLabels(component),
          ports: [{ name: component === 'vtgate' ? 'mysql' : 'grpc', port }],
        },
      });
    }
  }
}
