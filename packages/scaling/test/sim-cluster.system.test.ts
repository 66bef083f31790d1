import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { repoRoot, until } from '@mela/toolchain';
import {
  buildReport,
  renderTable,
  scalableManifests,
  ScaleWatcher,
  startSimCluster,
  type ScaleSample,
  type ServiceLoad,
  type SimCluster,
} from '../src/index.js';

/**
 * The HPAs of charts/dev in a cluster that really runs them: a real control plane (API server,
 * controller manager, scheduler) with kwok's nodes, and this package's metrics adapter. The load
 * each service reports is the test's to set; everything after it — the HPA controller reading
 * the metrics APIs, the Deployment scaling, the scheduler placing pods, kwok running them,
 * scale:watch seeing it — is the real thing.
 */
describe('a simulated cluster whose autoscalers really scale, watched by scale:watch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mela-sim-'));
  const load = new Map<string, ServiceLoad>();
  let sim: SimCluster;
  let watcher: ScaleWatcher;
  const samples: ScaleSample[] = [];
  let ticker: NodeJS.Timeout;
  const stops: (() => Promise<void> | void)[] = [];

  const untilSim = (what: string, probe: () => Promise<boolean>, ms: number) =>
    until(probe, what, ms, { context: () => sim.output().slice(-2000) });

  before(
    async () => {
      load.set('catalog', { requestsPerSecond: 20, cpuCores: 0.005, memoryBytes: 100e6 });
      sim = await startSimCluster({ dir, source: () => Promise.resolve(load), hpaSyncSeconds: 2 });
      stops.push(() => sim.stop());
      await sim.apply(scalableManifests(join(repoRoot, 'charts/dev')));
      watcher = new ScaleWatcher(sim.config, 'mela');
      stops.push(() => {
        watcher.stop();
      });
      await watcher.start();
      ticker = setInterval(() => samples.push(watcher.sample()), 500);
    },
    { timeout: 300_000 },
  );
  after(async () => {
    clearInterval(ticker);
    // What started, in reverse (a failed start leaves the rest unassigned).
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when applied, then every service runs its minimum of pods on the kwok nodes', async () => {
    const apps = sim.config.makeApiClient(AppsV1Api);
    const core = sim.config.makeApiClient(CoreV1Api);

    await untilSim(
      'each Deployment ready',
      async () => {
        const deployments = (await apps.listNamespacedDeployment({ namespace: 'mela' })).items;
        return (
          deployments.length === 4 && deployments.every((d) => (d.status?.readyReplicas ?? 0) >= 1)
        );
      },
      60_000,
    );
    const pods = (await core.listNamespacedPod({ namespace: 'mela' })).items;
    assert.ok(pods.every((p) => p.spec?.nodeName?.startsWith('kwok-node-')));
  });

  it('when the catalog’s request rate climbs past its target, then its HPA raises the replicas to its maximum and the pods run', async () => {
    await untilSim(
      'the catalog HPA reading both metrics',
      () =>
        Promise.resolve(
          watcher
            .sample()
            .hpas.find((h) => h.name === 'catalog')
            ?.metrics.every((m) => m.current !== '?') ?? false,
        ),
      60_000,
    );
    // Four times the 200 requests/s a pod is meant to take.
    load.set('catalog', { requestsPerSecond: 800, cpuCores: 0.02, memoryBytes: 100e6 });

    // Until four pods run and the HPA has read its metric over all four (the load, spread).
    await untilSim(
      'catalog scaled to 4 ready pods, each taking a quarter of the load',
      () => {
        const last = samples.at(-1);
        const hpa = last?.hpas.find((h) => h.name === 'catalog');
        return Promise.resolve(
          last?.deployments.find((d) => d.name === 'catalog')?.ready === 4 &&
            hpa?.current === 4 &&
            hpa.metrics.some((m) => m.current === '200'),
        );
      },
      60_000,
    );
    const catalog = samples.at(-1)?.hpas.find((h) => h.name === 'catalog');
    assert.equal(catalog?.desired, 4);
    assert.deepEqual(
      catalog.metrics.find((m) => m.name === 'http_requests_per_second'),
      {
        name: 'http_requests_per_second',
        current: '200',
        target: '200',
      },
    );
    assert.equal(
      samples.at(-1)?.deployments.find((d) => d.name === 'cart')?.ready,
      1,
      'cart saw no load',
    );
    const rescaled = samples
      .flatMap((s) => s.events)
      .find((e) => e.object === 'horizontalpodautoscaler/catalog');
    assert.match(rescaled?.message ?? '', /New size: 4; reason: .*http_requests_per_second/);
  });

  it('when the watch is drawn, then the table and the report show the climb', () => {
    const last = samples.at(-1);
    assert.ok(last);
    const table = renderTable(
      last,
      samples.flatMap((s) => s.events),
    );
    const report = buildReport(samples, [], { title: 'sim' });

    assert.match(
      table,
      /catalog\s+4\/4\s+1–4\s+cpu \d+%\/70%, http_requests_per_second 200\/200\s+4\/4/,
    );
    assert.match(report.markdown, /\| catalog \| [01] \| 4 \| 4 \| \d+ s \|/);
    assert.match(report.markdown, /\| cart \| [01] \| 1 \| 1 \| – \|/);
    assert.match(report.svg, /catalog ready/);
  });
});
