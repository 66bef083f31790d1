import { rmSync } from 'node:fs';

/**
 * How a test's own server (in `dir`) stops for good: killed, its files removed. `firstStart`
 * runs once now; when it fails, the server and its files are taken away before the error goes
 * on, so a server that never came up is not left running.
 */
export async function ownServer(
  dir: string,
  kill: () => Promise<void>,
  firstStart: () => Promise<void>,
): Promise<() => Promise<void>> {
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await firstStart();
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}
