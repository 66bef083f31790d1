import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const processes = fileURLToPath(new URL('../src/processes.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mela-until-signal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A foreground command as `npm start` is one: it waits for untilSignal, then cleans up — here
 * it writes a good deal of output (to a terminal that may be gone) and then marks itself done.
 */
const command = join(dir, 'command.mjs');
writeFileSync(
  command,
  [
    `import { writeFileSync } from 'node:fs';`,
    `const { untilSignal } = await import(${JSON.stringify(processes)});`,
    // What it started keeps it alive, as npm start's servers do.
    `const serving = setInterval(() => undefined, 1000);`,
    `const stopped = untilSignal();`,
    `process.stdout.write('ready\\n');`,
    `await stopped;`,
    `clearInterval(serving);`,
    `for (let i = 0; i < 200; i += 1) process.stdout.write('stopping '.repeat(100) + '\\n');`,
    `writeFileSync(process.argv[2], 'cleaned up');`,
  ].join('\n'),
);

async function run(signal: NodeJS.Signals, hangUp: boolean) {
  const done = join(dir, `${signal}-${String(hangUp)}.done`);
  const child = spawn(process.execPath, [command, done], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [first] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(first.toString(), 'ready\n');
  // A closed terminal: nobody reads the output any more.
  if (hangUp) child.stdout.destroy();
  else child.stdout.resume();
  child.kill(signal);
  const [code, killedBy] = (await once(child, 'exit')) as [number | null, string | null];
  return { code, killedBy, cleanedUp: existsSync(done) };
}

describe('untilSignal', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`when the command gets ${signal}, then it cleans up and exits 0`, async () => {
      assert.deepEqual(await run(signal, false), { code: 0, killedBy: null, cleanedUp: true });
    });
  }

  it('when its terminal is closed (SIGHUP, the output unread), then it still cleans up and exits 0', async () => {
    assert.deepEqual(await run('SIGHUP', true), { code: 0, killedBy: null, cleanedUp: true });
  });
});
