import type { ScaleSample } from './watch.js';

/** One second of load, as `npm run load -- --record FILE` writes it. */
export interface LoadPoint {
  readonly at: number;
  readonly rps: number;
  readonly target: number;
  readonly p99: number | null;
  readonly phase?: string;
}

export interface ScaleReport {
  readonly svg: string;
  readonly markdown: string;
}

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** Parses JSON lines, skipping blank ones. */
export function parseLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly [number, number][];
  readonly dashed?: boolean;
  readonly step?: boolean;
}

/** One panel of the chart: a title, a y axis from 0 to a round maximum, lines. */
function panel(
  top: number,
  title: string,
  unit: string,
  series: readonly Series[],
  xMax: number,
  geometry: { left: number; width: number; height: number },
): string {
  const yMax = niceCeiling(Math.max(1, ...series.flatMap((s) => s.points.map(([, y]) => y))));
  const x = (t: number) => geometry.left + (t / Math.max(1, xMax)) * geometry.width;
  const y = (v: number) => top + geometry.height - (v / yMax) * geometry.height;
  // A step line needs only its changes (and its last point).
  const changes = (s: Series) =>
    s.step
      ? s.points.filter((p, i, all) => i === 0 || i === all.length - 1 || p[1] !== all[i - 1]?.[1])
      : s.points;
  const path = (s: Series) => {
    const points = changes(s);
    return points
      .map(([t, v], i) => {
        const previous = points[i - 1];
        const stepTo =
          s.step && previous ? `L${x(t).toFixed(1)},${y(previous[1]).toFixed(1)} ` : '';
        return `${i === 0 ? 'M' : `${stepTo}L`}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      })
      .join(' ');
  };
  const grid = [0, 0.5, 1]
    .map((f) => {
      const value = yMax * f;
      return `<line x1="${String(geometry.left)}" x2="${String(geometry.left + geometry.width)}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#ddd"/><text x="${String(geometry.left - 6)}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${formatNumber(value)}</text>`;
    })
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<text x="${String(geometry.left + geometry.width - 10)}" y="${String(top + 14 + i * 14)}" text-anchor="end" fill="${s.color}">${escapeXml(s.name)}</text>`,
    )
    .join('');
  const lines = series
    .filter((s) => s.points.length > 0)
    .map(
      (s) =>
        `<path d="${path(s)}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    )
    .join('');
  return `<g><text x="${String(geometry.left)}" y="${String(top - 8)}" font-weight="bold">${escapeXml(title)} (${escapeXml(unit)})</text>${grid}${lines}${legend}</g>`;
}

/**
 * The chart and summary of a run: load (answered and aimed-at requests per second) and p99
 * from the load driver's record, replicas per Deployment and each HPA's desired count from
 * scale:watch's record, on one time axis.
 */
export function buildReport(
  watch: readonly ScaleSample[],
  load: readonly LoadPoint[],
  options: { readonly title: string },
): ScaleReport {
  const start = Math.min(...[...watch, ...load].map((s) => s.at));
  const t = (at: number) => (at - start) / 1000;
  const xMax = Math.max(1, ...[...watch, ...load].map((s) => t(s.at)));
  const names = [...new Set(watch.flatMap((s) => s.deployments.map((d) => d.name)))].sort();
  const replicas: Series[] = names.map((name, i) => ({
    name: `${name} ready`,
    color: palette[i % palette.length] ?? '#000',
    step: true,
    points: watch.flatMap((s) => {
      const d = s.deployments.find((x) => x.name === name);
      return d ? [[t(s.at), d.ready] as [number, number]] : [];
    }),
  }));
  const desired: Series[] = names.map((name, i) => ({
    name: `${name} desired`,
    color: palette[i % palette.length] ?? '#000',
    dashed: true,
    step: true,
    points: watch.flatMap((s) => {
      const h = s.hpas.find((x) => x.name === name);
      return h ? [[t(s.at), h.desired] as [number, number]] : [];
    }),
  }));
  const geometry = { left: 70, width: 860, height: 150 };
  const width = geometry.left + geometry.width + 30;
  const panels = [
    panel(
      40,
      'Load',
      'requests/s',
      [
        {
          name: 'answered',
          color: palette[0] ?? '#000',
          points: load.map((p) => [t(p.at), p.rps]),
        },
        {
          name: 'aimed at (shopper mix; bots and the sale on top)',
          color: '#888',
          dashed: true,
          points: load.map((p) => [t(p.at), p.target]),
        },
      ],
      xMax,
      geometry,
    ),
    panel(
      250,
      'Latency p99',
      'ms',
      [
        {
          name: 'p99',
          color: palette[1] ?? '#000',
          points: load.flatMap((p) =>
            p.p99 === null || Number.isNaN(p.p99) ? [] : [[t(p.at), p.p99] as [number, number]],
          ),
        },
      ],
      xMax,
      geometry,
    ),
    panel(
      460,
      'Replicas',
      'pods ready, dashed: HPA desired',
      [...replicas, ...desired],
      xMax,
      geometry,
    ),
  ];
  const ticks = Array.from({ length: 7 }, (_, i) => (xMax * i) / 6)
    .map((v) => {
      const x = geometry.left + (v / xMax) * geometry.width;
      return `<text x="${x.toFixed(1)}" y="640" text-anchor="middle">${String(Math.round(v))} s</text>`;
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="660" viewBox="0 0 ${String(width)} 660" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="${String(geometry.left)}" y="18" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>${panels.join('')}${ticks}</svg>\n`;

  const peakLoad = Math.max(0, ...load.map((p) => p.rps));
  const p99s = load.map((p) => p.p99).filter((v): v is number => v !== null && !Number.isNaN(v));
  // Only what happened while it was watched: a namespace's older events come with the first
  // sample (events have second precision, hence the second of slack).
  const watchedFrom = (watch[0]?.at ?? 0) - 1000;
  const events = watch.flatMap((s) => s.events).filter((e) => Date.parse(e.at) >= watchedFrom);
  const rows = names.map((name) => {
    const counts = watch.flatMap((s) =>
      s.deployments.filter((d) => d.name === name).map((d) => d.ready),
    );
    // The first time its autoscaler wanted more than its minimum.
    const first = watch.find((s) => {
      const hpa = s.hpas.find((h) => h.name === name);
      return hpa !== undefined && hpa.desired > hpa.min;
    });
    return `| ${name} | ${String(counts[0] ?? 0)} | ${String(Math.max(0, ...counts))} | ${String(counts.at(-1) ?? 0)} | ${first ? `${t(first.at).toFixed(0)} s` : '–'} |`;
  });
  const markdown = [
    `# ${options.title}`,
    '',
    '![load, p99 and replicas over time](chart.svg)',
    '',
    `- duration: ${xMax.toFixed(0)} s; peak load ${peakLoad.toFixed(0)} requests/s; p99 ${p99s.length > 0 ? `${Math.min(...p99s).toFixed(0)}–${Math.max(...p99s).toFixed(0)} ms` : '–'}`,
    `- scaling events: ${String(events.length)}`,
    '',
    '| deployment | ready at start | most ready | ready at end | first scaled above its minimum at |',
    '|---|---:|---:|---:|---:|',
    ...rows,
    '',
    ...(events.length > 0
      ? [
          'Scaling events:',
          '',
          ...events.map((e) => `- ${e.at} \`${e.object}\` ${e.reason}: ${e.message}`),
          '',
        ]
      : []),
  ].join('\n');
  return { svg, markdown };
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function formatNumber(value: number): string {
  return value >= 100 ? value.toFixed(0) : String(Math.round(value * 10) / 10);
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c,
  );
}
