import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DependencyUnavailableError, UnauthorizedError } from '@mela/platform';
import { blackHole, deadPort } from '@mela/testkit';
import { CartClient } from '../src/adapters/cart.client.js';

/** A stand-in cart answering what the test asks, recording what it was asked. */
describe('the order service’s cart client, against real sockets', () => {
  const asked: { method: string; authorization: string | undefined }[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '{}' };
  let server: Server;
  let client: CartClient;

  before(async () => {
    server = createServer((req, res) => {
      asked.push({ method: req.method ?? '', authorization: req.headers.authorization });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new CartClient({ baseUrl: `http://127.0.0.1:${String(port)}/`, timeoutMs: 500 });
  });
  after(async () => {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('when the cart answers, then its lines are read and it is cleared with the caller’s own token, on one kept-alive connection', async () => {
    answer = {
      status: 200,
      body: JSON.stringify({ items: [{ productId: '7', quantity: 2, name: 'x' }] }),
    };
    const cart = client.of('Bearer shopper-token');
    const connections = new Set<unknown>();
    server.on('connection', (socket) => connections.add(socket));

    assert.deepEqual(await cart.lines(), [{ productId: '7', quantity: 2 }]);
    answer = { status: 204, body: '' };
    await cart.clear();

    assert.deepEqual(asked.slice(-2), [
      { method: 'GET', authorization: 'Bearer shopper-token' },
      { method: 'DELETE', authorization: 'Bearer shopper-token' },
    ]);
    assert.ok(connections.size <= 1, `${String(connections.size)} connections for two calls`);
  });

  it('when a burst of checkouts reads carts at once, then the calls share a bounded set of connections and every one is answered', async () => {
    answer = { status: 200, body: JSON.stringify({ items: [] }) };
    const { port } = server.address() as AddressInfo;
    const bounded = new CartClient({
      baseUrl: `http://127.0.0.1:${String(port)}/`,
      timeoutMs: 5000,
      maxConnections: 4,
    });
    const connections = new Set<unknown>();
    const count = (socket: unknown) => connections.add(socket);
    server.on('connection', count);
    try {
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => bounded.of(`Bearer buyer-${String(i)}`).lines()),
      );
      assert.equal(answers.length, 200);
      assert.ok(connections.size <= 4, `${String(connections.size)} connections for 200 calls`);
    } finally {
      server.off('connection', count);
      bounded.close();
    }
  });

  it('when the cart refuses the token, then the caller is unauthorized', async () => {
    answer = { status: 401, body: '{"code":"unauthorized"}' };
    await assert.rejects(client.of('Bearer stale').lines(), UnauthorizedError);
  });

  it('when the cart fails, answers garbage, is not there or does not answer in time, then the cart is a dependency unavailable', async () => {
    answer = { status: 500, body: '{}' };
    await assert.rejects(client.of('Bearer t').lines(), DependencyUnavailableError);
    answer = { status: 200, body: '<html>' };
    await assert.rejects(client.of('Bearer t').lines(), DependencyUnavailableError);

    const nowhere = new CartClient({
      baseUrl: `http://127.0.0.1:${String(await deadPort())}`,
      timeoutMs: 500,
    });
    await assert.rejects(nowhere.of('Bearer t').lines(), DependencyUnavailableError);
    nowhere.close();

    const hole = await blackHole();
    const hung = new CartClient({
      baseUrl: `http://127.0.0.1:${String(hole.port)}`,
      timeoutMs: 200,
    });
    try {
      // Without its own timeout this would wait for the test runner's.
      await assert.rejects(hung.of('Bearer t').lines(), DependencyUnavailableError);
    } finally {
      hung.close();
      await hole.close();
    }
  });
});
