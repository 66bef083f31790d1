import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@mela/toolchain';

/** A file under `test-artifacts/` (git-ignored) that a test keeps for people to look at. */
export function artifactPath(name: string): string {
  const dir = join(repoRoot, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
