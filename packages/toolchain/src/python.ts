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
 * Schemathesis, installed from PyPI into a virtual environment of its own in the cache (once,
 * a few seconds), at the versions of schemathesis.requirements.txt: the command and the
 * arguments that run it.
 */
export function ensureSchemathesis(): { readonly command: string; readonly args: string[] } {
  // A virtual environment's scripts name its folder, so it is made in place (a marker written
  // last says it is whole) and run through its python, which finds it wherever it is.
  const dir = paths.cache(`schemathesis-${schemathesisVersion}`);
  const command = { command: join(dir, 'bin', 'python3'), args: ['-m', 'schemathesis.cli'] };
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
