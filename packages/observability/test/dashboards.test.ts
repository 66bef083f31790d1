import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { asPrometheusQuery, dashboardFiles, dashboardQueries } from '../src/index.js';

interface BuiltPanel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; legendFormat: string }[];
  fieldConfig?: { defaults: { unit?: string } };
}

const built = new Map(
  [...dashboardFiles()].map(([file, text]) => [
    file,
    JSON.parse(text) as {
      uid: string;
      title: string;
      panels: BuiltPanel[];
      templating: { list: { name: string; query: string }[] };
    },
  ]),
);

describe('the Grafana dashboards (Grafana Foundation SDK)', () => {
  it('when built, then there are the seven the issue names, each with panels over its own Prometheus variable', () => {
    assert.deepEqual(
      [...built.values()].map((d) => d.title),
      [
        'Mela / Overview',
        'Mela / Autoscaling',
        'Mela / Cache',
        'Mela / Orders',
        'Mela / Kafka',
        'Mela / Shards',
        'Mela / Rate limiting',
      ],
    );
    for (const [file, dashboard] of built) {
      assert.equal(file, `${dashboard.uid}.json`);
      assert.deepEqual(
        dashboard.templating.list.map((v) => [v.name, v.query]),
        [['datasource', 'prometheus']],
      );
      const panels = dashboard.panels.filter((p) => p.type === 'timeseries');
      assert.ok(panels.length >= 3, `${dashboard.title} has ${String(panels.length)} panels`);
      for (const panel of panels) {
        assert.deepEqual(
          panel.datasource,
          { type: 'prometheus', uid: '${datasource}' },
          panel.title,
        );
        assert.ok((panel.targets ?? []).length > 0, panel.title);
        assert.ok(panel.fieldConfig?.defaults.unit, `${panel.title} has a unit`);
        for (const target of panel.targets ?? []) {
          assert.match(target.expr, /\S/);
          assert.match(target.legendFormat, /\S/);
        }
      }
    }
  });

  it('when the Overview is read, then it has RPS, errors and p50/p95/p99 per service and p99 per route', () => {
    const overview = built.get('mela-overview.json');
    const exprs = (overview?.panels ?? []).flatMap((p) => p.targets ?? []).map((t) => t.expr);

    assert.ok(
      exprs.some((e) =>
        e.startsWith('sum by (service) (rate(http_request_duration_seconds_count['),
      ),
    );
    assert.ok(exprs.some((e) => e.includes('status_code=~"5.."')));
    for (const q of ['0.5', '0.95', '0.99']) {
      assert.ok(
        exprs.some((e) => e.startsWith(`histogram_quantile(${q}, sum by (service, le)`)),
        q,
      );
    }
    assert.ok(exprs.some((e) => e.includes('sum by (service, route, le)')));
  });

  it('when every query is handed to promtool, then each one is valid PromQL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mela-dashboard-queries-'));
    try {
      const queries = dashboardQueries().map((q) => q.expr);
      const file = join(dir, 'queries.yaml');
      writeFileSync(
        file,
        stringify({
          groups: [
            {
              name: 'dashboard-queries',
              rules: queries.map((expr, i) => ({
                record: `q${String(i)}`,
                expr: asPrometheusQuery(expr),
              })),
            },
          ],
        }),
      );

      const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });

      assert.match(out, new RegExp(`SUCCESS: ${String(queries.length)} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
