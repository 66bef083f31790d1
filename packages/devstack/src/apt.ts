import { hasCommand, progress, run } from './processes.js';

/** A command the local stack needs and the Debian package that provides it. */
export interface SystemRequirement {
  readonly command: string;
  readonly aptPackage: string;
}

/**
 * Installs the Debian packages whose commands are missing, with one `apt-get update` first.
 * Fast when everything is present: it only looks the commands up.
 */
export function ensureSystemPackages(requirements: readonly SystemRequirement[]): void {
  const missing = requirements.filter((r) => !hasCommand(r.command));
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
