import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@mela/toolchain';

/**
 * Another commit of Mela built beside this checkout, so that `npm run bench -- --baseline <ref>`
 * measures the catalog and the order service before and after a change in one run (an A/B on
 * the same machine at the same moment). The commit's files come from `git archive` into
 * `.mela/baselines/<sha>`; its `node_modules` links to this checkout's when the lockfiles agree,
 * else `npm ci` installs its own. Extracted once per commit, built when asked (quick when
 * built); returns the baseline's root.
 */
export function baselineCheckout(ref: string, say: (line: string) => void): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  const sha = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = join(repoRoot, '.mela', 'baselines', sha);
  const built = join(dir, '.built');
  if (existsSync(built)) {
    build(dir);
    return dir;
  }
  say(`building the baseline ${sha.slice(0, 12)} (${ref}) in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C '${dir}'`], { cwd: repoRoot });
  const modules = join(repoRoot, 'node_modules');
  const lock = (root: string) => readFileSync(join(root, 'package-lock.json'), 'utf8');
  if (lock(dir) === lock(repoRoot)) linkModules(dir, modules);
  else {
    // Other dependencies than this checkout's: the baseline gets its own (from npm's cache).
    say('the baseline has other dependencies: npm ci');
    execFileSync('npm', ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  build(dir);
  writeFileSync(built, `${new Date().toISOString()}\n`);
  return dir;
}

/** The services the bench runs from a baseline: quick when they are built already. */
function build(dir: string): void {
  execFileSync(
    process.execPath,
    [
      join(repoRoot, 'node_modules/typescript/bin/tsc'),
      '--build',
      'services/catalog',
      'services/catalog/storefront',
      'services/order',
      'services/notification',
    ],
    { cwd: dir, stdio: 'inherit' },
  );
}

/**
 * The baseline's `node_modules` as links to this checkout's (same lockfile), with `@mela/*`
 * pointing into the baseline's own tree.
 */
function linkModules(dir: string, modules: string): void {
  mkdirSync(join(dir, 'node_modules', '@mela'), { recursive: true });
  for (const entry of readdirSync(modules)) {
    if (entry === '@mela') continue;
    symlinkSync(join(modules, entry), join(dir, 'node_modules', entry));
  }
  // The workspace links are relative (../../packages/x): the same link resolves in the baseline.
  for (const entry of readdirSync(join(modules, '@mela'))) {
    const workspace = readlinkSync(join(modules, '@mela', entry));
    symlinkSync(workspace, join(dir, 'node_modules', '@mela', entry));
    // A workspace's own node_modules (versions that differ from the root's) comes along too.
    const own = join(modules, '@mela', workspace, 'node_modules');
    const there = join(dir, 'node_modules', '@mela', workspace, 'node_modules');
    if (existsSync(own) && existsSync(join(there, '..')) && !existsSync(there))
      symlinkSync(own, there);
  }
}
