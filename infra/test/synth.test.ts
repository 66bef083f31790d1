import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { environments } from '../src/index.js';
import { synthFiles } from './support.js';

const charts = fileURLToPath(new URL('../../../charts/', import.meta.url));

describe('npm run synth', () => {
  for (const env of Object.values(environments)) {
    it(`when ${env.name} is synthesized twice, then the bytes are the same, and they are what charts/${env.name} holds`, () => {
      const first = synthFiles(env);
      const second = synthFiles(env);

      assert.deepEqual(second, first);
      const committed = new Map(
        readdirSync(join(charts, env.name))
          .sort()
          .map((file) => [file, readFileSync(join(charts, env.name, file), 'utf8')]),
      );
      assert.deepEqual(
        committed,
        first,
        `charts/${env.name} is stale: run npm run synth and commit it`,
      );
    });
  }
});
