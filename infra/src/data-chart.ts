import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { localTopology, needersOf, redisRoleFlags, type RedisRole } from '@mela/topology';
import type { Environment } from './environments.js';
import { externalPeers, externalService } from './external-data.js';
import { dnsEgress, egressTo, lockedContainer, nonRootPod, resources } from './pod-policy.js';
import { dataLayer, secrets, secretsOf, vschemaConfig } from './services-chart.js';
import {
  VitessShards,
  tabletInitScript,
  vitessCluster,
  vitessShardMap,
  vitessShards,
  vtgateUsers,
} from './vitess.js';

/**
 * The MySQL shards: the same keyspaces and keyranges as local mode, or the customer keyspace
 * split as the environment says (the capacity model's `bbd`).
 */
export function mysqlShards(
  env?: Pick<Environment, 'customerShards'>,
): { keyspace: string; shard: string; host: string }[] {
  const instances = localTopology({}).mysql.instances.map(({ keyspace, shard }) => ({
    keyspace,
    shard,
  }));
  const shards = env?.customerShards
    ? [
        ...instances.filter((i) => i.keyspace !== 'customer'),
        ...env.customerShards.map((shard) => ({ keyspace: 'customer', shard })),
      ]
    : instances;
  return shards.map(({ keyspace, shard }) => ({
    keyspace,
    shard,
    host: shardHost(keyspace, shard),
  }));
}

/** A keyrange as label values allow it (no leading or trailing '-'): `-80` → `x-80`. */
function labelRange(shard: string): string {
  return shard.replace(/^-/, 'x-').replace(/-$/, '-x');
}

/**
 * A shard's Service name. Kubernetes names cannot start or end with '-', so an open keyrange
 * end is written `x`, as Vitess's operator does: `-80` → `x-80`, `80-` → `80-x`.
 */
export function shardHost(keyspace: string, shard: string): string {
  return `${dataLayer.mysql.app}-${keyspace}-${labelRange(shard)}`;
}

/**
 * The server each shard runs: the family and major version every test runs (Debian 12's
 * MariaDB 10.11), as the official image — not MySQL 8.4, which nothing here could test. The
 * VitessCluster option keeps MySQL, which Vitess's tablets require.
 */
export const shardServerImage = 'mariadb:10.11';

/** The MySQL credentials every shard is created with (a Secret the stack documents). */
export const mysqlSecret = {
  secret: 'mela-mysql',
  rootPasswordKey: 'root-password',
  passwordKey: 'password',
  user: 'mela',
} as const;

/** The MySQL credentials' Secret under the name `env` gives it. */
export function mysqlSecretName(env: Environment): string {
  return env.secretNames?.mysql ?? mysqlSecret.secret;
}

const migrationsRoot = new URL('../../../packages/schema/migrations/', import.meta.url);

/** A hash of every migration file: the schema Job's name changes when the schema does. */
function schemaVersion(): string {
  const hash = createHash('sha256');
  for (const keyspace of readdirSync(migrationsRoot, { withFileTypes: true })) {
    if (!keyspace.isDirectory()) continue;
    const dir = join(migrationsRoot.pathname, keyspace.name);
    for (const file of readdirSync(dir).sort()) {
      hash.update(`${keyspace.name}/${file}\n`).update(readFileSync(join(dir, file)));
    }
  }
  return hash.digest('hex').slice(0, 10);
}

/**
 * The schema Job's name: the schema's version and the image's, so that a new image (which may
 * bring migrations) or a new schema is a new Job. A Job's template cannot be changed, so an
 * upgrade that kept the name with another image was refused by the API (`helm upgrade
 * --set image.tag=…` failed on it).
 */
export function schemaJobName(image: string): string {
  return `mela-schema-${schemaVersion()}-${imageDigest(image)}`;
}

/** The first 8 hex digits of the image's SHA-256 (Helm: `sha256sum | trunc 8`). */
export function imageDigest(image: string): string {
  return createHash('sha256').update(image).digest('hex').slice(0, 8);
}

const fromApps = (apps: readonly string[], port: number): k8s.NetworkPolicyIngressRule => ({
  from: apps.map((app) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': app } } })),
  ports: [{ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' }],
});

/**
 * What the services keep their data in, without an operator: two Redis behind one password
 * (the cache, limits and stock gate, evicting; the carts, persistent and never evicting), one
 * MySQL StatefulSet per shard, the schema Job that migrates every shard,
 * and in dev the Secrets with development values (in prod they are created outside: External
 * Secrets, Vault, …, with the same names and keys).
 */
export class DataChart extends Chart {
  constructor(scope: Construct, id: string, env: Environment, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: env.namespace });
    if (env.externalData) this.#external(env, env.externalData);
    else {
      this.#redis(env, 'cache');
      this.#redis(env, 'carts');
      if (env.vitess) new VitessShards(this, 'vitess', env, env.vitess);
      else for (const shard of mysqlShards(env)) this.#mysql(env, shard);
    }
    this.#schemaJob(env);
    // The VSchema the services route by (packages/sharding/vschema/mela.json, as the image has
    // it); with Vitess also each keyspace's part on its own, as ApplyVSchema takes it.
    const vschema = readFileSync(
      new URL('../../../packages/sharding/vschema/mela.json', import.meta.url),
      'utf8',
    );
    const keyspaces = (JSON.parse(vschema) as { keyspaces: Record<string, unknown> }).keyspaces;
    new k8s.KubeConfigMap(this, 'vschema', {
      metadata: { name: vschemaConfig.configMap, labels: { 'app.kubernetes.io/part-of': 'mela' } },
      data: {
        [vschemaConfig.key]: vschema,
        ...(env.vitess
          ? Object.fromEntries(
              Object.entries(keyspaces).map(([name, keyspace]) => [
                `${name}.json`,
                `${JSON.stringify(keyspace, null, 2)}\n`,
              ]),
            )
          : {}),
      },
    });
    if (env.devSecrets) this.#devSecrets(env);
  }

  /**
   * The data layer outside the cluster: Redis, each shard and the mail relay under the names
   * the in-cluster ones have, as Services without selectors pointing at the servers.
   */
  #external(env: Environment, data: NonNullable<Environment['externalData']>): void {
    const partOf = { 'app.kubernetes.io/part-of': 'mela' };
    for (const [layer, endpoint] of [
      [dataLayer.redis, data.redis],
      [dataLayer.cartRedis, data.cartRedis],
    ] as const) {
      externalService(this, layer.app, {
        name: layer.app,
        port: layer.port,
        portName: 'redis',
        endpoint,
        labels: { 'app.kubernetes.io/name': layer.app, ...partOf },
      });
    }
    for (const { keyspace, shard, host } of mysqlShards(env)) {
      const endpoint = data.mysql[`${keyspace}/${shard}`];
      if (endpoint === undefined) {
        throw new Error(`${env.name}: externalData.mysql has no ${keyspace}/${shard}`);
      }
      externalService(this, host, {
        name: host,
        port: dataLayer.mysql.port,
        portName: 'mysql',
        endpoint,
        labels: {
          'app.kubernetes.io/name': dataLayer.mysql.app,
          'app.kubernetes.io/instance': host,
          'mela.dev/keyspace': keyspace,
          'mela.dev/keyrange': labelRange(shard),
          ...partOf,
        },
        annotations: { 'mela.dev/shard': shard },
      });
    }
    externalService(this, 'mail-relay', {
      name: 'mail-relay',
      port: 25,
      portName: 'smtp',
      endpoint: data.smtp,
      labels: { 'app.kubernetes.io/name': 'mail-relay', ...partOf },
    });
  }

  /**
   * A Redis for one role, behind the `mela-redis` password: `cache` (the catalog cache,
   * rate-limit counters, the stock gate) evicts the least recently used keys when full and
   * keeps nothing on disk; `carts` writes every change to its append-only file on a persistent
   * volume before acknowledging it and never evicts (a full store refuses writes: 503, never a
   * lost cart).
   */
  #redis(env: Environment, role: RedisRole): void {
    const { app: name, port } = role === 'cache' ? dataLayer.redis : dataLayer.cartRedis;
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mela' };
    const probe: k8s.Probe = {
      exec: { command: ['redis-cli', 'ping'] },
      periodSeconds: 10,
      timeoutSeconds: 2,
    };
    const password = {
      valueFrom: {
        secretKeyRef: {
          name: secretsOf(env).redisPassword.secret,
          key: secrets.redisPassword.key,
        },
      },
    };
    new k8s.KubeStatefulSet(this, role === 'cache' ? 'redis' : 'redis-carts', {
      metadata: { name, labels },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': name } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: nonRootPod(999),
            containers: [
              {
                name,
                image: 'redis:7.4.2',
                args: [
                  '--requirepass',
                  '$(REDIS_PASSWORD)',
                  '--save',
                  '',
                  '--maxmemory',
                  env.data.redisMaxMemory,
                  ...redisRoleFlags[role],
                ],
                // REDISCLI_AUTH: the probes' redis-cli authenticates with it.
                env: [
                  { name: 'REDIS_PASSWORD', ...password },
                  { name: 'REDISCLI_AUTH', ...password },
                ],
                ports: [{ name: 'redis', containerPort: port }],
                resources: resources(env.data.redis),
                readinessProbe: probe,
                livenessProbe: { ...probe, failureThreshold: 3 },
                securityContext: lockedContainer,
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
            ...(role === 'cache' ? { volumes: [{ name: 'data', emptyDir: {} }] } : {}),
          },
        },
        ...(role === 'carts'
          ? {
              volumeClaimTemplates: [
                {
                  metadata: { name: 'data' },
                  spec: {
                    accessModes: ['ReadWriteOnce'],
                    resources: {
                      requests: { storage: k8s.Quantity.fromString(env.data.cartRedisStorage) },
                    },
                  },
                },
              ],
            }
          : {}),
      },
    });
    new k8s.KubeService(this, `${name}-service`, {
      metadata: { name, labels },
      spec: {
        selector: { 'app.kubernetes.io/name': name },
        ports: [{ name: 'redis', port, targetPort: k8s.IntOrString.fromString('redis') }],
      },
    });
    new k8s.KubeNetworkPolicy(this, `${name}-network-policy`, {
      metadata: { name, labels },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': name } },
        policyTypes: ['Ingress', 'Egress'],
        // From the services that need this Redis (serviceNeeds), and no one else.
        ingress: [fromApps(needersOf(role === 'cache' ? 'redis' : 'cart-redis'), port)],
        egress: [],
      },
    });
  }

  #mysql(env: Environment, shard: { keyspace: string; shard: string; host: string }): void {
    const { host } = shard;
    const labels = {
      'app.kubernetes.io/name': dataLayer.mysql.app,
      'app.kubernetes.io/instance': host,
      'app.kubernetes.io/part-of': 'mela',
      'mela.dev/keyspace': shard.keyspace,
      'mela.dev/keyrange': labelRange(shard.shard),
    };
    // The Vitess shard name as the shard map spells it (label values cannot start with '-').
    const annotations = { 'mela.dev/shard': shard.shard };
    const selector = { 'app.kubernetes.io/instance': host };
    const port = dataLayer.mysql.port;
    const fromSecret = (key: string) => ({
      valueFrom: { secretKeyRef: { name: mysqlSecretName(env), key } },
    });
    const ping: k8s.Probe = {
      exec: {
        command: [
          'sh',
          '-c',
          'mariadb-admin ping -h 127.0.0.1 -uroot -p"$MARIADB_ROOT_PASSWORD" --silent',
        ],
      },
      periodSeconds: 10,
      timeoutSeconds: 5,
    };
    new k8s.KubeStatefulSet(this, host, {
      metadata: { name: host, labels, annotations },
      spec: {
        serviceName: host,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, annotations },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 60,
            securityContext: nonRootPod(999),
            containers: [
              {
                name: 'mysql',
                image: shardServerImage,
                env: [
                  { name: 'MARIADB_ROOT_PASSWORD', ...fromSecret(mysqlSecret.rootPasswordKey) },
                  { name: 'MARIADB_DATABASE', value: shard.keyspace },
                  { name: 'MARIADB_USER', value: mysqlSecret.user },
                  { name: 'MARIADB_PASSWORD', ...fromSecret(mysqlSecret.passwordKey) },
                ],
                ports: [{ name: 'mysql', containerPort: port }],
                resources: resources(env.data.mysql),
                startupProbe: { ...ping, periodSeconds: 5, failureThreshold: 60 },
                readinessProbe: ping,
                livenessProbe: { ...ping, failureThreshold: 3 },
                securityContext: lockedContainer,
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/mysql' },
                  { name: 'run', mountPath: '/run/mysqld' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'run', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: k8s.Quantity.fromString(env.data.mysqlStorage) } },
            },
          },
        ],
      },
    });
    new k8s.KubeService(this, `${host}-service`, {
      metadata: { name: host, labels, annotations },
      spec: {
        selector,
        ports: [{ name: 'mysql', port, targetPort: k8s.IntOrString.fromString('mysql') }],
      },
    });
    new k8s.KubeNetworkPolicy(this, `${host}-network-policy`, {
      metadata: { name: host, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [fromApps(['catalog', 'order', 'notification', 'mela-schema'], port)],
        egress: [],
      },
    });
  }

  /**
   * The Job that migrates every shard (`mela-migrate` from the services' image). With Vitess it
   * migrates through vtgate, each shard targeted, and then applies each keyspace's VSchema with
   * vtctldclient (from the Vitess image), so the services' routing exists once the tables do.
   */
  #schemaJob(env: Environment): void {
    const name = 'mela-schema';
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mela' };
    const small = {
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    };
    const migrate: k8s.Container = {
      name: 'migrate',
      image: env.image,
      command: ['/usr/bin/tini', '--', 'node', 'packages/schema/dist/src/migrate.cli.js'],
      env: [
        {
          name: 'SHARD_MAP',
          valueFrom: {
            secretKeyRef: { name: secretsOf(env).shardMap.secret, key: secrets.shardMap.key },
          },
        },
        { name: 'MIGRATE_WAIT_SECONDS', value: '300' },
        // A session lock cannot hold through vtgate; the Job is the one runner.
        ...(env.vitess ? [{ name: 'MIGRATE_LOCK', value: 'false' }] : []),
      ],
      resources: resources(small),
      securityContext: lockedContainer,
    };
    const vschemaDir = '/etc/mela/vschema';
    const applyVSchema: k8s.Container | undefined = env.vitess && {
      name: 'apply-vschema',
      image: env.vitess.image,
      command: [
        'sh',
        '-ec',
        vitessShards()
          .map(
            ({ keyspace }) =>
              `vtctldclient --server ${vitessCluster.vtctld.service}:${String(vitessCluster.vtctld.port)} ApplyVSchema --vschema-file ${vschemaDir}/${keyspace}.json ${keyspace}`,
          )
          .join('\n'),
      ],
      resources: resources(small),
      securityContext: lockedContainer,
      volumeMounts: [{ name: 'vschema', mountPath: vschemaDir, readOnly: true }],
    };
    // Named after the migrations: a Job's template cannot change, a new schema gets a new Job.
    new k8s.KubeJob(this, 'schema-job', {
      metadata: { name: schemaJobName(env.image), labels },
      spec: {
        backoffLimit: 20,
        ttlSecondsAfterFinished: 86_400,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'OnFailure',
            automountServiceAccountToken: false,
            securityContext: nonRootPod(1000, false),
            ...(applyVSchema
              ? {
                  initContainers: [migrate],
                  containers: [applyVSchema],
                  volumes: [{ name: 'vschema', configMap: { name: vschemaConfig.configMap } }],
                }
              : { containers: [migrate] }),
          },
        },
      },
    });
    const external = env.externalData;
    const peers: { to: k8s.NetworkPolicyPeer[]; ports: number[] }[] = external
      ? externalPeers(Object.values(external.mysql)).map((peer) => ({
          to: [{ ipBlock: { cidr: 'cidr' in peer ? peer.cidr : '' } }],
          ports: [...peer.ports],
        }))
      : (env.vitess
          ? [
              { labels: vitessCluster.podLabels('vtgate'), port: vitessCluster.vtgate.port },
              { labels: vitessCluster.podLabels('vtctld'), port: vitessCluster.vtctld.port },
            ]
          : [
              {
                labels: { 'app.kubernetes.io/name': dataLayer.mysql.app },
                port: dataLayer.mysql.port,
              },
            ]
        ).map((peer) => ({
          to: [{ podSelector: { matchLabels: peer.labels } }],
          ports: [peer.port],
        }));
    new k8s.KubeNetworkPolicy(this, 'schema-network-policy', {
      metadata: { name, labels },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': name } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [dnsEgress, ...peers.map((peer) => egressTo(peer.to, peer.ports))],
      },
    });
  }

  /** Development values only (kind/minikube); prod creates these Secrets outside the chart. */
  #devSecrets(env: Environment): void {
    const labels = { 'app.kubernetes.io/part-of': 'mela', 'mela.dev/values': 'development-only' };
    const external = env.externalData;
    if (external && (!external.mysqlCredentials || external.redisPassword === undefined)) {
      throw new Error(
        `${env.name}: the development Secrets of external servers need their credentials (externalData.mysqlCredentials, .redisPassword)`,
      );
    }
    // The external servers' own user, or the one the StatefulSets create.
    const { user, password } = env.externalData?.mysqlCredentials ?? {
      user: mysqlSecret.user,
      password: 'mela-dev-password',
    };
    const shardMap: Record<string, Record<string, string>> = {};
    for (const { keyspace, shard, host } of mysqlShards(env)) {
      shardMap[keyspace] = {
        ...shardMap[keyspace],
        [shard]: `mysql://${user}:${password}@${host}:${String(dataLayer.mysql.port)}/${keyspace}`,
      };
    }
    const named = secretsOf(env);
    const secret = (id: string, name: string, stringData: Record<string, string>) =>
      new k8s.KubeSecret(this, id, { metadata: { name, labels }, type: 'Opaque', stringData });
    secret('auth-secret', secrets.auth.secret, {
      [secrets.auth.key]: 'development-only-jwt-secret-not-for-production',
    });
    secret('rate-limit-secret', named.rateLimitClient.secret, {
      [secrets.rateLimitClient.key]: 'development-only-client-id-key-not-for-production',
    });
    secret('shards-secret', named.shardMap.secret, {
      [secrets.shardMap.key]: JSON.stringify(env.vitess ? vitessShardMap(password) : shardMap),
    });
    if (env.vitess) {
      const vtgate = `${vitessCluster.vtgate.service}:${String(vitessCluster.vtgate.port)}`;
      secret('vtgate-secret', secrets.vtgateUrl.secret, {
        [secrets.vtgateUrl.key]: `mysql://${vitessCluster.user}:${password}@${vtgate}`,
      });
      secret('vitess-secret', vitessCluster.config.secret, {
        [vitessCluster.config.users]: vtgateUsers(password),
        [vitessCluster.config.initDb]: tabletInitScript(),
      });
    } else if (!env.externalData) {
      secret('mysql-secret', mysqlSecretName(env), {
        [mysqlSecret.rootPasswordKey]: 'mela-dev-root-password',
        [mysqlSecret.passwordKey]: password,
      });
    }
    secret('kafka-client-secret', named.kafkaUsername.secret, {
      [secrets.kafkaUsername.key]: 'mela-services',
    });
    // The external servers' own password, or the one the StatefulSets are given.
    const redisPassword = env.externalData?.redisPassword ?? 'mela-dev-redis-password';
    const redisAt = (layer: { app: string; port: number }) =>
      `redis://:${redisPassword}@${layer.app}:${String(layer.port)}`;
    secret('redis-secret', named.redisUrl.secret, {
      [secrets.redisPassword.key]: redisPassword,
      [secrets.redisUrl.key]: redisAt(dataLayer.redis),
      [secrets.cartRedisUrl.key]: redisAt(dataLayer.cartRedis),
    });
  }
}
