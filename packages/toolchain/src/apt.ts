import { existsSync } from 'node:fs';
import { hasCommand, progress, run } from './processes.js';

/** A command (or file, such as an nginx module) the local stack needs, and its Debian package. */
export type SystemRequirement = { readonly aptPackage: string } & (
  { readonly command: string } | { readonly file: string }
);

function present(requirement: SystemRequirement): boolean {
  return 'command' in requirement ? hasCommand(requirement.command) : existsSync(requirement.file);
}

/**
 * Installs the Debian packages whose commands are missing, with one `apt-get update` first.
 * Fast when everything is present: it only looks the commands up.
 */
export function ensureSystemPackages(requirements: readonly SystemRequirement[]): void {
  const missing = requirements.filter((r) => !present(r));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((r) => r.aptPackage))];
  if (!hasCommand('apt-get')) {
    throw new Error(`missing ${packages.join(', ')} and there is no apt-get to install them`);
  }
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  progress(`installing ${packages.join(', ')} from Debian's packages (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) =>
    sudo.length > 0 ? run('sudo', ['apt-get', ...args], { env }) : run('apt-get', args, { env });
  apt(['update', '-q']);
  apt(['install', '-y', '-q', '--no-install-recommends', ...packages]);
}
