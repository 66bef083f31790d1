/**
 * The sum of a Prometheus counter over services' `/metrics`: every sample of `name` whose labels
 * include `labels` (e.g. one route of `http_request_duration_seconds_count` over all replicas).
 */
export async function metricTotal(
  services: readonly { readonly url: string }[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let total = 0;
  for (const service of services) {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    // OpenMetrics: a bucket's sample may end with its exemplar (` # {trace_id="…"} 0.01 …`).
    for (const line of text.split('\n').map((l) => l.split(' # ', 1)[0] ?? '')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (wanted.every((pair) => line.includes(pair)))
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
