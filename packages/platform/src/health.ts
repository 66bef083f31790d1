/** A probe of one dependency: resolves when it is usable, rejects (or times out) when not. */
export type Probe = (signal: AbortSignal) => Promise<unknown>;

export interface CheckOptions {
  /**
   * A failing critical check makes the service not ready (503); a failing non-critical one
   * only marks it degraded (200), for dependencies the service can work without.
   * @default true
   */
  readonly critical?: boolean;
  /** @default the registry's timeout */
  readonly timeoutMs?: number;
}

export interface CheckResult {
  readonly status: 'up' | 'down';
  readonly critical: boolean;
  readonly durationMs: number;
  readonly error?: string;
}

export interface ReadinessReport {
  readonly status: 'ready' | 'degraded' | 'not_ready' | 'shutting_down';
  readonly checks: Readonly<Record<string, CheckResult>>;
}

interface RegisteredCheck {
  readonly probe: Probe;
  readonly critical: boolean;
  readonly timeoutMs: number;
}

/**
 * The dependency checks behind `/readyz`. Checks run in parallel, each bounded by a timeout, so
 * a hung dependency makes the service not ready instead of making the probe hang.
 */
export class Health {
  readonly #checks = new Map<string, RegisteredCheck>();
  readonly #timeoutMs: number;
  #shuttingDown = false;

  constructor(options: { readonly timeoutMs: number }) {
    this.#timeoutMs = options.timeoutMs;
  }

  /** Registers a named dependency check; names are unique. */
  register(name: string, probe: Probe, options: CheckOptions = {}): void {
    if (this.#checks.has(name)) throw new Error(`health check "${name}" is already registered`);
    this.#checks.set(name, {
      probe,
      critical: options.critical ?? true,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
    });
  }

  /** From now on the service reports not ready, so load balancers take it out of rotation. */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Runs every check and summarises them. */
  async readiness(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, check]) => [name, await runCheck(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const results = Object.values(checks);
    let status: ReadinessReport['status'] = 'ready';
    if (this.#shuttingDown) status = 'shutting_down';
    else if (results.some((r) => r.status === 'down' && r.critical)) status = 'not_ready';
    else if (results.some((r) => r.status === 'down')) status = 'degraded';
    return { status, checks };
  }
}

async function runCheck(check: RegisteredCheck): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${check.timeoutMs} ms`));
    }, check.timeoutMs);
  });
  try {
    await Promise.race([check.probe(controller.signal), timeout]);
    return { status: 'up', critical: check.critical, durationMs: elapsed(started) };
  } catch (error) {
    return {
      status: 'down',
      critical: check.critical,
      durationMs: elapsed(started),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
