import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '@mela/testkit';

/** A server under test, in a process of its own (the load comes from another process). */
export interface Target {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
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
  return { name, url: `http://127.0.0.1:${port}`, child, stop: stopper(child) };
}

/** Starts a Mela service on a free port and waits until its /readyz says ready. */
export async function startService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${name} was not ready within 30 s`);
    await delay(100);
  }
  return { name, url, child, stop: stopper(child) };
}
