/** One measured run of a scenario. */
export interface RunFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
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
  return {
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
