import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  RowBuilder,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  latencyQuantile,
  matchedRoutes,
  rateBy,
  requestRate,
  requestShare,
  serverErrors,
} from './queries.js';

/** One line of a panel. */
export interface PanelQuery {
  readonly expr: string;
  readonly legend: string;
  /**
   * Where the series come from: the services (scraped locally and in the cluster) or
   * kube-state-metrics, which only a cluster runs.
   * @default 'services'
   */
  readonly source?: 'services' | 'kube-state-metrics';
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** Grafana's unit id: `reqps`, `s`, `percentunit`, `short`, `ops`. */
  readonly unit: string;
  readonly queries: readonly PanelQuery[];
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Rows of panels, in order. */
  readonly rows: readonly { readonly title: string; readonly panels: readonly PanelSpec[] }[];
}

/** Grafana's per-panel rate window (at least four scrape intervals). */
const w = '$__rate_interval';
const namespace = 'namespace="mela"';

const perService = (title: string, description: string, unit: string, expr: string) => ({
  title,
  description,
  unit,
  queries: [{ expr, legend: '{{service}}' }],
});

/** The seven dashboards: what a sale is watched with. */
export const dashboardSpecs: readonly DashboardSpec[] = [
  {
    uid: 'mela-overview',
    title: 'Mela / Overview',
    description: 'Traffic, errors and latency of every service and route (RED).',
    rows: [
      {
        title: 'Traffic and errors',
        panels: [
          perService(
            'Requests per second',
            'All requests, by service.',
            'reqps',
            requestRate('service', w),
          ),
          perService(
            'Server errors (5xx share)',
            'Share of requests answered 5xx — what the availability SLO counts.',
            'percentunit',
            requestShare('service', w, serverErrors),
          ),
          {
            title: 'Error responses by problem code',
            description:
              'Every 4xx/5xx problem+json answer, by its stable code (sold_out, rate_limited, …).',
            unit: 'reqps',
            queries: [
              {
                expr: rateBy('http_errors_total', 'service, code', w),
                legend: '{{service}} {{code}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Latency',
        panels: [
          {
            title: 'Latency p50 / p95 / p99 by service',
            description: 'From the request duration histogram.',
            unit: 's',
            queries: [0.5, 0.95, 0.99].map((q) => ({
              expr: latencyQuantile(q, 'service', w),
              legend: `{{service}} p${String(Math.round(q * 100))}`,
            })),
          },
          {
            title: 'Latency p99 by route',
            description: 'The slowest percent of each route pattern.',
            unit: 's',
            queries: [
              {
                expr: latencyQuantile(0.99, 'service, route', w, matchedRoutes),
                legend: '{{service}} {{route}}',
              },
            ],
          },
          {
            title: 'Latency p95 by route',
            description: 'Each route pattern at the 95th percentile.',
            unit: 's',
            queries: [
              {
                expr: latencyQuantile(0.95, 'service, route', w, matchedRoutes),
                legend: '{{service}} {{route}}',
              },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: 'mela-autoscaling',
    title: 'Mela / Autoscaling',
    description:
      'Replicas against load: what the HorizontalPodAutoscalers and KEDA decided, and why.',
    rows: [
      {
        title: 'Replicas',
        panels: [
          {
            title: 'Replicas: current, desired, min, max',
            description: 'From kube-state-metrics, per HorizontalPodAutoscaler.',
            unit: 'short',
            queries: [
              ['current', 'kube_horizontalpodautoscaler_status_current_replicas'],
              ['desired', 'kube_horizontalpodautoscaler_status_desired_replicas'],
              ['min', 'kube_horizontalpodautoscaler_spec_min_replicas'],
              ['max', 'kube_horizontalpodautoscaler_spec_max_replicas'],
            ].map(([what = '', metric = '']) => ({
              expr: `max by (horizontalpodautoscaler) (${metric}{${namespace}})`,
              legend: `{{horizontalpodautoscaler}} ${what}`,
              source: 'kube-state-metrics' as const,
            })),
          },
          {
            title: 'Ready pods by Deployment',
            description: 'Available replicas, from kube-state-metrics.',
            unit: 'short',
            queries: [
              {
                expr: `max by (deployment) (kube_deployment_status_replicas_available{${namespace}})`,
                legend: '{{deployment}}',
                source: 'kube-state-metrics',
              },
            ],
          },
        ],
      },
      {
        title: 'Load the autoscalers read',
        panels: [
          perService(
            'Requests per second',
            'The load being scaled for.',
            'reqps',
            requestRate('service', w),
          ),
          perService(
            'Requests per second per replica',
            'What the `http_requests_per_second` pods metric averages; the HPA adds pods above its target.',
            'reqps',
            `${requestRate('service', w)} / count by (service) (count by (service, instance) (http_request_duration_seconds_count))`,
          ),
          {
            title: 'Notification consumer lag (KEDA)',
            description:
              'Pending order events of the notification group; KEDA adds a consumer per 100.',
            unit: 'short',
            queries: [
              {
                expr: 'sum by (group) (kafka_consumer_lag{group="notification"})',
                legend: '{{group}}',
              },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: 'mela-cache',
    title: 'Mela / Cache',
    description: 'The Redis cache-aside layer: hit ratio per kind of entry, outcomes, the breaker.',
    rows: [
      {
        title: 'Cache',
        panels: [
          {
            title: 'Hit ratio by cache',
            description:
              "Hits (from the replica's near cache, from Redis, and stale ones served while refreshing) among all lookups, per cache.",
            unit: 'percentunit',
            queries: [
              {
                expr: `${rateBy('cache_requests_total', 'cache', w, 'result=~"near|hit|stale"')} / ${rateBy('cache_requests_total', 'cache', w)}`,
                legend: '{{cache}}',
              },
            ],
          },
          {
            title: 'Lookups by outcome',
            description:
              "near (this replica's memory), hit (Redis), miss, stale or error (Redis unusable: the database answered).",
            unit: 'ops',
            queries: [
              {
                expr: rateBy('cache_requests_total', 'cache, result', w),
                legend: '{{cache}} {{result}}',
              },
            ],
          },
          {
            title: 'Circuit breaker in front of Redis',
            description: '0 closed, 0.5 probing, 1 open (Redis skipped).',
            unit: 'short',
            queries: [{ expr: 'max by (cache) (cache_breaker_open)', legend: '{{cache}}' }],
          },
        ],
      },
    ],
  },
  {
    uid: 'mela-orders',
    title: 'Mela / Orders',
    description:
      'Orders placed and refused, the transactional outbox and the notifications that follow.',
    rows: [
      {
        title: 'Orders',
        panels: [
          {
            title: 'Orders placed per second',
            description: 'Committed orders.',
            unit: 'ops',
            queries: [
              { expr: 'sum(rate(orders_placed_total[$__rate_interval]))', legend: 'placed' },
            ],
          },
          {
            title: 'Refused orders by reason',
            description:
              'sold_out is a flash sale working as intended; payment_declined and others are not.',
            unit: 'ops',
            queries: [{ expr: rateBy('orders_rejected_total', 'reason', w), legend: '{{reason}}' }],
          },
        ],
      },
      {
        title: 'Outbox and notifications',
        panels: [
          {
            title: 'Outbox backlog',
            description: 'Order events committed but not yet published to Kafka, per shard.',
            unit: 'short',
            queries: [{ expr: 'sum by (shard) (outbox_pending_events)', legend: '{{shard}}' }],
          },
          {
            title: 'Oldest unpublished event',
            description: 'Age of the oldest pending outbox row, per shard.',
            unit: 's',
            queries: [
              { expr: 'max by (shard) (outbox_oldest_pending_age_seconds)', legend: '{{shard}}' },
            ],
          },
          {
            title: 'Notification lag',
            description: 'Order events the notification consumers have not handled yet.',
            unit: 'short',
            queries: [{ expr: 'sum(kafka_consumer_lag{group="notification"})', legend: 'lag' }],
          },
          {
            title: 'Notifications sent by channel',
            description: 'Accepted by the provider (SMTP, SMS and push webhooks).',
            unit: 'ops',
            queries: [
              { expr: rateBy('notifications_sent_total', 'channel', w), legend: '{{channel}}' },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: 'mela-kafka',
    title: 'Mela / Kafka',
    description: 'Producers and consumers of the order events.',
    rows: [
      {
        title: 'Kafka',
        panels: [
          {
            title: 'Consumer lag by group and partition',
            description: 'High-water mark minus committed offset.',
            unit: 'short',
            queries: [
              {
                expr: 'sum by (group, topic, partition) (kafka_consumer_lag)',
                legend: '{{group}} {{topic}}/{{partition}}',
              },
            ],
          },
          {
            title: 'Events published by the outbox relay',
            description: 'Per shard (each has one relay leader).',
            unit: 'ops',
            queries: [{ expr: rateBy('outbox_published_total', 'shard', w), legend: '{{shard}}' }],
          },
          {
            title: 'Dead-lettered events',
            description: 'Order events moved to orders.dlq, by reason.',
            unit: 'ops',
            queries: [
              {
                expr: rateBy('notification_dead_letters_total', 'reason', w),
                legend: '{{reason}}',
              },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: 'mela-shards',
    title: 'Mela / Shards',
    description: 'The sharded MySQL keyspaces as the services route to them.',
    rows: [
      {
        title: 'Shards',
        panels: [
          {
            title: 'Queries per shard',
            description: 'Statements sent to each shard, by service.',
            unit: 'ops',
            queries: [
              {
                expr: rateBy('shard_queries_total', 'keyspace, shard', w),
                legend: '{{keyspace}}/{{shard}}',
              },
            ],
          },
          {
            title: 'Scatter share by keyspace',
            description: 'Share of statements that were part of a query sent to every shard.',
            unit: 'percentunit',
            queries: [
              {
                expr: `(${rateBy('shard_queries_total', 'keyspace', w, 'route="scatter"')} or 0 * ${rateBy('shard_queries_total', 'keyspace', w)}) / ${rateBy('shard_queries_total', 'keyspace', w)}`,
                legend: '{{keyspace}}',
              },
            ],
          },
          {
            title: 'Statement latency p99 per shard',
            description: 'From the per-shard statement histogram.',
            unit: 's',
            queries: [
              {
                expr: `histogram_quantile(0.99, sum by (keyspace, shard, le) (rate(shard_query_duration_seconds_bucket[${w}])))`,
                legend: '{{keyspace}}/{{shard}}',
              },
            ],
          },
          {
            title: 'Shard errors by reason',
            description: 'unavailable, timeout, resharding (writes paused for a cut-over) or sql.',
            unit: 'ops',
            queries: [
              {
                expr: rateBy('shard_errors_total', 'keyspace, shard, reason', w),
                legend: '{{keyspace}}/{{shard}} {{reason}}',
              },
            ],
          },
          {
            title: 'Shards reachable',
            description: '1 when at least one replica of a service reaches the shard.',
            unit: 'short',
            queries: [
              {
                expr: 'max by (dependency) (dependency_up{dependency=~"mysql .*"})',
                legend: '{{dependency}}',
              },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: 'mela-rate-limiting',
    title: 'Mela / Rate limiting',
    description:
      'Who is being slowed down, by which rule, and whether Redis is answering the limiter.',
    rows: [
      {
        title: 'Rate limiting',
        panels: [
          {
            title: '429s per rule',
            description: 'Requests refused by each rule (products, cart, orders, login, search).',
            unit: 'reqps',
            queries: [{ expr: rateBy('rate_limited_total', 'rule', w), legend: '{{rule}}' }],
          },
          perService(
            '429 share by service',
            'Share of each service’s requests refused for rate.',
            'percentunit',
            requestShare('service', w, 'status_code="429"'),
          ),
          {
            title: 'Limiter store failures',
            description:
              'Checks Redis could not answer: reads fell back to the in-process limit (open), orders and sign-in got 503 (closed).',
            unit: 'ops',
            queries: [
              {
                expr: rateBy('rate_limit_store_failures_total', 'rule, policy', w),
                legend: '{{rule}} {{policy}}',
              },
            ],
          },
        ],
      },
    ],
  },
];

/**
 * A dashboard as Grafana's classic JSON model, built with the Grafana Foundation SDK. The SDK
 * marks that model deprecated in favour of its v2 schema, but the classic one is what Grafana's
 * dashboard provisioning (and kube-prometheus-stack's ConfigMap sidecar) loads everywhere.
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['mela'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .withVariable(
      new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'),
    );
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title));
    for (const panel of row.panels) {
      const timeseries = new PanelBuilder()
        .title(panel.title)
        .description(panel.description)
        .unit(panel.unit)
        .datasource(datasource)
        .legend(
          new VizLegendOptionsBuilder()
            .showLegend(true)
            .displayMode(LegendDisplayMode.List)
            .placement(LegendPlacement.Bottom),
        )
        .height(8)
        .span(row.panels.length >= 3 ? 8 : 12);
      for (const [i, query] of panel.queries.entries()) {
        timeseries.withTarget(
          new DataqueryBuilder()
            .refId(String.fromCharCode(65 + i))
            .expr(query.expr)
            .legendFormat(query.legend)
            // The request latency's buckets carry trace ids: a spike's dots open its trace.
            .exemplar(query.expr.includes('http_request_duration_seconds_bucket'))
            .datasource(datasource),
        );
      }
      builder.withPanel(timeseries);
    }
  }
  return builder.build();
}

/** Every dashboard, built: file name (`<uid>.json`) → JSON text. */
export function dashboardFiles(): Map<string, string> {
  return new Map(
    dashboardSpecs.map((spec) => [
      `${spec.uid}.json`,
      `${JSON.stringify(buildDashboard(spec), null, 2)}\n`,
    ]),
  );
}

/** A dashboard query with where it is shown. */
export interface DashboardQuery extends PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
}

/** Every query of every dashboard. */
export function dashboardQueries(): DashboardQuery[] {
  return dashboardSpecs.flatMap((d) =>
    d.rows.flatMap((r) =>
      r.panels.flatMap((p) => p.queries.map((q) => ({ ...q, dashboard: d.title, panel: p.title }))),
    ),
  );
}

/** A query as Prometheus runs it once Grafana has put in its variables (`$__rate_interval`). */
export function asPrometheusQuery(expr: string, rateInterval = '1m'): string {
  return expr.replaceAll('$__rate_interval', rateInterval);
}
