import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'packages'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no Mela checkout above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The checkout's root directory. */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

/** Git-ignored state of the local stack: data, logs, pids, caches. */
export const stateDir = process.env['MELA_STATE_DIR'] ?? join(repoRoot, '.mela');

export const paths = {
  data: (name: string) => join(stateDir, 'data', name),
  log: (name: string) => join(stateDir, 'logs', `${name}.log`),
  pid: (name: string) => join(stateDir, 'run', `${name}.pid`),
  run: join(stateDir, 'run'),
  /** Downloads and builds, shared by every stack of the checkout (`MELA_CACHE_DIR` moves them). */
  cache: (name: string) => join(process.env['MELA_CACHE_DIR'] ?? join(stateDir, 'cache'), name),
};
