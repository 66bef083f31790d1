import type { ServiceName } from './local.js';

/**
 * A flow a service needs: a server it uses, another service it calls, or the identity provider
 * whose keys verify shoppers' tokens. Local mode (devstack) and the cluster (infra) render each
 * service's wiring from {@link serviceNeeds}; neither lists a service's variables by hand.
 */
export type Need =
  | 'redis'
  | 'cart-redis'
  | 'mysql'
  | 'kafka'
  | 'smtp'
  | 'webhooks'
  | 'identity-provider'
  | 'tracing'
  | { readonly service: ServiceName };

/** What each service needs, and so which variables it gets and where its pods may connect. */
export const serviceNeeds: Readonly<Record<ServiceName, readonly Need[]>> = {
  catalog: ['redis', 'mysql', 'identity-provider', 'tracing'],
  cart: ['redis', 'cart-redis', { service: 'catalog' }, 'identity-provider', 'tracing'],
  order: ['redis', 'cart-redis', 'mysql', 'kafka', 'identity-provider', 'tracing'],
  notification: ['mysql', 'kafka', 'smtp', 'webhooks', 'tracing'],
};

/**
 * Needs a rendering may leave out: SMS and push go to webhooks only where a provider is
 * configured (the dev mailbox locally; none in the cluster's default environments).
 */
export const optionalNeeds: readonly Need[] = ['webhooks'];

/** The variables that carry a need to a service (its configuration schema reads them). */
export function needVariables(need: Need): readonly string[] {
  if (typeof need === 'object') return [`${need.service.toUpperCase()}_URL`];
  switch (need) {
    case 'redis':
      return ['REDIS_URL'];
    case 'cart-redis':
      return ['CART_REDIS_URL'];
    case 'mysql':
      return ['SHARD_MAP', 'MYSQL_MODE', 'VTGATE_URL', 'VSCHEMA_FILE'];
    case 'kafka':
      return ['KAFKA_BROKERS', 'KAFKA_SASL_MECHANISM', 'KAFKA_USERNAME', 'KAFKA_PASSWORD'];
    case 'smtp':
      return ['SMTP_URL'];
    case 'webhooks':
      return ['SMS_WEBHOOK_URL', 'PUSH_WEBHOOK_URL'];
    case 'identity-provider':
      // The token variables are every service's (the platform's); this need is a network flow.
      return [];
    case 'tracing':
      // OpenTelemetry's own names (the SDK's settings: @mela/platform/tracing).
      return ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_SDK_DISABLED'];
  }
}

/** The services that call `service` (each needs it), for its ingress rules. */
export function callersOf(service: ServiceName): ServiceName[] {
  return (Object.keys(serviceNeeds) as ServiceName[]).filter((caller) =>
    serviceNeeds[caller].some((need) => typeof need === 'object' && need.service === service),
  );
}

/** The services that need a server (`redis`, `cart-redis`, …), for its ingress rules. */
export function needersOf(need: Exclude<Need, { readonly service: ServiceName }>): ServiceName[] {
  return (Object.keys(serviceNeeds) as ServiceName[]).filter((service) =>
    serviceNeeds[service].includes(need),
  );
}

/** A readable name of a need, for messages and tests. */
export function needName(need: Need): string {
  return typeof need === 'object' ? `service ${need.service}` : need;
}

/**
 * Idle keep-alive connections between a caller (the edge, the Gateway, one service calling
 * another) and a replica. The caller gives an idle connection up before the replica closes it,
 * so a request is never written onto a connection the replica is closing at that moment: nginx
 * resends no POST that reached a replica, and such a checkout was answered 502 (503 to the
 * shopper) in a fault drill while the replicas kept Node's 5 s default.
 */
export const keepAlive = { callerIdleSeconds: 60, replicaIdleSeconds: 65 } as const;

/**
 * Connections a listener (a service, the edge) lets wait to be accepted. Node and nginx default
 * to 511, and a flash sale opens more at once: past the backlog the kernel drops the handshake,
 * and the client sends it again only after its retransmission timeout, one second. A sale of
 * 1,000 buyers straight to one order replica had 488 connections dropped so (the kernel's
 * ListenOverflows), and its p99 was that second. The kernel caps the backlog at
 * net.core.somaxconn: 4,096 by default since Linux 5.4, in every network namespace (so in every
 * pod).
 */
export const listenBacklog = 4096;

/**
 * The first-party cookie naming an anonymous client to the rate limiter. The services issue
 * it; the edge reads it to tell a returning shopper (whose public reads it may micro-cache)
 * from a first visit (whose answer sets the cookie, so it is that client's alone).
 */
export const clientIdCookie = 'mela_client';
