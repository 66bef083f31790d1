import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { environments, shardServerImage } from '../src/index.js';
import { synthObjects } from './support.js';

describe('the shards in a cluster run what the tests run', () => {
  it('when the shards are StatefulSets, then they run the official mariadb image at the family and major version of the MariaDB every test runs', () => {
    const version = spawnSync('mariadbd', ['--version'], { encoding: 'utf8' }).stdout;
    const tested = /Ver (\d+\.\d+)\.\d+-MariaDB/.exec(version)?.[1];
    assert.ok(tested, `mariadbd --version: ${version}`);
    assert.equal(shardServerImage, `mariadb:${tested}`);
    for (const env of [environments.dev, environments.prod, environments.bbd]) {
      const images = synthObjects(env)
        .filter(
          (o) =>
            o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/name'] === 'mysql',
        )
        .map(
          (o) =>
            (o['spec'] as { template: { spec: { containers: { image: string }[] } } }).template.spec
              .containers[0]?.image,
        );
      assert.ok(images.length > 0, env.name);
      assert.deepEqual([...new Set(images)], [shardServerImage], env.name);
    }
  });
});
