import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureHelm } from '@mela/toolchain';
import type { KubeObject } from '@mela/testkit';
import { environments, escapeHelmTemplates } from '../src/index.js';
import { synthObjects } from './support.js';

const chart = fileURLToPath(new URL('../../../charts/mela', import.meta.url));

describe('charts/mela through the real helm command', () => {
  const helm = ensureHelm();

  it('when linted, then helm finds nothing wrong', () => {
    const out = execFileSync(helm, ['lint', chart], { encoding: 'utf8' });

    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('when rendered, then it is exactly the prod manifests (less the namespace helm creates), braces of alerts and legends intact', () => {
    const rendered = execFileSync(helm, ['template', 'mela', chart, '--namespace', 'mela'], {
      encoding: 'utf8',
    });
    const objects = parseAllDocuments(rendered)
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);
    const prod = synthObjects(environments.prod).filter((o) => o.kind !== 'Namespace');

    // Helm installs in its own order (by kind); compare object by object.
    const key = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`;
    const byKey = (list: KubeObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(byKey(objects), byKey(prod));
    assert.ok(rendered.includes('summary: "{{ $labels.service }} is burning its availability'));
  });

  it('when a template holds braces, then they are escaped so Helm prints them', () => {
    assert.equal(escapeHelmTemplates('a {{ $x }} b'), 'a {{ "{{" }} $x {{ "}}" }} b');
  });
});
