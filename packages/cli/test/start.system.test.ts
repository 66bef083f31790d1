import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePorts, httpRequest, isListening, repoRoot, stopChild, until } from '@mela/toolchain';
import { localTopology, replicaPorts } from '@mela/topology';

/**
 * `npm start` as a newcomer runs it (the CLI behind it, packages/cli), on ports of the test's own:
 * the shop must answer through the edge as soon as it says it is running, and Ctrl-C must stop
 * every replica and nginx.
 */
describe('npm start: the whole shop behind the edge', () => {
  const children: ReturnType<typeof spawn>[] = [];
  // When a check failed before Ctrl-C: SIGINT first, so npm start stops its replicas, nginx and
  // Prometheus (they run detached) — SIGKILL would leave them behind.
  after(() => Promise.all(children.map((child) => stopChild(child, 'SIGINT'))));

  it('when it says the shop is running, then the storefront and the API answer through the edge; Ctrl-C stops everything', async () => {
    const names = [
      'MELA_EDGE_PORT',
      'MELA_CATALOG_PORT',
      'MELA_CART_PORT',
      'MELA_ORDER_PORT',
      'MELA_NOTIFICATION_PORT',
      'MELA_MAILBOX_SMTP_PORT',
      'MELA_MAILBOX_HTTP_PORT',
      'MELA_PROMETHEUS_PORT',
    ] as const;
    const ports = await shopPorts(names);
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=TimeoutNegativeWarning',
        join(repoRoot, 'packages/cli/dist/src/cli.js'),
        'start',
      ],
      {
        env: {
          ...process.env,
          ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
          // Used when the checkout has no .mela/local.env yet (node --test without npm test).
          AUTH_JWT_SECRET: 'x'.repeat(40),
          AUTH_DEV_TOKENS: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
        return output.includes('Mela is running');
      },
      'npm start to say the shop is running',
      90_000,
    );
    const edge = `http://127.0.0.1:${String(ports.MELA_EDGE_PORT)}`;
    assert.match(output, new RegExp(`storefront ${edge}/`));

    const page = await httpRequest(`${edge}/`);
    const products = await httpRequest(`${edge}/api/catalog/products?limit=3`);

    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /<title>Mela/);
    assert.equal(products.status, 200, products.body);
    const prometheus = `http://127.0.0.1:${String(ports.MELA_PROMETHEUS_PORT)}`;
    assert.match(output, new RegExp(`metrics +${prometheus}/`));
    // Every replica of the four services, scraped and up.
    await until(
      async () => {
        const targets = (await (await fetch(`${prometheus}/api/v1/targets`)).json()) as {
          data: { activeTargets: { health: string }[] };
        };
        const up = targets.data.activeTargets.filter((t) => t.health === 'up');
        return up.length === 8;
      },
      'Prometheus to scrape the eight replicas',
      15_000,
    );
    assert.equal((JSON.parse(products.body) as { items: unknown[] }).items.length, 3);
    const catalogReplicas = [ports.MELA_CATALOG_PORT + 100, ports.MELA_CATALOG_PORT + 200];
    for (const port of catalogReplicas)
      assert.equal((await httpRequest(`http://127.0.0.1:${String(port)}/readyz`)).status, 200);

    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, output);
    for (const url of [
      `${edge}/`,
      `http://127.0.0.1:${String(catalogReplicas[0])}/livez`,
      `${prometheus}/-/ready`,
    ])
      await assert.rejects(httpRequest(url), /ECONNREFUSED/, `${url} still answers`);
  });
});

/**
 * Free ports for `names`, such that the replicas' ports npm start derives from each service's
 * (its port + 100, + 200) are free too and collide with none of them: one CI run drew an order
 * port whose second replica's was the cart's.
 */
async function shopPorts<Name extends string>(
  names: readonly Name[],
): Promise<Record<Name, number>> {
  for (;;) {
    const free = await freePorts(names.length);
    const ports = Object.fromEntries(names.map((name, i) => [name, free[i] ?? 0])) as Record<
      Name,
      number
    >;
    const env = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));
    const replicas = Object.values(localTopology({ ...process.env, ...env }).services).flatMap(
      replicaPorts,
    );
    const all = [...free, ...replicas];
    if (new Set(all).size !== all.length) continue;
    const taken = await Promise.all(replicas.map((port) => isListening(port)));
    if (!taken.includes(true)) return ports;
  }
}
