/** One measured run of a scenario. */
export interface RunFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Commands the cache's Redis served per request, from its own counters (where counted). */
  readonly redisCommandsPerRequest?: number;
  /** The server's CPU per request, µs, from its own `process_cpu_seconds_total` (where counted). */
  readonly cpuMicrosPerRequest?: number;
}

/** Repeats of one scenario, summarised: the median run, and the spread. */
export interface Summary {
  readonly name: string;
  readonly runs: readonly RunFigures[];
  readonly requestsPerSecond: {
    readonly min: number;
    readonly median: number;
    readonly max: number;
  };
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Median over the runs, where counted. */
  readonly redisCommandsPerRequest?: number;
  /** Median over the runs, where counted. */
  readonly cpuMicrosPerRequest?: number;
}

/** The `p`th percentile of sorted samples (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** A run's figures from its latency samples (ms, sorted here), its length and its failures. */
export function figuresOf(samples: number[], seconds: number, errors: number): RunFigures {
  samples.sort((a, b) => a - b);
  return {
    requestsPerSecond: samples.length / seconds,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    errors,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function summarise(name: string, runs: readonly RunFigures[]): Summary {
  const rps = runs.map((r) => r.requestsPerSecond);
  const commands = runs.flatMap((r) =>
    r.redisCommandsPerRequest === undefined ? [] : [r.redisCommandsPerRequest],
  );
  const cpu = runs.flatMap((r) =>
    r.cpuMicrosPerRequest === undefined ? [] : [r.cpuMicrosPerRequest],
  );
  return {
    ...(commands.length > 0 ? { redisCommandsPerRequest: median(commands) } : {}),
    ...(cpu.length > 0 ? { cpuMicrosPerRequest: median(cpu) } : {}),
    name,
    runs,
    requestsPerSecond: { min: Math.min(...rps), median: median(rps), max: Math.max(...rps) },
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

/** `a / b` to two decimals, as a ratio string. */
export function ratio(a: number, b: number): string {
  return b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`;
}

/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Throughput with thousands separators, small values with two decimals. */
export function formatRate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

/**
 * The usual table of summaries: rate (median, min–max), p50, p99, errors, then one ratio column
 * per baseline (`vs <label>`: median rate of the row over the baseline's).
 */
export function summaryTable(
  title: string,
  unit: string,
  rows: readonly Summary[],
  options: {
    readonly baselines?: readonly { readonly label: string; readonly summary: Summary }[];
    /** How a latency is printed, e.g. to three decimals when timed in microseconds. */
    readonly latency?: (ms: number) => string;
    readonly latencyNote?: string;
    /** A column of Redis commands per request (`–` where not counted). */
    readonly redisCommands?: boolean;
    /** A column of the server's CPU µs per request (`–` where not counted). */
    readonly cpu?: boolean;
  } = {},
): string {
  const baselines = options.baselines ?? [];
  const redis = options.redisCommands ?? false;
  const cpu = options.cpu ?? false;
  const latency = options.latency ?? formatRate;
  const note = options.latencyNote ?? '';
  return table(
    [
      title,
      `${unit}/s (median)`,
      `${unit}/s min–max`,
      `p50 ms${note}`,
      `p99 ms${note}`,
      'errors',
      ...(redis ? ['Redis cmds/req'] : []),
      ...(cpu ? ['server CPU µs/req'] : []),
      ...baselines.map((b) => `vs ${b.label}`),
    ],
    rows.map((s) => [
      s.name,
      formatRate(s.requestsPerSecond.median),
      `${formatRate(s.requestsPerSecond.min)}–${formatRate(s.requestsPerSecond.max)}`,
      latency(s.p50Ms),
      latency(s.p99Ms),
      String(s.errors),
      ...(redis ? [s.redisCommandsPerRequest?.toFixed(2) ?? '–'] : []),
      ...(cpu ? [s.cpuMicrosPerRequest?.toFixed(1) ?? '–'] : []),
      ...baselines.map((b) =>
        ratio(s.requestsPerSecond.median, b.summary.requestsPerSecond.median),
      ),
    ]),
  );
}
