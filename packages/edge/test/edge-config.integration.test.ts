import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePorts, httpRequest } from '@mela/toolchain';
import { localTopology } from '@mela/topology';
import {
  localEdgeOptions,
  localNginx,
  startNginx,
  writeNginxConfig,
  type EdgeOptions,
} from '../src/index.js';

describe('the local edge configuration as nginx reads it (nginx -t)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  function options(env: Record<string, string>): { dir: string; options: EdgeOptions } {
    const dir = mkdtempSync(join(tmpdir(), 'mela-edge-check-'));
    dirs.push(dir);
    const topology = localTopology(env);
    return {
      dir,
      options: localEdgeOptions(topology, localNginx(dir)),
    };
  }

  for (const [label, env] of [
    ['the defaults', {}],
    [
      'weighted, IP hash and three replicas',
      { MELA_CART_LB: 'weighted:5,1', MELA_CATALOG_LB: 'ip-hash', MELA_ORDER_REPLICAS: '3' },
    ],
  ] as const) {
    it(`when it is generated from ${label}, then nginx accepts it`, () => {
      const { dir, options: edge } = options(env);

      assert.equal(writeNginxConfig(dir, edge), join(dir, 'nginx.conf'));
    });
  }

  it('when a setting is wrong, then nginx refuses and the error says which line', () => {
    const { dir, options: edge } = options({});

    assert.throws(
      () => writeNginxConfig(dir, { ...edge, cache: { maxSize: 'lots', inactive: '7d' } }),
      /invalid max_size value "max_size=lots" in .*nginx\.conf:\d+/,
    );
  });

  it('when an edge starts again in its folder, then it logs afresh and keeps only the previous run’s logs', async () => {
    const { dir, options: local } = options({});
    const [port = 0] = await freePorts(1);
    const edge: EdgeOptions = { ...local, listen: `127.0.0.1:${String(port)}`, workerProcesses: 1 };
    const accessLog = join(dir, 'logs', 'access.log');
    const runOnce = async (path: string) => {
      const nginx = await startNginx(dir, edge);
      await httpRequest(`http://127.0.0.1:${String(port)}${path}`);
      await nginx.stop();
    };

    await runOnce('/first-run');
    await runOnce('/second-run');
    await runOnce('/third-run');

    assert.match(readFileSync(accessLog, 'utf8'), /third-run/);
    assert.doesNotMatch(readFileSync(accessLog, 'utf8'), /second-run|first-run/);
    assert.match(readFileSync(`${accessLog}.1`, 'utf8'), /second-run/);
    assert.doesNotMatch(readFileSync(`${accessLog}.1`, 'utf8'), /first-run/);
    assert.ok(existsSync(join(dir, 'logs', 'error.log.1')));
  });
});
