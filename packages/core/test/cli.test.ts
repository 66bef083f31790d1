import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCommandLine } from '../src/cli.js';

const spec = {
  usage: 'npm run bench -- [options]',
  summary:
    'Measures the shop beside bare baselines on this machine, in one run, and prints each figure with its ratio.',
  options: {
    duration: { type: 'string', default: '8', value: 'SECONDS', help: 'each run' },
    baseline: { type: 'string', value: 'COMMIT', help: 'a commit to run beside this checkout' },
    smoke: { type: 'boolean', default: false, help: 'one short pass' },
  },
} as const;

describe('a command line', () => {
  it('when the options are known, then it gives their values and the defaults', () => {
    const read = readCommandLine(spec, ['--duration', '3', '--smoke']);
    assert.ok('values' in read);
    assert.deepEqual({ ...read.values }, { duration: '3', smoke: true });
    const defaults = readCommandLine(spec, []);
    assert.ok('values' in defaults);
    assert.deepEqual({ ...defaults.values }, { duration: '8', smoke: false });
  });

  it('when --help or -h is among the words, then it answers the help, exit 0, whatever else is there', () => {
    for (const args of [['--help'], ['-h'], ['--bogus', '--help']]) {
      const read = readCommandLine(spec, args);
      assert.ok(!('values' in read));
      assert.equal(read.exitCode, 0);
      assert.equal(read.stderr, undefined);
      assert.equal(
        read.stdout,
        [
          'Usage: npm run bench -- [options]',
          '',
          'Measures the shop beside bare baselines on this machine, in one run, and prints',
          'each figure with its ratio.',
          '',
          'Options:',
          '      --duration SECONDS  each run (default: 8)',
          '      --baseline COMMIT   a commit to run beside this checkout',
          '      --smoke             one short pass',
          '  -h, --help              show this help',
          '',
        ].join('\n'),
      );
    }
  });

  it('when an option is unknown, lacks its value or a word is not an option, then it names the problem, exit 2', () => {
    for (const [args, problem] of [
      [['--bogus'], "Unknown option '--bogus'"],
      [['--duration'], "Option '--duration <value>' argument missing"],
      [['extra'], "Unexpected argument 'extra'"],
    ] as const) {
      const read = readCommandLine(spec, args);
      assert.ok(!('values' in read), args.join(' '));
      assert.equal(read.exitCode, 2);
      assert.equal(read.stdout, undefined);
      assert.ok(read.stderr?.startsWith(problem), read.stderr);
      assert.ok(
        read.stderr?.endsWith(
          'Usage: npm run bench -- [options]\nRun it with --help for its options.\n',
        ),
      );
    }
  });

  it('when a command takes words that are not options, then it gives them in order', () => {
    const read = readCommandLine({ ...spec, allowPositionals: true }, ['list', '--smoke', 'x']);
    assert.ok('values' in read);
    assert.deepEqual(read.positionals, ['list', 'x']);
  });
});
