import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the mela-shard operator CLI', () => {
  it('when asked for a keyspace ID, then stdout holds only the lowercase hex', () => {
    assert.deepEqual(run('keyspace-id', '--vindex', 'hash', '1'), {
      code: 0,
      stdout: '166b40b44aba4bd6\n',
      stderr: '',
    });
    assert.equal(run('keyspace-id', '--vindex', 'xxhash', 'test1').stdout, 'd01ab7e4d6978f0b\n');
  });

  it('when asked which shard owns a value, then stdout holds only the shard name', () => {
    assert.equal(run('which', '--shards=-80,80-', '--vindex', 'hash', '1').stdout, '-80\n');
    assert.equal(
      run('which', '--shards=-40,40-80,80-c0,c0-', '--vindex', 'hash', '4').stdout,
      'c0-\n',
    );
  });

  it('when the input is bad, then it exits 2 and says why on stderr, nothing on stdout', () => {
    for (const args of [
      ['which', '--shards=-80,90-', '--vindex', 'hash', '1'],
      ['keyspace-id', '--vindex', 'md5', '1'],
      ['keyspace-id', '--vindex', 'hash', 'abc'],
      ['frobnicate'],
      ['which', '--bogus', '1'],
    ]) {
      const result = run(...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^mela-shard: /);
    }
  });

  it('when asked for --help, then it prints the commands and options on stdout and exits 0', () => {
    for (const args of [['--help'], ['which', '-h']]) {
      const result = run(...args);
      assert.equal(result.code, 0, args.join(' '));
      assert.equal(result.stderr, '');
      assert.match(result.stdout, /^Usage: npm run shard -- <command>/);
      assert.match(result.stdout, /--vindex NAME +hash or xxhash/);
    }
  });
});
