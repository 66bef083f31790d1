import { stringify } from 'yaml';
import { requestShare, serverErrors } from './queries.js';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: 'critical' | 'warning' };
  readonly annotations: { readonly summary: string; readonly description: string };
  /**
   * The measurements the alert compares with its thresholds. They must always return series
   * where the services run (the Prometheus check evaluates them); the alert's own expression
   * returns series only while it fires.
   */
  readonly signals: readonly string[];
}

export interface RuleGroup {
  readonly name: string;
  readonly interval: string;
  readonly rules: readonly (RecordingRule | AlertRule)[];
}

/** The service-level objectives the burn-rate alerts protect, over 30 days. */
export const slos = {
  /** 99.9 % of requests are not answered 5xx. */
  availability: { objective: 0.999, bad: 'errors' },
  /** 99 % of requests are answered within 500 ms. */
  latency: { objective: 0.99, bad: 'slow', threshold: '0.5' },
} as const;

/** The window pairs of the multi-window, multi-burn-rate alerts (Google's SRE workbook). */
const burnWindows = {
  fast: [
    { long: '1h', short: '5m', burn: 14.4 },
    { long: '6h', short: '30m', burn: 6 },
  ],
  slow: [
    { long: '1d', short: '2h', burn: 3 },
    { long: '3d', short: '6h', burn: 1 },
  ],
} as const;

const windows = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;

/** `mela:slo_<bad>:ratio_rate<window>` — the share of bad requests per service. */
export function sloRecord(bad: 'errors' | 'slow', window: string): string {
  return `mela:slo_${bad}:ratio_rate${window}`;
}

function slowShare(window: string): string {
  const fast = `sum by (service) (rate(http_request_duration_seconds_bucket{le="${slos.latency.threshold}"}[${window}]))`;
  const all = `sum by (service) (rate(http_request_duration_seconds_count[${window}]))`;
  return `1 - (${fast} / ${all})`;
}

function burnAlert(
  name: string,
  bad: 'errors' | 'slow',
  objective: number,
  speed: 'fast' | 'slow',
  what: string,
): AlertRule {
  const budget = Number((1 - objective).toFixed(6));
  const pairs = burnWindows[speed];
  const condition = pairs
    .map(({ long, short, burn }) => {
      const limit = Number((burn * budget).toPrecision(6));
      return `(${sloRecord(bad, long)} > ${String(limit)} and ${sloRecord(bad, short)} > ${String(limit)})`;
    })
    .join(' or ');
  return {
    alert: name,
    expr: condition,
    for: speed === 'fast' ? '2m' : '15m',
    labels: { severity: speed === 'fast' ? 'critical' : 'warning' },
    annotations: {
      summary: `{{ $labels.service }} is burning its ${what} error budget ${speed === 'fast' ? 'fast' : 'steadily'}`,
      description: `At this rate the 30-day budget of ${what} (${String(objective * 100)} %) is gone in ${speed === 'fast' ? 'about two days or less' : 'days'}: ${pairs.map((p) => `${String(p.burn)}× over ${p.long} and ${p.short}`).join(', or ')}.`,
    },
    signals: [...new Set(pairs.flatMap((p) => [sloRecord(bad, p.long), sloRecord(bad, p.short)]))],
  };
}

const outboxAge = 'max by (shard) (outbox_oldest_pending_age_seconds)';
const outboxParked = 'max by (shard) (outbox_parked_events)';
const consumerLag = 'sum by (group) (kafka_consumer_lag)';
const shardUp = 'max by (dependency) (dependency_up{dependency=~"mysql .*"})';
const cacheErrors =
  'sum by (cache) (rate(cache_requests_total{result="error"}[5m])) / sum by (cache) (rate(cache_requests_total[5m]))';

/** Mela's recording and alerting rules, in Prometheus's rule-file shape. */
export const ruleGroups: readonly RuleGroup[] = [
  {
    name: 'mela-slo-recordings',
    interval: '30s',
    rules: windows.flatMap((window) => [
      { record: sloRecord('errors', window), expr: requestShare('service', window, serverErrors) },
      { record: sloRecord('slow', window), expr: slowShare(window) },
    ]),
  },
  {
    name: 'mela-slo-alerts',
    interval: '30s',
    rules: [
      burnAlert(
        'MelaErrorBudgetBurnFast',
        'errors',
        slos.availability.objective,
        'fast',
        'availability',
      ),
      burnAlert(
        'MelaErrorBudgetBurnSlow',
        'errors',
        slos.availability.objective,
        'slow',
        'availability',
      ),
      burnAlert('MelaLatencyBudgetBurnFast', 'slow', slos.latency.objective, 'fast', 'latency'),
      burnAlert('MelaLatencyBudgetBurnSlow', 'slow', slos.latency.objective, 'slow', 'latency'),
    ],
  },
  {
    name: 'mela-pipeline',
    interval: '30s',
    rules: [
      {
        alert: 'MelaOutboxBacklogOld',
        expr: `${outboxAge} > 60`,
        for: '2m',
        labels: { severity: 'critical' },
        annotations: {
          summary:
            'Order events on shard {{ $labels.shard }} have waited {{ $value | humanizeDuration }} for Kafka',
          description:
            'The outbox relay is not publishing: Kafka unreachable, or no relay leader on the shard. Orders are safe in MySQL; notifications are late.',
        },
        signals: [outboxAge],
      },
      {
        alert: 'MelaOutboxEventParked',
        expr: `${outboxParked} > 0`,
        for: '1m',
        labels: { severity: 'warning' },
        annotations: {
          summary:
            '{{ $value }} order events on shard {{ $labels.shard }} were refused by Kafka for good',
          description:
            "Kafka refused these outbox rows (too large, invalid); the relay parked them so the shard's other events flow. See docs/orders.md (Outbox relay) to inspect and republish them.",
        },
        signals: [outboxParked],
      },
      {
        alert: 'MelaConsumerLagHigh',
        expr: `${consumerLag} > 1000`,
        for: '5m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Consumer group {{ $labels.group }} is {{ $value }} events behind',
          description:
            'More than 1000 order events pending for 5 minutes: KEDA should be adding consumers; check its ScaledObject and the providers.',
        },
        signals: [consumerLag],
      },
      {
        alert: 'MelaShardDown',
        expr: `${shardUp} == 0`,
        for: '1m',
        labels: { severity: 'critical' },
        annotations: {
          summary: '{{ $labels.dependency }} is unreachable from every replica',
          description:
            'Requests routed to this shard answer 503; other shards keep serving. Check the MySQL pod and its volume.',
        },
        signals: [shardUp],
      },
      {
        alert: 'MelaCacheErrorRate',
        expr: `${cacheErrors} > 0.05`,
        for: '5m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Cache {{ $labels.cache }}: {{ $value | humanizePercentage }} of lookups fail',
          description:
            'Redis errors or timeouts: reads go to MySQL instead (slower, more load on the shards), and the circuit breaker may open.',
        },
        signals: [cacheErrors],
      },
    ],
  },
];

/** The alerting rules among the groups. */
export function alertRules(): AlertRule[] {
  return ruleGroups.flatMap((g) => g.rules.filter((r): r is AlertRule => 'alert' in r));
}

/**
 * The groups as a Prometheus rule file (or a PrometheusRule's `spec`), signals left out;
 * `interval` evaluates every group more often (local mode, where nobody waits 30 s to see).
 */
export function ruleFileContent(options: { readonly interval?: string } = {}): {
  groups: unknown[];
} {
  return {
    groups: ruleGroups.map((group) => ({
      name: group.name,
      interval: options.interval ?? group.interval,
      rules: group.rules.map((rule) => {
        if (!('alert' in rule)) return { record: rule.record, expr: rule.expr };
        const { alert, expr, labels, annotations } = rule;
        return { alert, expr, for: rule.for, labels, annotations };
      }),
    })),
  };
}

/** The rule file as YAML, for Prometheus and promtool. */
export function ruleFile(options: { readonly interval?: string } = {}): string {
  return stringify(ruleFileContent(options), { lineWidth: 0 });
}
