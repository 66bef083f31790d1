import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPrometheus, startSmtpServer, type RunningPrometheus } from '@mela/devstack';
import { alertRules, asPrometheusQuery, dashboardQueries, ruleGroups } from '@mela/observability';
import { freePort, startShopBehindEdge, until, type ShopBehindEdge } from '@mela/testkit';
import { runLoad, type LoadResult } from '../src/index.js';

interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { result: unknown[] };
}

/**
 * The dashboards and alerts against real data: the shop (two replicas of each service, the
 * notification consumers too) on its own databases and topics, Debian's Prometheus scraping
 * every replica with Mela's rules loaded, and a short flash sale from the load driver. Then
 * every dashboard query and every alert's measurements must evaluate and return series.
 */
describe('the dashboards and alerts, evaluated by a real Prometheus after a flash sale', () => {
  const secret = randomBytes(32).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'mela-prometheus-'));
  let shop: ShopBehindEdge;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let prometheus: RunningPrometheus;
  let load: LoadResult;

  const query = async (expr: string): Promise<QueryAnswer> =>
    (await (
      await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`)
    ).json()) as QueryAnswer;

  before(async () => {
    smtp = await startSmtpServer({ host: '127.0.0.1', port: 0, onMessage: () => undefined });
    shop = await startShopBehindEdge({
      products: Array.from({ length: 60 }, (_, i) => ({
        id: i + 1,
        name: `Load Phone ${String(i + 1)}`,
        priceCents: 1_999_900,
        stock: 1_000_000,
      })),
      services: ['catalog', 'cart', 'order', 'notification'],
      env: {
        AUTH_JWT_SECRET: secret,
        SMTP_URL: `smtp://127.0.0.1:${String(smtp.port)}`,
        PAYMENT_SANDBOX_LATENCY_MS: '0',
        // The dashboards chart the lag of the production group (a test's shop has its own).
        NOTIFY_GROUP_ID: 'notification',
      },
    });
    const targets = Object.fromEntries(
      Object.entries(shop.replicas).map(([service, replicas]) => [
        service,
        replicas.map((r) => new URL(r.url).host),
      ]),
    );
    prometheus = await startPrometheus({
      dir,
      listen: { host: '127.0.0.1', port: await freePort() },
      targets,
    });
    load = await runLoad({
      url: shop.url,
      scenario: 'flash-sale',
      peak: 40,
      scale: 0.2,
      users: 60,
      buyers: 80,
      stock: 20,
      bots: 2,
      auth: { secret },
    });
    // The notification's lag is read from Kafka at scrape time once its consumer group exists;
    // on a busy machine that takes a few scrapes.
    await until(
      async () => ((await query('kafka_consumer_lag')).data?.result.length ?? 0) > 0,
      'the notification consumers’ lag to be scraped',
      60_000,
    );
    // Until the recording rules have been evaluated over data scraped after the sale.
    await until(
      async () => {
        const answer = await query('mela:slo_errors:ratio_rate5m');
        return (answer.data?.result.length ?? 0) > 0;
      },
      'the SLO recording rules to have data',
      30_000,
    );
  });
  after(async () => {
    await prometheus.stop();
    await shop.close();
    await smtp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the sale has run, then nothing was oversold and the driver judged every objective', () => {
    const { sale } = load;
    assert.ok(sale);
    assert.equal(sale.oversold, 0);
    assert.equal(sale.placed, 20);
    assert.equal(sale.placed + sale.soldOut, 80);
    const { answered } = sale;
    assert.ok(answered.placed, 'the placed orders were timed');
    assert.ok(
      answered.first > 0 &&
        answered.first <= answered.placed.first &&
        answered.placed.last <= answered.last,
      `answers ${JSON.stringify(answered)}`,
    );
    assert.ok(load.rows.find((r) => r.name === 'bots (product page)')?.limited);
    assert.ok(load.verdicts.some((v) => v.objective.startsWith('units sold beyond the stock')));
  });

  it('when the sale has run on this machine, then its CPU per decision is told by process', () => {
    const machine = load.sale?.machine;
    assert.ok(machine, 'the shop is served here, so the machine is read');
    assert.ok(machine.busy > 0 && machine.busy <= 1, `busy ${String(machine.busy)}`);
    const ms = new Map(machine.perUnitMs);
    // Every decision was an order replica's work (80 of them: several of /proc's 10 ms ticks;
    // the edge's and the driver's shares of so short a burst can round to none).
    assert.ok(
      (ms.get('order service') ?? 0) > 0,
      `order service: ${String(ms.get('order service'))}`,
    );
    const last = machine.perUnitMs.at(-1);
    assert.ok(last);
    assert.equal(last[0], 'the machine (every core)');
    assert.ok(last[1] >= (ms.get('order service') ?? 0));
  });

  it('when Prometheus scrapes every replica, then each target is up', async () => {
    const answer = await query('up');
    const ups = (answer.data?.result ?? []) as {
      metric: { job: string };
      value: [number, string];
    }[];

    assert.equal(ups.length, 8);
    assert.deepEqual(
      ups.filter((u) => u.value[1] !== '1').map((u) => u.metric.job),
      [],
    );
  });

  it('when every dashboard query is evaluated, then none errors and each returns series (kube-state-metrics ones need a cluster)', async () => {
    const empty: string[] = [];
    for (const q of dashboardQueries()) {
      const answer = await query(asPrometheusQuery(q.expr, '1m'));
      assert.equal(answer.status, 'success', `${q.dashboard} / ${q.panel}: ${answer.error ?? ''}`);
      const series = answer.data?.result.length ?? 0;
      if (q.source === 'kube-state-metrics') continue;
      if (series === 0) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    assert.deepEqual(empty, []);
  });

  it('when every alert is evaluated, then its expression runs and the measurements it compares return series', async () => {
    const empty: string[] = [];
    for (const rule of alertRules()) {
      const full = await query(rule.expr);
      assert.equal(full.status, 'success', `${rule.alert}: ${full.error ?? ''}`);
      for (const signal of rule.signals) {
        const answer = await query(signal);
        assert.equal(answer.status, 'success', `${rule.alert}: ${answer.error ?? ''}`);
        if ((answer.data?.result.length ?? 0) === 0) empty.push(`${rule.alert}: ${signal}`);
      }
    }
    assert.deepEqual(empty, []);
  });

  it('when Prometheus loaded the rules, then every group is there and healthy', async () => {
    const answer = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: {
        groups: { name: string; rules: { health: string; name: string; lastError?: string }[] }[];
      };
    };
    const loaded = answer.data.groups;

    assert.deepEqual(loaded.map((g) => g.name).sort(), ruleGroups.map((g) => g.name).sort());
    const unhealthy = loaded.flatMap((g) =>
      g.rules
        .filter((r) => r.health !== 'ok' && r.health !== 'unknown')
        .map((r) => `${r.name}: ${r.lastError ?? r.health}`),
    );
    assert.deepEqual(unhealthy, []);
  });
});
