import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { freePort, stopChild, until } from '@mela/toolchain';

/** A server under test, in processes of its own (the load comes from another process). */
export interface Target {
  readonly name: string;
  readonly url: string;
  /** Its process, for a target whose CPU the bench counts by process. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}

/** Starts a target that prints `{"port":N}` on its first line of output. */
export async function startPrintingTarget(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => stopChild(child) };
}

/** Starts a Mela service on a free port and waits until its /readyz says ready. */
export async function startService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const port = await freePort();
  const profiles = process.env['BENCH_PROFILE_DIR'];
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // BENCH_PROFILE_DIR=… writes each service's CPU profile there, named after it, when the
      // bench stops it.
      ...(profiles === undefined
        ? {}
        : {
            NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles} --cpu-prof-name=${name.replace(/[^\w.-]+/g, '-')}.cpuprofile`,
          }),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
      return fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
    },
    `${name} to be ready`,
    30_000,
  );
  return { name, url, stop: () => stopChild(child) };
}

/** A bench target's CPU so far, in seconds: what its `GET /cpu` answers (see `cpuSeconds`). */
export async function targetCpuSeconds(url: string): Promise<number> {
  return ((await (await fetch(`${url}/cpu`)).json()) as { seconds: number }).seconds;
}
