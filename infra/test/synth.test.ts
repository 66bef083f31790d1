import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { environments, escapeHelmTemplates, synthesize, writeHelmChart } from '../src/index.js';

const charts = fileURLToPath(new URL('../../../charts/', import.meta.url));

/** The files under a folder, by relative path. */
function filesUnder(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort()
      .map((file) => [file.slice(dir.length), readFileSync(file, 'utf8')]),
  );
}

describe('npm run synth', () => {
  it('when the Helm chart is generated, then it is the prod manifests without the namespace (values in place of what can be set), and what charts/mela holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mela-helm-'));
    try {
      writeHelmChart(dir);
      const generated = filesUnder(dir);

      assert.match(generated.get('/Chart.yaml') ?? '', /^name: "mela"$/m);
      // A template with nothing to set is prod's, byte for byte (its braces escaped); with
      // values, helm.test.ts renders the chart with its defaults and compares it with prod
      // object by object.
      assert.equal(
        generated.get('/templates/40-monitoring.yaml'),
        escapeHelmTemplates(synthesize(environments.prod).get('40-monitoring.yaml') ?? ''),
      );
      assert.match(
        generated.get('/templates/20-services.yaml') ?? '',
        /maxReplicas: \{\{ \.Values\.services\.order\.maxReplicas \}\}/,
      );
      assert.ok(generated.has('/values.yaml') && generated.has('/values.schema.json'));
      assert.doesNotMatch(generated.get('/templates/00-cluster.yaml') ?? '', /kind: Namespace/);
      assert.deepEqual(
        filesUnder(join(charts, 'mela')),
        generated,
        'charts/mela is stale: run npm run synth and commit it',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const env of Object.values(environments)) {
    it(`when ${env.name} is synthesized twice, then the bytes are the same, and they are what charts/${env.name} holds`, () => {
      const first = synthesize(env);
      const second = synthesize(env);

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
