import { slo, type Action } from '../k6/shapes.js';

/** What happened to the requests of one kind (an action, the bots, the sale's checkouts). */
export class Tally {
  readonly latencies: number[] = [];
  readonly statuses = new Map<number, number>();
  /** Requests that got no HTTP answer (refused, reset, timed out). */
  errors = 0;

  /** An answer with its status and latency; status 0 is a request that got no answer. */
  record(status: number, ms: number): void {
    if (status === 0) {
      this.errors += 1;
      return;
    }
    this.latencies.push(ms);
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  get count(): number {
    return this.latencies.length + this.errors;
  }

  /** Answers with a status in [from, to). */
  between(from: number, to: number): number {
    let n = 0;
    for (const [status, count] of this.statuses) if (status >= from && status < to) n += count;
    return n;
  }

  status(code: number): number {
    return this.statuses.get(code) ?? 0;
  }

  /** Failures for the server's sake: 5xx answers and requests with no answer. */
  get serverFailures(): number {
    return this.between(500, 600) + this.errors;
  }
}

/** The `p`th percentile (nearest rank) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** One row of the summary. */
export interface SummaryRow {
  readonly name: string;
  readonly requests: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly ok: number;
  readonly limited: number;
  readonly otherClientErrors: number;
  readonly serverFailures: number;
}

export function summarise(name: string, tally: Tally, seconds: number): SummaryRow {
  return {
    name,
    requests: tally.count,
    perSecond: seconds > 0 ? tally.count / seconds : 0,
    p50: percentile(tally.latencies, 50),
    p95: percentile(tally.latencies, 95),
    p99: percentile(tally.latencies, 99),
    ok: tally.between(200, 400),
    limited: tally.status(429),
    otherClientErrors: tally.between(400, 500) - tally.status(429),
    serverFailures: tally.serverFailures,
  };
}

/** An objective and whether the run met it. */
export interface Verdict {
  readonly objective: string;
  readonly measured: string;
  readonly met: boolean;
}

/**
 * The run judged by the SLOs of `shapes.ts` (what the k6 thresholds encode): p95 and p99 per
 * action, the server-failure rate over everything, the bots' 429 share and, for a sale, no
 * oversold unit.
 */
export function judge(
  actions: ReadonlyMap<Action, Tally>,
  extra: { readonly bots?: Tally; readonly oversold?: number; readonly all: readonly Tally[] },
): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const [action, tally] of actions) {
    if (tally.latencies.length === 0) continue;
    const target = slo.latency[action];
    for (const q of ['p95', 'p99'] as const) {
      const value = percentile(tally.latencies, q === 'p95' ? 95 : 99);
      verdicts.push({
        objective: `${action} ${q} ≤ ${String(target[q])} ms`,
        measured: `${value.toFixed(1)} ms`,
        met: value <= target[q],
      });
    }
  }
  const total = extra.all.reduce((n, t) => n + t.count, 0);
  const failed = extra.all.reduce((n, t) => n + t.serverFailures, 0);
  const rate = total === 0 ? 0 : failed / total;
  verdicts.push({
    objective: `server failures < ${String(slo.errorRate * 100)} %`,
    measured: `${(rate * 100).toFixed(2)} % (${String(failed)} of ${String(total)})`,
    met: rate < slo.errorRate,
  });
  if (extra.bots && extra.bots.count > 0) {
    const share = extra.bots.status(429) / extra.bots.count;
    verdicts.push({
      objective: `bots refused (429) ≥ ${String(slo.botsLimitedShare * 100)} %`,
      measured: `${(share * 100).toFixed(1)} %`,
      met: share >= slo.botsLimitedShare,
    });
  }
  if (extra.oversold !== undefined) {
    verdicts.push({
      objective: 'units sold beyond the stock = 0',
      measured: String(extra.oversold),
      met: extra.oversold === 0,
    });
  }
  return verdicts;
}

/** The summary as an aligned text table. */
export function table(rows: readonly SummaryRow[]): string {
  const head = [
    '',
    'requests',
    'req/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    '2xx/3xx',
    '429',
    'other 4xx',
    '5xx/err',
  ];
  const ms = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(1));
  const body = rows.map((r) => [
    r.name,
    String(r.requests),
    r.perSecond.toFixed(1),
    ms(r.p50),
    ms(r.p95),
    ms(r.p99),
    String(r.ok),
    String(r.limited),
    String(r.otherClientErrors),
    String(r.serverFailures),
  ]);
  return alignedTable(head, body, { align: 'numbers' }).join('\n');
}

/**
 * Rows of cells as aligned text lines, the header first: every column as wide as its widest
 * cell, text left-aligned; with `numbers`, every column but the first right-aligned; with
 * `rule`, a line of dashes under the header.
 */
export function alignedTable(
  head: readonly string[],
  body: readonly (readonly string[])[],
  options: { readonly align?: 'text' | 'numbers'; readonly rule?: boolean } = {},
): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) =>
        options.align === 'numbers' && i > 0
          ? c.padStart(widths[i] ?? 0)
          : c.padEnd(widths[i] ?? 0),
      )
      .join('  ');
  const rule = options.rule === true ? [line(widths.map((w) => '-'.repeat(w)))] : [];
  return [line(head), ...rule, ...body.map(line)];
}

/** Verdicts as report lines, each `met` or not in the caller's words. */
export function verdictLines(
  verdicts: readonly Verdict[],
  words: { readonly met: string; readonly missed: string },
): string[] {
  const width = Math.max(words.met.length, words.missed.length);
  return verdicts.map(
    (v) => `  ${(v.met ? words.met : words.missed).padEnd(width)} ${v.objective} (${v.measured})`,
  );
}
