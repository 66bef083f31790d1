import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, stopChild, until } from '@mela/toolchain';

/** A Mela service running as its own process, as in production. */
export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** What it wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGTERM and wait (a graceful drain). */
  stop(): Promise<void>;
  /** SIGKILL: gone mid-work, as in a crash. */
  kill(): Promise<void>;
}

/**
 * Starts `services/<name>/dist/src/main.js` with `env` (merged over a quiet baseline) and
 * waits until its `/readyz` answers 200. `port` must be free; the URL is built from it.
 */
export async function startService(
  name: string,
  port: number,
  env: Readonly<Record<string, string>>,
  options: {
    readonly ready?: 'readyz' | 'livez';
    readonly timeoutMs?: number;
    /** The checkout the service is built in (another commit's, for an A/B). @default this one */
    readonly root?: string;
  } = {},
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    [
      // A baseline from before the Kafka client switch runs kafkajs, which trips this harmless
      // warning on Node 24 (tulios/kafkajs#1751).
      '--disable-warning=TimeoutNegativeWarning',
      join(options.root ?? repoRoot, `services/${name}/dist/src/main.js`),
    ],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
        const response = await fetch(`${url}/${options.ready ?? 'readyz'}`).catch(() => undefined);
        await response?.body?.cancel();
        return response?.status === 200;
      },
      `${name} to be ready`,
      options.timeoutMs ?? 20_000,
      { pollMs: 10 },
    );
  } catch (error) {
    await stopChild(child, 'SIGKILL');
    throw new Error(`${String(error)}\n${output}`, { cause: error });
  }
  return {
    url,
    child,
    output: () => output,
    stop: () => stopChild(child, 'SIGTERM'),
    kill: () => stopChild(child, 'SIGKILL'),
  };
}
