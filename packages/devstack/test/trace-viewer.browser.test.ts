import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { until } from '@mela/toolchain';
import { launchChromium, startJaeger, type Browser, type RunningJaeger } from '../src/index.js';

/** One span of an OTLP/JSON export. */
interface Span {
  readonly id: string;
  readonly parent?: string;
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes?: Readonly<Record<string, string>>;
}

/** Sends spans of `service` in trace `traceId` to Jaeger's OTLP/HTTP receiver, as JSON. */
async function send(jaeger: RunningJaeger, service: string, traceId: string, spans: Span[]) {
  const at = Date.now() - 60_000;
  const nanos = (ms: number) => `${String(at + ms)}000000`;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'mela-test' },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.id,
              ...(s.parent ? { parentSpanId: s.parent } : {}),
              name: s.name,
              kind: 2,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({
                key,
                value: { stringValue: value },
              })),
            })),
          },
        ],
      },
    ],
  };
  const answer = await fetch(`${jaeger.otlpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(answer.status, 200, await answer.text());
}

/**
 * Mela's trace viewer, as Jaeger serves it to a person (headless Chromium): a trace sent to a
 * real Jaeger over OTLP is drawn as a waterfall, each span under its parent, with its service,
 * and its attributes on a click.
 */
describe('the trace viewer Jaeger serves, in a real browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mela-viewer-'));
  let jaeger: RunningJaeger;
  let browser: Browser;
  before(async () => {
    jaeger = await startJaeger(join(dir, 'jaeger'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await jaeger.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when a trace is opened, then its spans are drawn in order under their parents, and a click shows a span’s attributes', async () => {
    const traceId = randomBytes(16).toString('hex');
    const id = () => randomBytes(8).toString('hex');
    const [request, cart, commit, consume] = [id(), id(), id(), id()];
    await send(jaeger, 'order', traceId, [
      { id: request, name: 'POST /api/orders', startMs: 0, endMs: 40 },
      { id: cart, parent: request, name: 'cart read', startMs: 2, endMs: 4 },
      {
        id: commit,
        parent: request,
        name: 'transaction customer/80-',
        startMs: 10,
        endMs: 30,
        attributes: { 'mela.shard': '80-', 'mela.vindex': 'xxhash' },
      },
    ]);
    await send(jaeger, 'notification', traceId, [
      { id: consume, parent: commit, name: 'orders process', startMs: 35, endMs: 90 },
    ]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Jaeger stores what it receives in batches: the page is opened once the trace is whole.
    await until(
      async () => {
        const answer = await fetch(`${jaeger.url}/api/traces/${traceId}`);
        if (answer.status !== 200) return false;
        const { data } = (await answer.json()) as { data: { spans: unknown[] }[] };
        return data[0]?.spans.length === 4;
      },
      'the trace in Jaeger',
      10_000,
    );
    await page.goto(`${jaeger.url}/#trace=${traceId}`);
    await page.waitForSelector('#trace .row');
    const rows = await page.locator('#trace .row .name').allInnerTexts();
    assert.deepEqual(rows, [
      'order: POST /api/orders',
      'order: cart read',
      'order: transaction customer/80-',
      'notification: orders process',
    ]);
    // Indented by depth: the consumer under the transaction, under the request.
    const names = page.locator('#trace .row .name');
    const indents = await Promise.all(rows.map((_row, i) => names.nth(i).getAttribute('style')));
    assert.deepEqual(indents, [
      'padding-left: 0rem;',
      'padding-left: 1.1rem;',
      'padding-left: 1.1rem;',
      'padding-left: 2.2rem;',
    ]);
    assert.match(await page.locator('header.trace').innerText(), /4 spans · order → notification/);

    await page.locator('#trace .row', { hasText: 'transaction customer/80-' }).click();
    const attributes = await page.locator('table.tags').innerText();
    assert.match(attributes, /mela\.shard\s+80-/);
    assert.match(attributes, /mela\.vindex\s+xxhash/);
    assert.deepEqual(errors, []);
  });
});
