import { createServer, type Server } from 'node:https';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

/** One service's load right now, summed over its replicas. */
export interface ServiceLoad {
  readonly requestsPerSecond: number;
  readonly cpuCores: number;
  readonly memoryBytes: number;
}

/** Where the adapter's numbers come from: service name (`app.kubernetes.io/name`) → its load. */
export type MetricsSource = () => Promise<ReadonlyMap<string, ServiceLoad>>;

/**
 * The load the local stack is under, from its Prometheus: request rate and CPU of every
 * replica of each service over the last 30 s, memory as now.
 */
export function prometheusSource(url: string): MetricsSource {
  const query = async (expr: string): Promise<Map<string, number>> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      data?: { result: { metric: { service?: string }; value: [number, string] }[] };
    };
    return new Map(
      (body.data?.result ?? []).map((r) => [r.metric.service ?? '', Number(r.value[1])]),
    );
  };
  return async () => {
    const [rps, cpu, memory] = await Promise.all([
      query('sum by (service) (rate(http_request_duration_seconds_count[30s]))'),
      query('sum by (service) (rate(process_cpu_seconds_total[30s]))'),
      query('sum by (service) (process_resident_memory_bytes)'),
    ]);
    const services = new Set([...rps.keys(), ...cpu.keys()]);
    return new Map(
      [...services].map((service) => [
        service,
        {
          requestsPerSecond: rps.get(service) ?? 0,
          cpuCores: cpu.get(service) ?? 0,
          memoryBytes: memory.get(service) ?? 0,
        },
      ]),
    );
  };
}

/** The custom metric the services' HorizontalPodAutoscalers target. */
export const requestsMetric = 'http_requests_per_second';

export interface MetricsAdapter {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A metrics adapter for the API server's aggregation layer: `metrics.k8s.io/v1beta1` (pod
 * CPU and memory, what metrics-server serves) and `custom.metrics.k8s.io/v1beta2` (the pods
 * metric `http_requests_per_second`, what prometheus-adapter serves in a real cluster). Each
 * service's load from `source` is spread evenly over its running pods, as a balancer would.
 */
export async function startMetricsAdapter(options: {
  readonly host: string;
  readonly cert: string;
  readonly key: string;
  readonly core: CoreV1Api;
  readonly source: MetricsSource;
}): Promise<MetricsAdapter> {
  let cached: { at: number; load: ReadonlyMap<string, ServiceLoad> } | undefined;
  const load = async () => {
    if (cached === undefined || Date.now() - cached.at > 1000) {
      cached = { at: Date.now(), load: await options.source() };
    }
    return cached.load;
  };
  /** The running pods matching the selector, each with its share of its service's load. */
  const shares = async (namespace: string, labelSelector: string | undefined, name?: string) => {
    const pods = (
      await options.core.listNamespacedPod({
        namespace,
        ...(labelSelector ? { labelSelector } : {}),
      })
    ).items.filter(
      (p) => p.status?.phase === 'Running' && (name === undefined || p.metadata?.name === name),
    );
    const all = (await options.core.listNamespacedPod({ namespace })).items.filter(
      (p) => p.status?.phase === 'Running',
    );
    const loads = await load();
    return pods.map((pod) => {
      const service = pod.metadata?.labels?.['app.kubernetes.io/name'] ?? '';
      const siblings = all.filter(
        (p) => p.metadata?.labels?.['app.kubernetes.io/name'] === service,
      ).length;
      const total = loads.get(service);
      const share = (v: number | undefined) => (v ?? 0) / Math.max(1, siblings);
      return {
        pod,
        rps: share(total?.requestsPerSecond),
        cpu: share(total?.cpuCores),
        memory: share(total?.memoryBytes),
      };
    });
  };
  const now = () => new Date().toISOString();
  const podMetrics = (pod: V1Pod, cpu: number, memory: number) => {
    const containers = pod.spec?.containers ?? [];
    return {
      metadata: {
        name: pod.metadata?.name,
        namespace: pod.metadata?.namespace,
        labels: pod.metadata?.labels,
        creationTimestamp: now(),
      },
      timestamp: now(),
      window: '30s',
      // The pod's load on its first container (Mela's pods have one).
      containers: containers.map((c, i) => ({
        name: c.name,
        usage: {
          cpu: `${String(Math.round((i === 0 ? cpu : 0) * 1e9))}n`,
          memory: `${String(Math.round((i === 0 ? memory : 0) / 1024))}Ki`,
        },
      })),
    };
  };
  const routes: {
    pattern: RegExp;
    answer: (m: RegExpExecArray, query: URLSearchParams) => Promise<unknown>;
  }[] = [
    {
      pattern: /^\/apis\/metrics\.k8s\.io\/v1beta1$/,
      answer: () =>
        Promise.resolve({
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'metrics.k8s.io/v1beta1',
          resources: [
            {
              name: 'pods',
              singularName: '',
              namespaced: true,
              kind: 'PodMetrics',
              verbs: ['get', 'list'],
            },
            {
              name: 'nodes',
              singularName: '',
              namespaced: false,
              kind: 'NodeMetrics',
              verbs: ['get', 'list'],
            },
          ],
        }),
    },
    {
      pattern: /^\/apis\/metrics\.k8s\.io\/v1beta1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/,
      answer: async (m, query) => {
        const [, namespace = '', name] = m;
        const found = await shares(namespace, query.get('labelSelector') ?? undefined, name);
        const items = found.map((s) => podMetrics(s.pod, s.cpu, s.memory));
        if (name !== undefined)
          return { kind: 'PodMetrics', apiVersion: 'metrics.k8s.io/v1beta1', ...items[0] };
        return {
          kind: 'PodMetricsList',
          apiVersion: 'metrics.k8s.io/v1beta1',
          metadata: {},
          items,
        };
      },
    },
    {
      pattern: /^\/apis\/metrics\.k8s\.io\/v1beta1\/nodes$/,
      answer: () =>
        Promise.resolve({
          kind: 'NodeMetricsList',
          apiVersion: 'metrics.k8s.io/v1beta1',
          metadata: {},
          items: [],
        }),
    },
    {
      pattern: /^\/apis\/custom\.metrics\.k8s\.io\/v1beta2$/,
      answer: () =>
        Promise.resolve({
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'custom.metrics.k8s.io/v1beta2',
          resources: [
            {
              name: `pods/${requestsMetric}`,
              singularName: '',
              namespaced: true,
              kind: 'MetricValueList',
              verbs: ['get'],
            },
          ],
        }),
    },
    {
      pattern: new RegExp(
        `^/apis/custom\\.metrics\\.k8s\\.io/v1beta2/namespaces/([^/]+)/pods/([^/]+)/${requestsMetric}$`,
      ),
      answer: async (m, query) => {
        const [, namespace = '', encoded = '*'] = m;
        const name = decodeURIComponent(encoded);
        const found = await shares(
          namespace,
          query.get('labelSelector') ?? undefined,
          name === '*' ? undefined : name,
        );
        return {
          kind: 'MetricValueList',
          apiVersion: 'custom.metrics.k8s.io/v1beta2',
          metadata: {},
          items: found.map((s) => ({
            describedObject: {
              kind: 'Pod',
              namespace,
              name: s.pod.metadata?.name,
              apiVersion: '/v1',
            },
            metric: { name: requestsMetric, selector: null },
            timestamp: now(),
            value: `${String(Math.round(s.rps * 1000))}m`,
          })),
        };
      },
    },
  ];
  const server: Server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://adapter');
    const route = routes
      .map((r) => ({ r, m: r.pattern.exec(url.pathname) }))
      .find((x) => x.m !== null);
    res.setHeader('content-type', 'application/json');
    if (route?.m == null) {
      res.statusCode = 404;
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code: 404,
          reason: 'NotFound',
        }),
      );
      return;
    }
    route.r.answer(route.m, url.searchParams).then(
      (body) => res.end(JSON.stringify(body)),
      (error: unknown) => {
        res.statusCode = 503;
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            code: 503,
            message: error instanceof Error ? error.message : String(error),
          }),
        );
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the adapter has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
