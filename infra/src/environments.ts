import type { ComputeResources } from './microservice.js';

/** What differs between where Mela runs: sizes, counts, the image. */
export interface Environment {
  readonly name: 'dev' | 'prod';
  /** The namespace every Mela object lives in. */
  readonly namespace: string;
  /** The image every service runs (skaffold replaces it with what it built). */
  readonly image: string;
  /** Replicas of each service the autoscaler keeps between. */
  readonly replicas: { readonly min: number; readonly max: number };
  readonly requests: ComputeResources;
  readonly limits: ComputeResources;
  /** Spread replicas over zones (real clusters) as well as nodes. */
  readonly spreadOverZones: boolean;
  /** HTTPS at the Gateway, with a certificate from this cert-manager ClusterIssuer; none in dev. */
  readonly tls?: { readonly hostname: string; readonly clusterIssuer: string };
  /** The notification consumers KEDA keeps between (at most the topic's partitions). */
  readonly notificationReplicas: { readonly min: number; readonly max: number };
  /** Sizes of the data layer. */
  readonly data: {
    readonly redisMaxMemory: string;
    readonly redis: { readonly requests: ComputeResources; readonly limits: ComputeResources };
    readonly mysql: { readonly requests: ComputeResources; readonly limits: ComputeResources };
    readonly mysqlStorage: string;
  };
  /** The in-cluster edge cache: pods, the cache's size and its volume (a bit larger). */
  readonly edgeCache: { readonly replicas: number; readonly size: string; readonly volume: string };
  /** Kafka nodes (each both controller and broker) and each one's volume. */
  readonly kafka: { readonly replicas: number; readonly storage: string };
  /** Create the Secrets with development values (dev only; prod creates them outside). */
  readonly devSecrets: boolean;
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
  },
  edgeCache: { replicas: 1, size: '256m', volume: '300Mi' },
  kafka: { replicas: 1, storage: '2Gi' },
  devSecrets: true,
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
  },
  edgeCache: { replicas: 2, size: '4g', volume: '5Gi' },
  kafka: { replicas: 3, storage: '100Gi' },
  devSecrets: false,
};

export const environments = { dev, prod } as const;
