import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, repoRoot } from './paths.js';
import { hasCommand, progress, run } from './processes.js';

/** Schemathesis, the API fuzzer the contract tests run, and every package it runs on, pinned. */
const schemathesisRequirements = join(repoRoot, 'packages/toolchain/schemathesis.requirements.txt');

/** The schemathesis release the requirements pin. */
export const schemathesisVersion =
  /^schemathesis==(\S+)$/m.exec(readFileSync(schemathesisRequirements, 'utf8'))?.[1] ?? 'unpinned';

/**
 * The `schemathesis` command, installed from PyPI into a virtual environment of its own in
 * the cache (once, a few seconds), at the versions of schemathesis.requirements.txt.
 */
export function ensureSchemathesis(): string {
  // A virtual environment names its own folder in its scripts, so it cannot be made elsewhere
  // and moved: a marker written last says it is whole.
  const dir = paths.cache(`schemathesis-${schemathesisVersion}`);
  const command = join(dir, 'bin', 'schemathesis');
  const complete = join(dir, '.complete');
  if (existsSync(complete)) return command;
  if (!hasCommand('python3')) throw new Error('installing schemathesis needs python3 on PATH');
  progress(`installing schemathesis ${schemathesisVersion} from PyPI — once, a few seconds`);
  rmSync(dir, { recursive: true, force: true });
  run('python3', ['-m', 'venv', dir]);
  run(join(dir, 'bin', 'pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-deps',
    '--requirement',
    schemathesisRequirements,
  ]);
  writeFileSync(complete, `${schemathesisVersion}\n`);
  return command;
}
