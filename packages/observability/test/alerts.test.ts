import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { alertRules, ruleFile, ruleGroups, sloRecord } from '../src/index.js';

/** One promtool rule unit test: series over time, then the alerts expected at some moments. */
interface RuleTest {
  readonly name: string;
  readonly interval: string;
  readonly input_series: readonly { series: string; values: string }[];
  readonly alert_rule_test: readonly {
    eval_time: string;
    alertname: string;
    exp_alerts: readonly {
      exp_labels: Record<string, string>;
      exp_annotations?: Record<string, string>;
    }[];
  }[];
}

const alert = (name: string) => {
  const rule = alertRules().find((r) => r.alert === name);
  assert.ok(rule, name);
  return rule;
};

/**
 * A service's request counters, one sample a minute: healthy for the first hour, then `failed`
 * of every `ok + failed` requests answered 5xx and `slowShare` of them slower than 500 ms.
 */
const requests = (service: string, ok: number, failed: number, slowShare = 0) => {
  const after = (perMinute: number) => `0+${String(perMinute)}x400`;
  const healthyHour = (perMinute: number) => `0+${String(perMinute)}x59`;
  const total = ok + failed;
  const fast = total * (1 - slowShare);
  return [
    {
      series: `http_request_duration_seconds_count{service="${service}",status_code="200"}`,
      values: `${healthyHour(total)} ${String(60 * total)}+${String(ok)}x400`,
    },
    {
      series: `http_request_duration_seconds_count{service="${service}",status_code="503"}`,
      values: `0x59 ${after(failed)}`,
    },
    {
      series: `http_request_duration_seconds_bucket{service="${service}",le="0.5"}`,
      values: `${healthyHour(total)} ${String(60 * total)}+${String(fast)}x400`,
    },
  ];
};

const tests: RuleTest[] = [
  {
    name: 'availability burn: 2 % errors from the second hour page within half an hour, 0.05 % never',
    interval: '1m',
    input_series: [...requests('order', 980, 20), ...requests('catalog', 9995, 5)],
    alert_rule_test: [
      { eval_time: '75m', alertname: 'MelaErrorBudgetBurnFast', exp_alerts: [] },
      {
        eval_time: '100m',
        alertname: 'MelaErrorBudgetBurnFast',
        exp_alerts: [
          {
            exp_labels: { service: 'order', severity: 'critical' },
            exp_annotations: {
              summary: 'order is burning its availability error budget fast',
              description: alert('MelaErrorBudgetBurnFast').annotations.description,
            },
          },
        ],
      },
    ],
  },
  {
    name: 'latency burn: 5 % of requests over 500 ms from the second hour is a steady burn, not a page',
    interval: '1m',
    input_series: requests('cart', 1000, 0, 0.05),
    alert_rule_test: [
      { eval_time: '70m', alertname: 'MelaLatencyBudgetBurnSlow', exp_alerts: [] },
      {
        eval_time: '200m',
        alertname: 'MelaLatencyBudgetBurnSlow',
        exp_alerts: [
          {
            exp_labels: { service: 'cart', severity: 'warning' },
            exp_annotations: {
              summary: 'cart is burning its latency error budget steadily',
              description: alert('MelaLatencyBudgetBurnSlow').annotations.description,
            },
          },
        ],
      },
      { eval_time: '200m', alertname: 'MelaLatencyBudgetBurnFast', exp_alerts: [] },
    ],
  },
  {
    name: 'the outbox: a shard whose events wait over a minute, for two minutes',
    interval: '1m',
    input_series: [
      {
        series: 'outbox_oldest_pending_age_seconds{shard="-80",service="order"}',
        values: '0+30x20',
      },
      { series: 'outbox_oldest_pending_age_seconds{shard="80-",service="order"}', values: '0x20' },
    ],
    alert_rule_test: [
      { eval_time: '3m', alertname: 'MelaOutboxBacklogOld', exp_alerts: [] },
      {
        eval_time: '10m',
        alertname: 'MelaOutboxBacklogOld',
        exp_alerts: [
          {
            exp_labels: { shard: '-80', severity: 'critical' },
            exp_annotations: {
              summary: 'Order events on shard -80 have waited 5m 0s for Kafka',
              description: alert('MelaOutboxBacklogOld').annotations.description,
            },
          },
        ],
      },
    ],
  },
  {
    name: 'consumer lag: over 1000 pending for five minutes',
    interval: '1m',
    input_series: [
      {
        series: 'kafka_consumer_lag{group="notification",topic="orders",partition="0"}',
        values: '0+100x20',
      },
      {
        series: 'kafka_consumer_lag{group="notification",topic="orders",partition="1"}',
        values: '0+100x20',
      },
    ],
    alert_rule_test: [
      { eval_time: '8m', alertname: 'MelaConsumerLagHigh', exp_alerts: [] },
      {
        eval_time: '15m',
        alertname: 'MelaConsumerLagHigh',
        exp_alerts: [
          {
            exp_labels: { group: 'notification', severity: 'warning' },
            exp_annotations: {
              summary: 'Consumer group notification is 3000 events behind',
              description: alert('MelaConsumerLagHigh').annotations.description,
            },
          },
        ],
      },
    ],
  },
  {
    name: 'a shard down: only when no replica reaches it',
    interval: '1m',
    input_series: [
      {
        series: 'dependency_up{dependency="mysql customer/-80",service="order"}',
        values: '1 1 0 0 0 0 0 0',
      },
      {
        series: 'dependency_up{dependency="mysql customer/-80",service="catalog"}',
        values: '1 1 0 0 0 0 0 0',
      },
      {
        series: 'dependency_up{dependency="mysql customer/80-",service="order"}',
        values: '1 1 0 0 0 0 0 0',
      },
      { series: 'dependency_up{dependency="mysql customer/80-",service="catalog"}', values: '1x7' },
      { series: 'dependency_up{dependency="redis",service="order"}', values: '0x7' },
    ],
    alert_rule_test: [
      {
        eval_time: '6m',
        alertname: 'MelaShardDown',
        exp_alerts: [
          {
            exp_labels: { dependency: 'mysql customer/-80', severity: 'critical' },
            exp_annotations: {
              summary: 'mysql customer/-80 is unreachable from every replica',
              description: alert('MelaShardDown').annotations.description,
            },
          },
        ],
      },
    ],
  },
  {
    name: 'cache errors: a tenth of lookups failing for five minutes',
    interval: '1m',
    input_series: [
      {
        series: 'cache_requests_total{cache="product",result="error",service="catalog"}',
        values: '0+10x20',
      },
      {
        series: 'cache_requests_total{cache="product",result="hit",service="catalog"}',
        values: '0+90x20',
      },
      {
        series: 'cache_requests_total{cache="search",result="error",service="catalog"}',
        values: '0x20',
      },
      {
        series: 'cache_requests_total{cache="search",result="hit",service="catalog"}',
        values: '0+100x20',
      },
    ],
    alert_rule_test: [
      {
        eval_time: '12m',
        alertname: 'MelaCacheErrorRate',
        exp_alerts: [
          {
            exp_labels: { cache: 'product', severity: 'warning' },
            exp_annotations: {
              summary: 'Cache product: 10% of lookups fail',
              description: alert('MelaCacheErrorRate').annotations.description,
            },
          },
        ],
      },
    ],
  },
];

describe('the alerting rules, checked and unit-tested with promtool', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mela-rules-'));
    writeFileSync(join(dir, 'mela.rules.yaml'), ruleFile());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when checked, then every recording and alerting rule is valid', () => {
    const out = execFileSync('promtool', ['check', 'rules', join(dir, 'mela.rules.yaml')], {
      encoding: 'utf8',
    });
    const count = ruleGroups.reduce((n, g) => n + g.rules.length, 0);

    assert.match(out, new RegExp(`SUCCESS: ${String(count)} rules found`));
    assert.deepEqual(
      alertRules()
        .map((r) => r.alert)
        .sort(),
      [
        'MelaCacheErrorRate',
        'MelaConsumerLagHigh',
        'MelaErrorBudgetBurnFast',
        'MelaErrorBudgetBurnSlow',
        'MelaLatencyBudgetBurnFast',
        'MelaLatencyBudgetBurnSlow',
        'MelaOutboxBacklogOld',
        'MelaOutboxEventParked',
        'MelaShardDown',
      ],
    );
  });

  it('when the burn-rate alerts are read, then each pairs a long and a short window at the workbook’s burn rates', () => {
    const fast = alert('MelaErrorBudgetBurnFast').expr;

    assert.equal(
      fast,
      `(${sloRecord('errors', '1h')} > 0.0144 and ${sloRecord('errors', '5m')} > 0.0144) or (${sloRecord('errors', '6h')} > 0.006 and ${sloRecord('errors', '30m')} > 0.006)`,
    );
    assert.match(
      alert('MelaLatencyBudgetBurnSlow').expr,
      /ratio_rate1d > 0\.03 and .*ratio_rate2h > 0\.03\).*ratio_rate3d > 0\.01 and .*ratio_rate6h > 0\.01\)$/,
    );
  });

  it('when fed series over time, then each alert fires when it should and not before', () => {
    const file = join(dir, 'mela.rules.test.yaml');
    writeFileSync(
      file,
      stringify(
        { rule_files: ['mela.rules.yaml'], evaluation_interval: '1m', tests },
        { lineWidth: 0 },
      ),
    );

    const out = execFileSync('promtool', ['test', 'rules', file], { encoding: 'utf8', cwd: dir });

    assert.match(out, /SUCCESS/);
  });

  it('when an alert is expected wrongly, then promtool fails (the unit tests can fail)', () => {
    const file = join(dir, 'wrong.test.yaml');
    const wrong = {
      ...tests[2],
      alert_rule_test: [{ ...tests[2]?.alert_rule_test[0], eval_time: '10m', exp_alerts: [] }],
    };
    writeFileSync(
      file,
      stringify(
        { rule_files: ['mela.rules.yaml'], evaluation_interval: '1m', tests: [wrong] },
        { lineWidth: 0 },
      ),
    );

    assert.throws(
      () =>
        execFileSync('promtool', ['test', 'rules', file], {
          encoding: 'utf8',
          cwd: dir,
          stdio: 'pipe',
        }),
      (error: Error & { stderr?: string }) =>
        /MelaOutboxBacklogOld, time: 10m/.test(error.stderr ?? ''),
    );
  });
});
