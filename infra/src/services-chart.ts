import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import {
  callersOf,
  needVariables,
  serviceNeeds,
  type Need,
  type ServiceName,
} from '@mela/topology';
import { GatewayClass } from '../imports/gateway.networking.k8s.io.js';
import { ScaledObject, TriggerAuthentication } from '../imports/keda.sh.js';
import { envoyGatewayController } from './gateway-chart.js';
import { allAddons, type Environment } from './environments.js';
import { externalPeers } from './external-data.js';
import { shopTestApp } from './helm-tests.js';
import { Microservice, type EgressPeer, type MicroserviceProps } from './microservice.js';
import { namespacePolicies, podSecurityLabels } from './namespace-policy.js';
import { vitessCluster } from './vitess.js';

/** In-cluster names of what the services connect to (the data-layer chart creates them). */
const kafkaCluster = 'mela';

export const dataLayer = {
  /** What may be evicted: the catalog cache, rate-limit counters, the stock gate. */
  redis: { app: 'redis', port: 6379 },
  /** What must survive: carts (persistent volume, every write logged, never evicting). */
  cartRedis: { app: 'redis-carts', port: 6379 },
  // Strimzi names the bootstrap Service after the cluster.
  kafka: {
    cluster: kafkaCluster,
    bootstrap: `${kafkaCluster}-kafka-bootstrap`,
    port: 9092,
    app: 'kafka',
  },
  mysql: { app: 'mysql', port: 3306 },
  smtp: { url: 'smtp://mail-relay:25' },
} as const;

/** The VSchema the sharded services route by: a ConfigMap the data chart makes, mounted as a file. */
export const vschemaConfig = {
  configMap: 'mela-vschema',
  key: 'vschema.json',
  path: '/etc/mela/vschema.json',
} as const;

/** Secrets the services read (created by the data-layer chart or the operators). */
export const secrets = {
  /** The HS256 key of `dev-secret` environments' tokens (an identity provider's need none). */
  auth: { secret: 'mela-auth', key: 'jwt-secret' },
  /** Where an identity provider issues tokens: the load test's, `{userId: token}` as JSON. */
  loadTokens: { secret: 'mela-load-tokens', key: 'tokens' },
  /** The key signing anonymous clients' first-party ids for the rate limiter. */
  rateLimitClient: { secret: 'mela-rate-limit', key: 'client-secret' },
  /** SHARD_MAP: every keyspace's shards with their credentials. */
  shardMap: { secret: 'mela-shards', key: 'shard-map' },
  /** VTGATE_URL, `mysql://user:password@mela-vtgate:3306`, when the shards run under Vitess. */
  vtgateUrl: { secret: 'mela-vtgate', key: 'url' },
  /** The KafkaUser's SCRAM password (Strimzi writes it into a Secret named after the user). */
  kafkaPassword: { secret: 'mela-services', key: 'password' },
  /** The KafkaUser's name, for KEDA's Kafka scaler (Strimzi's Secret holds only the password). */
  kafkaUsername: { secret: 'mela-kafka-client', key: 'username' },
  /** REDIS_URL, `redis://:password@redis:6379`: the cache, limits and stock gate. */
  redisUrl: { secret: 'mela-redis', key: 'url' },
  /** CART_REDIS_URL, `redis://:password@redis-carts:6379`: the carts. */
  cartRedisUrl: { secret: 'mela-redis', key: 'carts-url' },
  /** The password both Redis servers require (`--requirepass`). */
  redisPassword: { secret: 'mela-redis', key: 'password' },
} as const;

/**
 * The Secrets a deployment creates itself (prod: outside the chart), by what they hold: it may
 * give them other names (`secretNames`; the chart's `secrets.*` values).
 */
export const namedSecrets = ['rateLimit', 'shards', 'kafkaClient', 'redis', 'mysql'] as const;
export type NamedSecret = (typeof namedSecrets)[number];

/** {@link secrets} under the names `env` gives them. */
export function secretsOf(env: Environment): typeof secrets {
  const named = (role: NamedSecret, fallback: string) => env.secretNames?.[role] ?? fallback;
  const rename = <T extends { readonly secret: string }>(ref: T, role: NamedSecret): T => ({
    ...ref,
    secret: named(role, ref.secret),
  });
  return {
    ...secrets,
    rateLimitClient: rename(secrets.rateLimitClient, 'rateLimit'),
    shardMap: rename(secrets.shardMap, 'shards'),
    kafkaUsername: rename(secrets.kafkaUsername, 'kafkaClient'),
    redisUrl: rename(secrets.redisUrl, 'redis'),
    cartRedisUrl: rename(secrets.cartRedisUrl, 'redis'),
    redisPassword: rename(secrets.redisPassword, 'redis'),
  };
}

const port = 3000;
const url = (service: ServiceName) => `http://${service}:${String(port)}`;

/** How one need reaches a service's pods in the cluster: variables, files and egress. */
interface Wiring {
  readonly env?: Readonly<Record<string, string>>;
  readonly secretEnv?: Readonly<Record<string, { readonly secret: string; readonly key: string }>>;
  readonly configFiles?: MicroserviceProps['configFiles'];
  readonly allowTo?: readonly EgressPeer[];
}

/** The cluster's rendering of a need (local mode's is devstack's `localWiring`). */
export function clusterWiring(env: Environment, need: Need): Wiring {
  const external = env.externalData;
  if (typeof need === 'object') {
    const [variable = ''] = needVariables(need);
    return {
      env: { [variable]: url(need.service) },
      allowTo: [{ app: need.service, ports: [port] }],
    };
  }
  switch (need) {
    case 'redis':
      // The URLs carry the password, so they come from a Secret.
      return {
        secretEnv: { REDIS_URL: secretsOf(env).redisUrl },
        allowTo: external
          ? externalPeers([external.redis])
          : [{ app: dataLayer.redis.app, ports: [dataLayer.redis.port] }],
      };
    case 'cart-redis':
      return {
        secretEnv: { CART_REDIS_URL: secretsOf(env).cartRedisUrl },
        allowTo: external
          ? externalPeers([external.cartRedis])
          : [{ app: dataLayer.cartRedis.app, ports: [dataLayer.cartRedis.port] }],
      };
    case 'mysql':
      // Routed by the VSchema from a ConfigMap (change it without rebuilding the image) — or,
      // with the Vitess operator, through vtgate, which routes by the same VSchema.
      return {
        env: { VSCHEMA_FILE: vschemaConfig.path, ...(env.vitess ? { MYSQL_MODE: 'vtgate' } : {}) },
        configFiles: [
          { configMap: vschemaConfig.configMap, key: vschemaConfig.key, path: vschemaConfig.path },
        ],
        secretEnv: env.vitess
          ? { VTGATE_URL: secrets.vtgateUrl }
          : { SHARD_MAP: secretsOf(env).shardMap },
        allowTo: env.vitess
          ? [{ pods: vitessCluster.podLabels('vtgate'), ports: [vitessCluster.vtgate.port] }]
          : external
            ? externalPeers(Object.values(external.mysql))
            : [{ app: dataLayer.mysql.app, ports: [dataLayer.mysql.port] }],
      };
    case 'kafka':
      return {
        env: {
          KAFKA_BROKERS: `${dataLayer.kafka.bootstrap}:${String(dataLayer.kafka.port)}`,
          ...(kafkaTakesScram(env)
            ? { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_USERNAME: 'mela-services' }
            : {}),
        },
        secretEnv: kafkaTakesScram(env) ? { KAFKA_PASSWORD: secrets.kafkaPassword } : {},
        allowTo: kafkaPeers(env),
      };
    case 'smtp':
      return {
        env: { SMTP_URL: dataLayer.smtp.url },
        allowTo: external ? externalPeers([external.smtp]) : [{ app: 'mail-relay', ports: [25] }],
      };
    case 'webhooks':
      // No SMS or push provider in the cluster's environments: those channels stay off.
      return {};
    case 'identity-provider': {
      // The services that verify shoppers' tokens fetch the identity provider's keys.
      const { tokens } = env;
      return tokens.kind === 'jwks'
        ? {
            allowTo: tokens.egress.blocks.map((block) => ({
              ...block,
              ports: [tokens.egress.port],
            })),
          }
        : {};
    }
    case 'tracing': {
      const { tracing } = env;
      return tracing
        ? {
            env: {
              OTEL_EXPORTER_OTLP_ENDPOINT: tracing.endpoint,
              OTEL_TRACES_SAMPLER_ARG: String(tracing.sampleRatio),
              OTEL_SDK_DISABLED: tracing.disabled ?? 'false',
            },
            allowTo: [tracing.egress],
          }
        : {};
    }
  }
}

/** Strimzi's listener takes SCRAM; an external broker here takes no authentication. */
function kafkaTakesScram(env: Environment): boolean {
  return env.externalData === undefined;
}

function kafkaPeers(env: Environment): EgressPeer[] {
  return env.externalData
    ? externalPeers([env.externalData.kafka])
    : [{ app: dataLayer.kafka.app, ports: [dataLayer.kafka.port] }];
}

/** Who reaches each service from outside the services: the Gateway, the edge cache, Prometheus. */
const entrances: Record<
  ServiceName,
  { readonly apps: readonly string[]; readonly gateway: boolean }
> = {
  // `helm test`'s pod (helm-tests.ts) asks each public service what it answers.
  catalog: { apps: ['edge-cache', shopTestApp], gateway: true },
  // The edge cache reads its OpenAPI document for the API reference (/api/docs/cart.json).
  cart: { apps: ['edge-cache', shopTestApp], gateway: true },
  // Checkouts arrive through the edge cache's waiting room (the Gateway routes them there).
  order: { apps: ['edge-cache', shopTestApp], gateway: true },
  notification: { apps: [], gateway: false },
};

/** Each service: what it needs (rendered from `serviceNeeds`) and who may call it. */
function serviceProps(
  env: Environment,
): Record<ServiceName, Omit<MicroserviceProps, 'name' | 'image'>> {
  const { tokens } = env;
  const addons = env.addons ?? allAddons;
  const props = (name: ServiceName): Omit<MicroserviceProps, 'name' | 'image'> => {
    const wirings = serviceNeeds[name].map((need) => clusterWiring(env, need));
    const configFiles = wirings.flatMap((w) => w.configFiles ?? []);
    const callers = [...callersOf(name), ...entrances[name].apps];
    const namespaces = [...(entrances[name].gateway ? ['envoy-gateway-system'] : []), 'monitoring'];
    return {
      port,
      replicas: env.replicas,
      requests: env.serviceResources?.[name]?.requests ?? env.requests,
      limits: env.serviceResources?.[name]?.limits ?? env.limits,
      spreadOverZones: env.spreadOverZones,
      env: Object.assign(
        {
          NODE_ENV: 'production',
          LOG_LEVEL: env.logLevel ?? 'info',
          RATE_LIMIT: env.features?.rateLimit ?? 'true',
          // Requests arrive through the Gateway, one trusted hop.
          TRUST_PROXY_HOPS: '1',
          AUTH_JWT_ISSUER: tokens.issuer,
          AUTH_JWT_AUDIENCE: tokens.audience,
          ...(tokens.kind === 'jwks' ? { AUTH_JWKS_URL: tokens.jwksUrl } : {}),
        },
        ...wirings.map((w) => w.env ?? {}),
      ) as Record<string, string>,
      secretEnv: Object.assign(
        {
          // With an identity provider the pods only verify: no signing key is mounted.
          ...(tokens.kind === 'dev-secret' ? { AUTH_JWT_SECRET: secrets.auth } : {}),
          RATE_LIMIT_CLIENT_SECRET: secretsOf(env).rateLimitClient,
        },
        ...wirings.map((w) => w.secretEnv ?? {}),
      ) as Record<string, { readonly secret: string; readonly key: string }>,
      ...(configFiles.length > 0 ? { configFiles } : {}),
      allowFrom: { ...(callers.length > 0 ? { apps: callers } : {}), namespaces },
      allowTo: wirings.flatMap((w) => w.allowTo ?? []),
    };
  };
  return {
    catalog: props('catalog'),
    cart: props('cart'),
    order: props('order'),
    notification: {
      ...props('notification'),
      // KEDA scales the consumers on their lag (below), not on CPU; without KEDA, on CPU.
      autoscaling: addons.keda ? 'external' : 'hpa',
      opsCommands: [
        {
          name: 'dlq-replay',
          command: ['node', 'services/notification/dist/src/dlq.cli.js', 'replay'],
          allowTo: kafkaPeers(env),
        },
      ],
    },
  };
}

/** The four services of one environment, in its namespace. */
export class ServicesChart extends Chart {
  readonly services: Record<ServiceName, Microservice>;

  constructor(scope: Construct, id: string, env: Environment, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: env.namespace });
    const all = serviceProps(env);
    const addons = env.addons ?? allAddons;
    this.services = {} as Record<ServiceName, Microservice>;
    for (const name of Object.keys(all) as ServiceName[]) {
      const props = all[name];
      // One image for every service; MELA_SERVICE picks which one it runs.
      const sized = name === 'notification' ? undefined : env.serviceReplicas?.[name];
      this.services[name] = new Microservice(this, name, {
        ...props,
        ...(sized ? { replicas: sized } : {}),
        name,
        image: env.image,
        ...(env.imagePullPolicy === undefined ? {} : { imagePullPolicy: env.imagePullPolicy }),
        env: { ...props.env, MELA_SERVICE: name },
        serviceMonitor: addons.prometheusOperator,
        requestRateMetric: addons.customMetrics,
      });
    }
    if (addons.keda) notificationScaling(this, env);
    namespacePolicies(this, env);
  }
}

/**
 * KEDA scales the notification consumers on their Kafka lag: a ScaledObject (which owns the
 * HPA) with a Kafka trigger, authenticated with the services' SCRAM credentials (an external
 * broker takes none, as the services reach it).
 */
function notificationScaling(scope: Construct, env: Environment): void {
  const labels = { 'app.kubernetes.io/name': 'notification', 'app.kubernetes.io/part-of': 'mela' };
  const scram = kafkaTakesScram(env);
  if (scram)
    new TriggerAuthentication(scope, 'notification-kafka-auth', {
      metadata: { name: 'notification-kafka', labels },
      spec: {
        secretTargetRef: [
          {
            parameter: 'username',
            name: secretsOf(env).kafkaUsername.secret,
            key: secrets.kafkaUsername.key,
          },
          {
            parameter: 'password',
            name: secrets.kafkaPassword.secret,
            key: secrets.kafkaPassword.key,
          },
        ],
      },
    });
  new ScaledObject(scope, 'notification-scaler', {
    metadata: { name: 'notification', labels },
    spec: {
      scaleTargetRef: { name: 'notification' },
      minReplicaCount: env.notificationReplicas.min,
      maxReplicaCount: env.notificationReplicas.max,
      pollingInterval: 10,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'kafka',
          metadata: {
            bootstrapServers: `${dataLayer.kafka.bootstrap}:${String(dataLayer.kafka.port)}`,
            consumerGroup: 'notification',
            topic: 'orders',
            // Pending order events per consumer before another is added.
            lagThreshold: '100',
            offsetResetPolicy: 'earliest',
            sasl: scram ? 'scram_sha512' : 'none',
            tls: 'disable',
          },
          ...(scram ? { authenticationRef: { name: 'notification-kafka' } } : {}),
        },
      ],
    },
  });
}

/**
 * What is not namespaced: the namespace itself (plain manifests; Helm installs into one it is
 * given) and the `mela` GatewayClass, implemented by Envoy Gateway.
 */
export class ClusterChart extends Chart {
  constructor(
    scope: Construct,
    id: string,
    env: Environment,
    options: { readonly namespace: boolean },
  ) {
    super(scope, id);
    const partOf = { 'app.kubernetes.io/part-of': 'mela' };
    if (options.namespace) {
      new k8s.KubeNamespace(this, 'namespace', {
        metadata: {
          name: env.namespace,
          labels: {
            ...partOf,
            'kubernetes.io/metadata.name': env.namespace,
            ...podSecurityLabels(env),
          },
        },
      });
    }
    if (!(env.addons ?? allAddons).gateway) return;
    new GatewayClass(this, 'gateway-class', {
      metadata: { name: 'mela', labels: partOf },
      spec: {
        controllerName: envoyGatewayController,
        parametersRef: {
          group: 'gateway.envoyproxy.io',
          kind: 'EnvoyProxy',
          name: 'mela',
          namespace: env.namespace,
        },
      },
    });
  }
}
