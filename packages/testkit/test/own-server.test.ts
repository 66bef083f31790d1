import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ownServer } from '../src/own-server.js';

describe("a test's own server", () => {
  it('when its first start fails, then it is killed and its files are removed before the error goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mela-own-server-'));
    writeFileSync(join(dir, 'server.pid'), '1');
    let killed = 0;

    await assert.rejects(
      ownServer(
        dir,
        () => {
          killed += 1;
          return Promise.resolve();
        },
        () => Promise.reject(new Error('did not come up')),
      ),
      /did not come up/,
    );

    assert.equal(killed, 1);
    assert.equal(existsSync(dir), false);
  });

  it('when it starts, then it keeps running until stopped, and stopping kills it and removes its files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mela-own-server-'));
    let killed = 0;

    const stop = await ownServer(
      dir,
      () => {
        killed += 1;
        return Promise.resolve();
      },
      () => Promise.resolve(),
    );
    assert.equal(killed, 0);
    assert.equal(existsSync(dir), true);
    await stop();

    assert.equal(killed, 1);
    assert.equal(existsSync(dir), false);
  });
});
