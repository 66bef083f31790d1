/**
 * PromQL building blocks shared by the dashboards and the alerts, so both read the same series
 * the same way. `window` is a range (`5m`) or Grafana's `$__rate_interval`.
 */

/** Requests per second by `by` (e.g. `service`), from the RED histogram every service exports. */
export function requestRate(by: string, window: string, matchers = ''): string {
  return `sum by (${by}) (rate(http_request_duration_seconds_count${braces(matchers)}[${window}]))`;
}

/**
 * The share of requests matching `matchers` among all, by `by`: 0 (not "no data") when none
 * match, as the numerator falls back to zero times the denominator's series.
 */
export function requestShare(by: string, window: string, matchers: string): string {
  const part = requestRate(by, window, matchers);
  const all = requestRate(by, window);
  return `(${part} or 0 * ${all}) / ${all}`;
}

/** The `q` quantile of request latency by `by` (which must not include `le`). */
export function latencyQuantile(q: number, by: string, window: string, matchers = ''): string {
  return `histogram_quantile(${String(q)}, sum by (${by}, le) (rate(http_request_duration_seconds_bucket${braces(matchers)}[${window}])))`;
}

/** `sum by (by) (rate(metric[window]))`. */
export function rateBy(metric: string, by: string, window: string, matchers = ''): string {
  return `sum by (${by}) (rate(${metric}${braces(matchers)}[${window}]))`;
}

/** Requests answered 5xx: the availability SLO's bad events. */
export const serverErrors = 'status_code=~"5.."';

/** Routes that matched nothing are noise (scanners, typos), not a route's latency. */
export const matchedRoutes = 'route!="(unmatched)"';

function braces(matchers: string): string {
  return matchers === '' ? '' : `{${matchers}}`;
}
