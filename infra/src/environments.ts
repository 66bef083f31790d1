import { readFileSync } from 'node:fs';
import { localClusterNetwork, localTopology } from '@mela/topology';
import type { ComputeResources, EgressPeer } from './microservice.js';

/** What differs between where Mela runs: sizes, counts, the image. */
export interface Environment {
  readonly name: 'dev' | 'prod' | 'dev-vitess' | 'bbd' | 'local-cluster';
  /** The namespace every Mela object lives in. */
  readonly namespace: string;
  /** The image every service runs (skaffold replaces it with what it built). */
  readonly image: string;
  /** When the kubelet pulls it. @default IfNotPresent */
  readonly imagePullPolicy?: string;
  /** The services' LOG_LEVEL. @default info */
  readonly logLevel?: string;
  /**
   * Feature switches, as the services' variables take them (`'true'` / `'false'`): the
   * per-client rate limits (`RATE_LIMIT`). @default every feature on
   */
  readonly features?: { readonly rateLimit?: string };
  /** Other names for the Secrets the deployment creates (see `namedSecrets`). */
  readonly secretNames?: Readonly<
    Partial<Record<'rateLimit' | 'shards' | 'kafkaClient' | 'redis' | 'mysql', string>>
  >;
  /** Replicas of each service the autoscaler keeps between. */
  readonly replicas: { readonly min: number; readonly max: number };
  /** Per service, instead of `replicas` (the capacity model sizes each on its own). */
  readonly serviceReplicas?: Readonly<
    Partial<Record<'catalog' | 'cart' | 'order', { readonly min: number; readonly max: number }>>
  >;
  /** The customer keyspace's shards (keyranges), instead of the topology's `-80`, `80-`. */
  readonly customerShards?: readonly string[];
  /** Partitions of `orders` and `orders.dlq`, instead of the topology's. */
  readonly ordersPartitions?: number;
  readonly requests: ComputeResources;
  readonly limits: ComputeResources;
  /** Per service, instead of `requests` and `limits`. */
  readonly serviceResources?: Readonly<
    Partial<
      Record<
        'catalog' | 'cart' | 'order' | 'notification',
        { readonly requests: ComputeResources; readonly limits: ComputeResources }
      >
    >
  >;
  /** Spread replicas over zones (real clusters) as well as nodes. */
  readonly spreadOverZones: boolean;
  /** HTTPS at the Gateway, with a certificate from this cert-manager ClusterIssuer; none in dev. */
  readonly tls?: { readonly hostname: string; readonly clusterIssuer: string };
  /**
   * The Service in front of the Gateway's Envoy pods.
   * @default LoadBalancer with `tls`, ClusterIP without (kind/minikube: port-forward)
   */
  readonly gatewayServiceType?: 'LoadBalancer' | 'ClusterIP' | 'NodePort';
  /** The notification consumers KEDA keeps between (at most the topic's partitions). */
  readonly notificationReplicas: { readonly min: number; readonly max: number };
  /** Sizes of the data layer. */
  readonly data: {
    readonly redisMaxMemory: string;
    readonly redis: { readonly requests: ComputeResources; readonly limits: ComputeResources };
    readonly mysql: { readonly requests: ComputeResources; readonly limits: ComputeResources };
    readonly mysqlStorage: string;
    /** The carts' Redis volume (its append-only file). */
    readonly cartRedisStorage: string;
  };
  /**
   * The in-cluster edge cache: pods, the cache's size and its volume (a bit larger), and
   * whether checkouts wait their turn in its waiting room (@default true; see @mela/edge).
   */
  readonly edgeCache: {
    readonly replicas: number;
    readonly size: string;
    readonly volume: string;
    readonly waitingRoom?: boolean;
  };
  /** Kafka nodes (each both controller and broker) and each one's volume. */
  readonly kafka: { readonly replicas: number; readonly storage: string };
  /** Create the Secrets with development values (dev only; prod creates them outside). */
  readonly devSecrets: boolean;
  /**
   * Run the shards with the Vitess operator — a VitessCluster whose vtgate the services query
   * (`MYSQL_MODE=vtgate`) — instead of one MySQL StatefulSet per keyrange. @default StatefulSets
   */
  readonly vitess?: VitessOptions;
  /**
   * The data layer outside the cluster — managed databases, or local mode's servers — reached
   * through Services without selectors and EndpointSlices at these addresses (and allowed by
   * NetworkPolicies as address blocks), instead of the Redis and MySQL StatefulSets and Strimzi.
   * @default in the cluster
   */
  readonly externalData?: ExternalData;
  /** What the cluster has installed besides Kubernetes itself. @default all of it */
  readonly addons?: ClusterAddons;
  /** Who issues the bearer tokens the services verify. */
  readonly tokens: TokenAuthority;
  /** Where the services send their spans. @default tracing off */
  readonly tracing?: TracingExport;
}

/**
 * Traces out of the cluster's services: OTLP over HTTP to a collector (the Jaeger cluster:up
 * installs, or any OpenTelemetry Collector) or to a Jaeger outside the cluster.
 */
export interface TracingExport {
  /** The OTLP/HTTP base URL, e.g. `http://jaeger.observability.svc:4318`. */
  readonly endpoint: string;
  /** Where the services' pods may send it (their egress NetworkPolicy). */
  readonly egress: EgressPeer;
  /** The share of new traces kept (0–1); a traced request's children follow its decision. */
  readonly sampleRatio: number;
  /** `OTEL_SDK_DISABLED` (the chart's `tracing.enabled` turned round). @default 'false' */
  readonly disabled?: string;
}

/**
 * The Jaeger `npm run cluster:up` installs in `observability` (Jaeger v2 is an OpenTelemetry
 * Collector distribution: it receives OTLP itself).
 */
export const clusterJaeger: TracingExport = {
  endpoint: 'http://jaeger.observability.svc:4318',
  egress: { namespace: 'observability', ports: [4318] },
  sampleRatio: 1,
};

/**
 * Who issues bearer tokens, with the issuer (`iss`) and audience (`aud`) the services expect.
 * - `dev-secret`: HS256 with the `mela-auth` Secret's key (kind/minikube, test clusters): the
 *   services and the load test's runners can sign.
 * - `jwks`: an identity provider's asymmetric keys, fetched from its JWKS endpoint: the shop's
 *   pods only verify, and no signing key is in the cluster.
 */
export type TokenAuthority =
  | { readonly kind: 'dev-secret'; readonly issuer: string; readonly audience: string }
  | {
      readonly kind: 'jwks';
      readonly issuer: string;
      readonly audience: string;
      readonly jwksUrl: string;
      /** Where the JWKS endpoint is, as address blocks (with exceptions) and its port. */
      readonly egress: {
        readonly blocks: readonly { readonly cidr: string; readonly except?: readonly string[] }[];
        readonly port: number;
      };
    };

/** One server outside the cluster. */
export interface ExternalEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface ExternalData {
  /** The Redis of the cache, limits and stock gate. */
  readonly redis: ExternalEndpoint;
  /** The Redis of the carts (persistent, not evicting). */
  readonly cartRedis: ExternalEndpoint;
  /** The password both Redis servers require (written into dev's Secrets; prod's are yours). */
  readonly redisPassword?: string;
  /** Each MySQL shard by `keyspace/shard` (`commerce/0`, `customer/-80`, …). */
  readonly mysql: Readonly<Record<string, ExternalEndpoint>>;
  /**
   * The user and password the services and the schema Job connect with (written into dev's
   * Secrets; prod's are yours).
   */
  readonly mysqlCredentials?: { readonly user: string; readonly password: string };
  /** A Kafka broker without authentication; it advertises its own address to clients. */
  readonly kafka: ExternalEndpoint;
  /** The mail relay the notification service sends through. */
  readonly smtp: ExternalEndpoint;
}

/** Operators and adapters an environment's manifests rely on. */
export interface ClusterAddons {
  /** Envoy Gateway (Gateway API) and the in-cluster edge cache in front of the services. */
  readonly gateway: boolean;
  /** The Prometheus Operator: ServiceMonitors, the PrometheusRule, the dashboards. */
  readonly prometheusOperator: boolean;
  /** KEDA: the notification consumers scale on their lag (else on CPU). */
  readonly keda: boolean;
  /** A custom-metrics adapter serving `http_requests_per_second` to the HPAs. */
  readonly customMetrics: boolean;
}

export const allAddons: ClusterAddons = {
  gateway: true,
  prometheusOperator: true,
  keda: true,
  customMetrics: true,
};

/** The VitessCluster's sizes and policies (what the operator's examples leave to the user). */
export interface VitessOptions {
  /** The vitess/lite image of every Vitess component, version-matched to the operator. */
  readonly image: string;
  /** Tablets per shard (the first becomes primary); 2+ for failover. */
  readonly tabletsPerShard: number;
  /** `none` (a laptop) or `semi_sync` (acknowledged writes survive losing the primary). */
  readonly durabilityPolicy: 'none' | 'semi_sync';
  readonly vtgateReplicas: number;
  readonly tabletStorage: string;
}

/** kind/minikube: one of each, small requests, everything fits a laptop. */
export const dev: Environment = {
  name: 'dev',
  namespace: 'mela',
  image: 'mela:dev',
  replicas: { min: 1, max: 4 },
  requests: { cpu: '50m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '384Mi' },
  spreadOverZones: false,
  notificationReplicas: { min: 1, max: 2 },
  data: {
    redisMaxMemory: '200mb',
    redis: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    mysql: { requests: { cpu: '100m', memory: '384Mi' }, limits: { cpu: '1', memory: '768Mi' } },
    mysqlStorage: '1Gi',
    cartRedisStorage: '1Gi',
  },
  edgeCache: { replicas: 1, size: '256m', volume: '300Mi' },
  kafka: { replicas: 1, storage: '2Gi' },
  devSecrets: true,
  tokens: { kind: 'dev-secret', issuer: 'mela-dev', audience: 'mela' },
  tracing: clusterJaeger,
};

/** A real cluster: at least three replicas over three zones, room to grow for a sale. */
export const prod: Environment = {
  name: 'prod',
  namespace: 'mela',
  image: 'ghcr.io/mela-shop/mela:0.1.0',
  replicas: { min: 3, max: 30 },
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { cpu: '1', memory: '512Mi' },
  spreadOverZones: true,
  tls: { hostname: 'shop.example.com', clusterIssuer: 'letsencrypt' },
  notificationReplicas: { min: 2, max: 6 },
  data: {
    redisMaxMemory: '3gb',
    redis: { requests: { cpu: '500m', memory: '4Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    mysql: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
    mysqlStorage: '100Gi',
    cartRedisStorage: '20Gi',
  },
  edgeCache: { replicas: 2, size: '4g', volume: '5Gi' },
  kafka: { replicas: 3, storage: '100Gi' },
  devSecrets: false,
  // One new trace in ten: enough to find any slow path, at a tenth of the spans.
  tracing: { ...clusterJaeger, sampleRatio: 0.1 },
  // A hosted identity provider: its addresses are not known in advance, so the pods that verify
  // tokens may reach public addresses on 443 — and nothing private that way.
  tokens: {
    kind: 'jwks',
    issuer: 'https://login.example.com/',
    audience: 'https://shop.example.com/api',
    jwksUrl: 'https://login.example.com/.well-known/jwks.json',
    egress: {
      blocks: [
        {
          cidr: '0.0.0.0/0',
          except: [
            '10.0.0.0/8',
            '172.16.0.0/12',
            '192.168.0.0/16',
            '100.64.0.0/10',
            '169.254.0.0/16',
          ],
        },
      ],
      port: 443,
    },
  },
};

/**
 * dev with the shards run by the Vitess operator (installed by `npm run cluster:up -- --vitess`):
 * one tablet per shard and no semi-sync, so it fits kind next to everything else.
 */
export const devVitess: Environment = {
  ...dev,
  name: 'dev-vitess',
  vitess: {
    image: 'vitess/lite:v24.0.4',
    tabletsPerShard: 1,
    durabilityPolicy: 'none',
    vtgateReplicas: 1,
    tabletStorage: '1Gi',
  },
};

/** What `npm run capacity` wrote to infra/environments/bbd.json. */
interface CapacityOutput {
  readonly serviceReplicas: Record<'catalog' | 'cart' | 'order', { min: number; max: number }>;
  readonly notificationReplicas: { min: number; max: number };
  readonly customerShards: string[];
  readonly ordersPartitions: number;
  readonly redisMaxMemory: string;
  readonly mysqlStorage: string;
}

const capacity = JSON.parse(
  readFileSync(new URL('../../environments/bbd.json', import.meta.url), 'utf8'),
) as CapacityOutput;

/**
 * Big-Billion Day: prod, sized by the capacity model (`npm run capacity`, which writes
 * infra/environments/bbd.json from the measured figures): each service's replicas, the
 * customer shards, the order partitions and consumers, Redis memory and shard storage.
 */
export const bbd: Environment = {
  ...prod,
  name: 'bbd',
  serviceReplicas: capacity.serviceReplicas,
  notificationReplicas: capacity.notificationReplicas,
  customerShards: capacity.customerShards,
  ordersPartitions: capacity.ordersPartitions,
  data: {
    ...prod.data,
    redisMaxMemory: capacity.redisMaxMemory,
    mysqlStorage: capacity.mysqlStorage,
  },
};

/**
 * dev on the real single-node cluster this machine runs (`npm run cluster:local`): the same
 * services, HPAs, PDBs, NetworkPolicies and security, with the data layer outside the cluster
 * (local mode's servers on the data host) and without the operators that cluster lacks.
 */
export const localCluster: Environment = {
  ...dev,
  name: 'local-cluster',
  addons: { gateway: false, prometheusOperator: false, keda: false, customMetrics: false },
  externalData: (() => {
    // The data host (`npm run cluster:local`): local mode's servers, as managed databases would
    // run, outside the cluster.
    const topology = localTopology({ MELA_HOST: localClusterNetwork.dataHost });
    const at = (port: number) => ({ address: topology.host, port });
    return {
      redis: at(topology.redis.port),
      cartRedis: at(topology.redis.cartsPort),
      redisPassword: topology.redis.password,
      mysql: Object.fromEntries(
        topology.mysql.instances.map((i) => [`${i.keyspace}/${i.shard}`, at(i.port)]),
      ),
      mysqlCredentials: { user: topology.mysql.user, password: topology.mysql.password },
      kafka: at(topology.kafka.port),
      smtp: at(topology.mailbox.smtpPort),
    };
  })(),
  // The data host's Jaeger (local mode's), where the shop's processes send theirs too.
  tracing: (() => {
    const topology = localTopology({ MELA_HOST: localClusterNetwork.dataHost });
    return {
      endpoint: `http://${topology.host}:${String(topology.jaeger.otlpPort)}`,
      egress: { cidr: `${topology.host}/32`, ports: [topology.jaeger.otlpPort] },
      sampleRatio: 1,
    };
  })(),
};

export const environments = {
  dev,
  prod,
  'dev-vitess': devVitess,
  bbd,
  'local-cluster': localCluster,
} as const;
