import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Signals a child process (if it still runs) and waits until it has exited. */
export async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}
