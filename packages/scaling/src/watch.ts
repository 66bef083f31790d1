import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** One HorizontalPodAutoscaler as scale:watch shows it. */
export interface HpaState {
  readonly name: string;
  readonly current: number;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  /** Each metric: what it reads now against its target (`cpu 150% / 70%`, `rps 225 / 200`). */
  readonly metrics: readonly {
    readonly name: string;
    readonly current: string;
    readonly target: string;
  }[];
}

export interface DeploymentState {
  readonly name: string;
  readonly replicas: number;
  readonly ready: number;
}

export interface ScaleEvent {
  readonly at: string;
  readonly object: string;
  readonly reason: string;
  readonly message: string;
}

/** What scale:watch records every second (one JSON line each). */
export interface ScaleSample {
  /** Wall-clock milliseconds. */
  readonly at: number;
  readonly hpas: readonly HpaState[];
  readonly deployments: readonly DeploymentState[];
  readonly runningPods: number;
  /** Scaling events since the previous sample. */
  readonly events: readonly ScaleEvent[];
}

interface RawHpa {
  metadata: { name: string };
  spec: {
    minReplicas?: number;
    maxReplicas: number;
    metrics?: {
      type: string;
      resource?: { name: string; target: { averageUtilization?: number; averageValue?: string } };
      pods?: { metric: { name: string }; target: { averageValue?: string } };
    }[];
  };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: {
      type: string;
      resource?: { name: string; current: { averageUtilization?: number; averageValue?: string } };
      pods?: { metric: { name: string }; current: { averageValue?: string } };
    }[];
  };
}

interface RawDeployment {
  metadata: { name: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; readyReplicas?: number };
}

interface RawPod {
  metadata: { name: string };
  status?: { phase?: string };
}

interface RawEvent {
  metadata: { name: string };
  involvedObject?: { kind?: string; name?: string };
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

/** Reads a HorizontalPodAutoscaler as the table shows it. */
export function hpaState(hpa: RawHpa): HpaState {
  const current = hpa.status?.currentMetrics ?? [];
  return {
    name: hpa.metadata.name,
    current: hpa.status?.currentReplicas ?? 0,
    desired: hpa.status?.desiredReplicas ?? 0,
    min: hpa.spec.minReplicas ?? 1,
    max: hpa.spec.maxReplicas,
    metrics: (hpa.spec.metrics ?? []).map((metric) => {
      if (metric.type === 'Resource' && metric.resource) {
        const now = current.find((c) => c.resource?.name === metric.resource?.name)?.resource
          ?.current;
        const percent = metric.resource.target.averageUtilization;
        return {
          name: metric.resource.name,
          current:
            now?.averageUtilization !== undefined ? `${String(now.averageUtilization)}%` : '?',
          target:
            percent !== undefined
              ? `${String(percent)}%`
              : (metric.resource.target.averageValue ?? '?'),
        };
      }
      const name = metric.pods?.metric.name ?? metric.type;
      const now = current.find((c) => c.pods?.metric.name === name)?.pods?.current.averageValue;
      return { name, current: now ?? '?', target: metric.pods?.target.averageValue ?? '?' };
    }),
  };
}

/**
 * Watches the HorizontalPodAutoscalers, Deployments, pods and scaling events of a namespace
 * (with @kubernetes/client-node's watch, which re-lists and resumes) and keeps their state.
 */
export class ScaleWatcher {
  readonly #hpas = new Map<string, HpaState>();
  readonly #deployments = new Map<string, DeploymentState>();
  readonly #pods = new Map<string, string>();
  readonly #events: ScaleEvent[] = [];
  readonly #seen = new Set<string>();
  readonly #controllers: AbortController[] = [];
  #stopped = false;

  constructor(
    private readonly config: KubeConfig,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    const ns = this.namespace;
    await Promise.all([
      this.#watch(
        `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`,
        (phase, hpa: RawHpa) => {
          if (phase === 'DELETED') this.#hpas.delete(hpa.metadata.name);
          else this.#hpas.set(hpa.metadata.name, hpaState(hpa));
        },
      ),
      this.#watch(`/apis/apps/v1/namespaces/${ns}/deployments`, (phase, d: RawDeployment) => {
        if (phase === 'DELETED') this.#deployments.delete(d.metadata.name);
        else
          this.#deployments.set(d.metadata.name, {
            name: d.metadata.name,
            replicas: d.spec?.replicas ?? d.status?.replicas ?? 0,
            ready: d.status?.readyReplicas ?? 0,
          });
      }),
      this.#watch(`/api/v1/namespaces/${ns}/pods`, (phase, pod: RawPod) => {
        if (phase === 'DELETED') this.#pods.delete(pod.metadata.name);
        else this.#pods.set(pod.metadata.name, pod.status?.phase ?? 'Unknown');
      }),
      this.#watch(`/api/v1/namespaces/${ns}/events`, (phase, event: RawEvent) => {
        const kind = event.involvedObject?.kind;
        if (phase === 'DELETED' || (kind !== 'HorizontalPodAutoscaler' && kind !== 'Deployment'))
          return;
        if (!/Rescale|ScalingReplicaSet/.test(event.reason ?? '')) return;
        const key = `${event.metadata.name}/${event.message ?? ''}`;
        if (this.#seen.has(key)) return;
        this.#seen.add(key);
        this.#events.push({
          at: event.lastTimestamp ?? event.eventTime ?? new Date().toISOString(),
          object: `${kind.toLowerCase()}/${event.involvedObject?.name ?? ''}`,
          reason: event.reason ?? '',
          message: event.message ?? '',
        });
      }),
    ]);
  }

  async #watch(path: string, onChange: (phase: string, object: never) => void): Promise<void> {
    const watch = new Watch(this.config);
    const begin = async (): Promise<void> => {
      if (this.#stopped) return;
      const controller = await watch.watch(
        path,
        { allowWatchBookmarks: true },
        (phase, object) => {
          // BOOKMARK (a resume point) and ERROR carry no object of the kind.
          if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED')
            onChange(phase, object as never);
        },
        () => {
          // The server ends watches now and then: start again (a fresh list, then changes).
          if (!this.#stopped) setTimeout(() => void begin(), 500);
        },
      );
      this.#controllers.push(controller);
    };
    await begin();
  }

  /** The state now, with the scaling events since the last call. */
  sample(): ScaleSample {
    const events = this.#events.splice(0);
    return {
      at: Date.now(),
      hpas: [...this.#hpas.values()].sort((a, b) => a.name.localeCompare(b.name)),
      deployments: [...this.#deployments.values()].sort((a, b) => a.name.localeCompare(b.name)),
      runningPods: [...this.#pods.values()].filter((p) => p === 'Running').length,
      events,
    };
  }

  stop(): void {
    this.#stopped = true;
    for (const controller of this.#controllers) controller.abort();
  }
}

/** The live table scale:watch prints. */
export function renderTable(sample: ScaleSample, recent: readonly ScaleEvent[]): string {
  const rows = sample.hpas.map((hpa) => {
    const deployment = sample.deployments.find((d) => d.name === hpa.name);
    return [
      hpa.name,
      `${String(hpa.current)}/${String(hpa.desired)}`,
      `${String(hpa.min)}–${String(hpa.max)}`,
      hpa.metrics.map((m) => `${m.name} ${m.current}/${m.target}`).join(', '),
      deployment ? `${String(deployment.ready)}/${String(deployment.replicas)}` : '–',
    ];
  });
  const head = ['hpa', 'current/desired', 'min–max', 'metric now/target', 'ready pods'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [
    `${new Date(sample.at).toISOString()}  running pods: ${String(sample.runningPods)}`,
    line(head),
    ...rows.map(line),
    '',
    'recent scaling:',
    ...(recent.length === 0
      ? ['  (none yet)']
      : recent.slice(-6).map((e) => `  ${e.at}  ${e.object}  ${e.message}`)),
  ].join('\n');
}
