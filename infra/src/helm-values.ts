import { z } from 'zod';
import { serviceNames } from '@mela/topology';
import { imageDigest, mysqlSecretName, mysqlShards } from './data-chart.js';
import type { Environment, ExternalData, ExternalEndpoint } from './environments.js';
import { namedSecrets, secretsOf, type NamedSecret } from './services-chart.js';

const quantity = z
  .string()
  .regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a Kubernetes quantity such as 250m or 256Mi');
const resources = z.strictObject({
  requests: z.strictObject({ cpu: quantity, memory: quantity }),
  limits: z.strictObject({ cpu: quantity, memory: quantity }),
});
const service = (least: number) =>
  z.strictObject({
    minReplicas: z.int().min(least).max(1000),
    maxReplicas: z.int().min(1).max(1000),
    resources,
  });
const secretName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/, 'a Secret name (lower case, digits, - and .)');
const dnsName = z
  .string()
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a DNS name');
const endpoint = z.strictObject({
  /** An EndpointSlice takes addresses, not names: resolve a managed database's name first. */
  address: z
    .string()
    .regex(
      /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
      'an IPv4 address',
    ),
  port: z.int().min(1).max(65535),
});
/** The shards of the chart's environment (prod), as `keyspace/shard`. */
const chartShards = mysqlShards().map(({ keyspace, shard }) => `${keyspace}/${shard}`);
const externalServers = {
  /** The Redis of the cache, limits and stock gate (evicting). */
  redis: endpoint,
  /** The Redis of the carts (persistent, never evicting). */
  cartRedis: endpoint,
  /** Each MySQL shard, by `keyspace/shard`. */
  mysql: z.strictObject(Object.fromEntries(chartShards.map((shard) => [shard, endpoint]))),
  /** A Kafka broker without authentication, which advertises its own address. */
  kafka: endpoint,
  /** The mail relay. */
  smtp: endpoint,
};

/**
 * What `helm install` lets you set in charts/mela (values.yaml), and what it refuses
 * (values.schema.json is this schema). Every value's default is the prod environment's.
 */
export const chartValuesSchema = z.strictObject({
  image: z.strictObject({
    repository: z.string().regex(/^[a-z0-9]+(?:[._/:-][a-z0-9]+)*$/, 'an image repository'),
    tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'an image tag'),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  }),
  services: z.strictObject({
    catalog: service(1),
    cart: service(1),
    order: service(1),
    // The notification consumers may scale to zero when the topic has no lag (KEDA).
    notification: service(0),
  }),
  gateway: z.strictObject({
    /** HTTPS on `hostname` with cert-manager's certificate, HTTP redirected there; off: HTTP only. */
    tls: z.strictObject({
      enabled: z.boolean(),
      hostname: dnsName,
      clusterIssuer: z.string().min(1).max(253),
    }),
    /** The Service in front of the Gateway's Envoy pods. */
    serviceType: z.enum(['LoadBalancer', 'ClusterIP', 'NodePort']),
  }),
  /** The in-cluster edge cache's pods. */
  edgeCache: z.strictObject({ replicas: z.int().min(1).max(100) }),
  /**
   * The data layer outside the cluster (managed databases): Redis, MySQL shards, Kafka and the
   * mail relay at these addresses instead of the StatefulSets and Strimzi's Kafka. Their
   * credentials stay in the Secrets under `secrets`.
   */
  externalData: z.discriminatedUnion('enabled', [
    z.strictObject({
      enabled: z.literal(false),
      ...Object.fromEntries(
        Object.entries(externalServers).map(([name, schema]) => [name, schema.optional()]),
      ),
    }),
    z.strictObject({ enabled: z.literal(true), ...externalServers }),
  ]),
  /** Who issues the shoppers' bearer tokens: the services verify them against its JWKS. */
  auth: z.strictObject({
    issuer: z.string().min(1).max(500),
    audience: z.string().min(1).max(500),
    jwksUrl: z.url().regex(/^https:\/\/[^\s]+$/, 'an https URL'),
  }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']),
  /** Switches for what the services do beyond serving: off only to measure or to debug. */
  features: z.strictObject({
    /** The per-client and per-user rate limits (429 past a budget). */
    rateLimit: z.boolean(),
    /** The edge's checkout waiting room (a flash sale's burst waits in line at the edge). */
    waitingRoom: z.boolean(),
  }),
  /** Where the services send their spans (OTLP over HTTP), and how many new traces they keep. */
  tracing: z.strictObject({
    enabled: z.boolean(),
    endpoint: z.url().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL'),
    /** The collector's namespace and port: the services' egress is allowed there alone. */
    namespace: z
      .string()
      .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'a namespace name (a DNS label)'),
    port: z.int().min(1).max(65535),
    // A number, or its text: `helm --set` hands a decimal over as a string.
    sampleRatio: z.union([
      z.number().min(0).max(1),
      z.string().regex(/^(?:0(?:\.\d+)?|1(?:\.0+)?)$/, 'a share from 0 to 1'),
    ]),
  }),
  /** The names of the Secrets you create (see the README's deployment steps for their keys). */
  secrets: z.strictObject(
    Object.fromEntries(namedSecrets.map((role) => [role, secretName])) as Record<
      NamedSecret,
      typeof secretName
    >,
  ),
});
export type ChartValues = z.infer<typeof chartValuesSchema>;

const allServices = serviceNames;
/** The services an HPA scales (KEDA scales the notification consumers). */
const scaledServices = ['catalog', 'cart', 'order'] as const;

/** The chart's default values: `env`'s settings (charts/mela: prod's). */
export function chartDefaults(env: Environment): ChartValues {
  const colon = env.image.lastIndexOf(':');
  const { tls, tokens, tracing } = env;
  if (
    colon <= 0 ||
    tls === undefined ||
    tokens.kind !== 'jwks' ||
    tracing === undefined ||
    !('namespace' in tracing.egress) ||
    env.externalData !== undefined
  )
    throw new Error(
      `${env.name}: the chart needs an image with a tag, TLS at the Gateway, an identity provider's JWKS, a collector in a namespace and the data layer in the cluster`,
    );
  const [collectorPort = 0] = tracing.egress.ports;
  const resourcesOf = (name: (typeof allServices)[number]) =>
    env.serviceResources?.[name] ?? { requests: env.requests, limits: env.limits };
  const replicasOf = (name: (typeof allServices)[number]) =>
    name === 'notification'
      ? env.notificationReplicas
      : (env.serviceReplicas?.[name] ?? env.replicas);
  return {
    image: {
      repository: env.image.slice(0, colon),
      tag: env.image.slice(colon + 1),
      pullPolicy: (env.imagePullPolicy ?? 'IfNotPresent') as ChartValues['image']['pullPolicy'],
    },
    services: Object.fromEntries(
      allServices.map((name) => [
        name,
        {
          minReplicas: replicasOf(name).min,
          maxReplicas: replicasOf(name).max,
          resources: resourcesOf(name),
        },
      ]),
    ) as ChartValues['services'],
    gateway: {
      tls: { enabled: true, hostname: tls.hostname, clusterIssuer: tls.clusterIssuer },
      serviceType: env.gatewayServiceType ?? 'LoadBalancer',
    },
    edgeCache: { replicas: env.edgeCache.replicas },
    externalData: { enabled: false },
    auth: { issuer: tokens.issuer, audience: tokens.audience, jwksUrl: tokens.jwksUrl },
    logLevel: (env.logLevel ?? 'info') as ChartValues['logLevel'],
    features: {
      rateLimit: (env.features?.rateLimit ?? 'true') === 'true',
      waitingRoom: env.edgeCache.waitingRoom ?? true,
    },
    tracing: {
      enabled: true,
      endpoint: tracing.endpoint,
      namespace: tracing.egress.namespace,
      port: collectorPort,
      sampleRatio: tracing.sampleRatio,
    },
    secrets: secretNamesOf(env),
  };
}

/** The name of each Secret the deployment creates, as `env` names them. */
function secretNamesOf(env: Environment): Record<NamedSecret, string> {
  const named = secretsOf(env);
  return {
    rateLimit: named.rateLimitClient.secret,
    shards: named.shardMap.secret,
    kafkaClient: named.kafkaUsername.secret,
    redis: named.redisUrl.secret,
    mysql: mysqlSecretName(env),
  };
}

/**
 * A boolean value that changes which objects the chart holds, not only what they say: the chart
 * holds the manifests of `env` and of `turn(env)`, each under its `{{ if }}`.
 */
export interface ChartSwitch {
  /** The value's path under `.Values`. */
  readonly value: string;
  /** The value that gives `turn(env)`'s manifests (the default gives `env`'s). */
  readonly turned: boolean;
  readonly turn: (env: Environment) => Environment;
}

/** The Helm condition that holds when `change` is turned (or, `negated`, when it is not). */
export function switchCondition(change: ChartSwitch, negated = false): string {
  return change.turned !== negated ? `.Values.${change.value}` : `not .Values.${change.value}`;
}

/**
 * `env` with a marker in place of each value the chart lets you set, the Helm expression
 * that replaces each marker in the synthesized templates, and the switches that change which
 * objects there are. Markers are values the manifests accept (quantities, replica counts,
 * addresses of TEST-NET-1) that no other field holds.
 */
export function markedEnvironment(env: Environment): {
  readonly env: Environment;
  readonly expressions: readonly (readonly [marker: string, expression: string])[];
  /** Markers inside a value (the schema Job's name ends with the image's digest). */
  readonly inline: readonly (readonly [marker: string, expression: string])[];
  readonly switches: readonly ChartSwitch[];
} {
  const expressions: [string, string][] = [];
  const mark = (marker: string, expression: string) => {
    expressions.push([marker, expression]);
    return marker;
  };
  const value = (path: string) => `{{ .Values.${path} }}`;
  const quoted = (path: string) => `{{ .Values.${path} | quote }}`;
  const replicas = (name: (typeof allServices)[number], index: number) => ({
    min: Number(mark(String(7101 + index), value(`services.${name}.minReplicas`))),
    max: Number(mark(String(7201 + index), value(`services.${name}.maxReplicas`))),
  });
  const resources = (name: (typeof allServices)[number], index: number) => {
    const at = (kind: 'requests' | 'limits', offset: number) => ({
      cpu: mark(
        `${String(7301 + index + offset)}m`,
        quoted(`services.${name}.resources.${kind}.cpu`),
      ),
      memory: mark(
        `${String(7301 + index + offset)}Mi`,
        quoted(`services.${name}.resources.${kind}.memory`),
      ),
    });
    return { requests: at('requests', 0), limits: at('limits', 10) };
  };
  const image = '{{ printf "%s:%s" .Values.image.repository .Values.image.tag';
  const marked: Environment = {
    ...env,
    image: mark('mela-marker-image', `${image} | quote }}`),
    imagePullPolicy: mark('mela-marker-pull-policy', quoted('image.pullPolicy')),
    serviceReplicas: Object.fromEntries(
      scaledServices.map((name, index) => [name, replicas(name, index)]),
    ),
    notificationReplicas: replicas('notification', 3),
    serviceResources: Object.fromEntries(
      allServices.map((name, index) => [name, resources(name, index)]),
    ),
    tls: {
      hostname: mark('mela-marker-hostname.example', quoted('gateway.tls.hostname')),
      clusterIssuer: mark('mela-marker-issuer', quoted('gateway.tls.clusterIssuer')),
    },
    gatewayServiceType: mark(
      'mela-marker-gateway-service',
      quoted('gateway.serviceType'),
    ) as Environment['gatewayServiceType'],
    edgeCache: {
      ...env.edgeCache,
      replicas: Number(mark('7501', value('edgeCache.replicas'))),
    },
    logLevel: mark('mela-marker-log-level', quoted('logLevel')),
    features: { rateLimit: mark('mela-marker-rate-limit', quoted('features.rateLimit')) },
    ...(env.tracing
      ? {
          tracing: {
            endpoint: mark('http://mela-marker-collector.example:4318', quoted('tracing.endpoint')),
            egress: {
              namespace: mark('mela-marker-collector-namespace', quoted('tracing.namespace')),
              ports: [Number(mark('7401', value('tracing.port')))],
            },
            sampleRatio: Number(mark('0.7402', quoted('tracing.sampleRatio'))),
            disabled: mark('mela-marker-tracing-off', '{{ not .Values.tracing.enabled | quote }}'),
          },
        }
      : {}),
    secretNames: Object.fromEntries(
      namedSecrets.map((role) => [
        role,
        mark(`mela-marker-secret-${role.toLowerCase()}`, quoted(`secrets.${role}`)),
      ]),
    ),
    tokens:
      env.tokens.kind === 'jwks'
        ? {
            ...env.tokens,
            issuer: mark('mela-marker-token-issuer', quoted('auth.issuer')),
            audience: mark('mela-marker-token-audience', quoted('auth.audience')),
            jwksUrl: mark('https://mela-marker-jwks.example/jwks', quoted('auth.jwksUrl')),
          }
        : env.tokens,
  };
  const inline: [string, string][] = [
    [imageDigest(marked.image), `${image} | sha256sum | trunc 8 }}`],
  ];
  // Each external server at a TEST-NET-1 address (inside addresses and address blocks alike) and
  // a port of its own.
  const server = (path: string): ExternalEndpoint => {
    const address = `192.0.2.${String(101 + inline.length)}`;
    inline.push([address, `{{ ${path}.address }}`]);
    return { address, port: Number(mark(String(7600 + inline.length), `{{ ${path}.port }}`)) };
  };
  const external = '.Values.externalData';
  const externalData: ExternalData = {
    redis: server(`${external}.redis`),
    cartRedis: server(`${external}.cartRedis`),
    mysql: Object.fromEntries(
      mysqlShards().map(({ keyspace, shard }) => [
        `${keyspace}/${shard}`,
        server(`(index ${external}.mysql "${keyspace}/${shard}")`),
      ]),
    ),
    kafka: server(`${external}.kafka`),
    smtp: server(`${external}.smtp`),
  };
  const switches: ChartSwitch[] = [
    { value: 'gateway.tls.enabled', turned: false, turn: (e) => ({ ...e, tls: undefined }) },
    {
      value: 'features.waitingRoom',
      turned: false,
      turn: (e) => ({ ...e, edgeCache: { ...e.edgeCache, waitingRoom: false } }),
    },
    { value: 'externalData.enabled', turned: true, turn: (e) => ({ ...e, externalData }) },
  ];
  return { env: marked, expressions, inline, switches };
}

/** Puts each marker's Helm expression in its place in a synthesized template. */
export function replaceMarkers(
  template: string,
  expressions: readonly (readonly [string, string])[],
  inline: readonly (readonly [string, string])[] = [],
): string {
  let text = template;
  for (const [marker, expression] of inline) text = text.replaceAll(marker, expression);
  for (const [marker, expression] of expressions) {
    // A marker stands alone as a YAML value (quoted or not): `key: <marker>`.
    const pattern = new RegExp(`(:\\s+)(["']?)${marker.replace(/\./g, '\\.')}\\2(?=\\s*$)`, 'gm');
    text = text.replace(pattern, (_match, separator: string) => `${separator}${expression}`);
  }
  return text;
}
