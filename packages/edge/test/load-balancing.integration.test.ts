import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { acceptBacklog, heldBacklog, httpRequest, onLoopback, until } from '@mela/toolchain';
import { listenBacklog, type LoadBalancing } from '@mela/topology';
import {
  principalHeader,
  startOwnEdge,
  type EdgeOptions,
  type EdgeUpstream,
  type OwnEdge,
} from '../src/index.js';

/** A replica behind the edge: answers with its number, counts what reached it. */
interface Replica {
  readonly index: number;
  readonly address: string;
  hits: number;
  /** TCP connections the edge opened to it. */
  connections: number;
  /** The Host header each request arrived with. */
  readonly hosts: (string | undefined)[];
  /** The X-Forwarded-For each request arrived with. */
  readonly forwardedFor: (string | undefined)[];
  /** Dies: stops listening and drops its connections, as a killed process would. */
  kill(): Promise<void>;
}

async function startReplicas(count: number, answerAfterMs: readonly number[] = []) {
  return Promise.all(
    Array.from({ length: count }, async (_, index): Promise<Replica> => {
      const sockets = new Set<Socket>();
      const server: Server = createServer((req, res) => {
        replica.hits += 1;
        replica.hosts.push(req.headers.host);
        const forwarded = req.headers['x-forwarded-for'];
        replica.forwardedFor.push(Array.isArray(forwarded) ? forwarded.join(',') : forwarded);
        const answer = () => res.setHeader('content-type', 'application/json').end(`${index}`);
        const wait = answerAfterMs[index] ?? 0;
        if (wait > 0) setTimeout(answer, wait);
        else answer();
      });
      server.on('connection', (socket) => {
        replica.connections += 1;
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      const replica: Replica = {
        index,
        address: `127.0.0.1:${String(port)}`,
        hits: 0,
        connections: 0,
        hosts: [],
        forwardedFor: [],
        async kill() {
          const closed = once(server, 'close');
          server.close();
          for (const socket of sockets) socket.destroy();
          await closed;
        },
      };
      return replica;
    }),
  );
}

const path = '/api/catalog/products';

/** A GET with the path sent exactly as given (no URL parsing resolves dots or escapes). */
async function rawGet(base: string, rawPath: string): Promise<{ status: number; type: string }> {
  const { hostname, port } = new URL(base);
  const req = request({ host: hostname, port, path: rawPath, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.resume();
  await once(res, 'end');
  return { status: res.statusCode ?? 0, type: String(res.headers['content-type']) };
}

describe('load balancing at the edge (real nginx)', () => {
  const running: { stop(): Promise<void> }[] = [];
  after(() => Promise.all(running.map((r) => r.stop())));

  async function edgeOver(
    replicas: readonly Replica[],
    loadBalancing: LoadBalancing,
    extra: Partial<EdgeUpstream & { internal: boolean }> = {},
  ): Promise<OwnEdge> {
    const edge = await startOwnEdge({
      catalog: { servers: replicas.map((r) => r.address), loadBalancing, ...extra },
    });
    running.push(edge, ...replicas.map((r) => ({ stop: () => r.kill() })));
    return edge;
  }

  async function sequential(edge: OwnEdge, count: number, query = ''): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i += 1)
      statuses.push((await httpRequest(`${edge.url}${path}${query}`)).status);
    return statuses;
  }

  it('when the algorithm is round robin, then replicas take turns: equal counts', async () => {
    const replicas = await startReplicas(3);
    const edge = await edgeOver(replicas, { algorithm: 'round-robin' });

    await sequential(edge, 90);

    assert.deepEqual(
      replicas.map((r) => r.hits),
      [30, 30, 30],
    );
  });

  it("when the edge listens, then the kernel holds up to listenBacklog waiting connections on its own and its internal ports, not nginx's 511", async () => {
    const replicas = await startReplicas(1);
    const edge = await edgeOver(replicas, { algorithm: 'round-robin' }, { internal: true });
    const ports = [edge.port, Number(edge.internal.catalog?.split(':')[1])];

    assert.deepEqual(
      ports.map((port) => acceptBacklog(port)),
      ports.map(() => heldBacklog(listenBacklog)),
    );
  });

  it('when clients send many requests, then the edge reuses its connections to the replica and passes the client Host', async () => {
    const [replica] = await startReplicas(1);
    assert.ok(replica);
    const edge = await edgeOver([replica], { algorithm: 'round-robin' });

    const statuses = await sequential(edge, 100);

    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(replica.hits, 100);
    // One pool per nginx worker (one per core): a handful of connections, not one per request.
    assert.ok(replica.connections <= 4, `${String(replica.connections)} upstream connections`);
    assert.deepEqual(new Set(replica.hosts), new Set(['127.0.0.1']));
  });

  it('when the algorithm is weighted 3:1, then the first replica takes three requests in four', async () => {
    const replicas = await startReplicas(2);
    const edge = await edgeOver(replicas, { algorithm: 'weighted', weights: [3, 1] });

    await sequential(edge, 200);

    assert.deepEqual(
      replicas.map((r) => r.hits),
      [150, 50],
    );
  });

  it('when the algorithm is least connections, then a slow replica gets few requests, round robin would give it half', async () => {
    const replicas = await startReplicas(2, [250, 0]);
    const edge = await edgeOver(replicas, { algorithm: 'least-conn' });

    // Eight clients in a loop for a while: the slow replica always has requests in flight.
    const deadline = Date.now() + 1500;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < deadline) await httpRequest(`${edge.url}${path}`);
      }),
    );

    const [slow, fast] = replicas.map((r) => r.hits) as [number, number];
    assert.ok(fast > 100, `the fast replica took ${String(fast)}`);
    assert.ok(
      slow < (slow + fast) * 0.1,
      `the slow replica took ${String(slow)} of ${String(slow + fast)}`,
    );
  });

  it('when the algorithm is IP hash, then each client keeps its replica and clients spread over all', async () => {
    const replicas = await startReplicas(2);
    const edge = await edgeOver(replicas, { algorithm: 'ip-hash' });

    const seen = new Map<string, Set<string>>();
    for (let client = 2; client <= 41; client += 1) {
      const localAddress = `127.0.0.${String(client)}`;
      for (let i = 0; i < 4; i += 1) {
        const { body } = await httpRequest(`${edge.url}${path}`, { localAddress });
        seen.set(localAddress, (seen.get(localAddress) ?? new Set()).add(body));
      }
    }

    assert.deepEqual(
      [...seen.values()].filter((replicasOfClient) => replicasOfClient.size !== 1),
      [],
    );
    assert.ok(
      replicas.every((r) => r.hits >= 4 * 5),
      `hits ${replicas.map((r) => r.hits).join('/')}`,
    );
  });

  it('when a replica is killed, then one request finds it dead, goes to the other, and it gets no traffic after', async () => {
    const replicas = await startReplicas(2);
    const [, dying] = replicas as [Replica, Replica];
    const edge = await edgeOver(replicas, { algorithm: 'round-robin' });
    await sequential(edge, 4);

    await dying.kill();
    const statuses = await sequential(edge, 40, '?after-kill');

    assert.deepEqual(new Set(statuses), new Set([200]));
    // nginx logs a request after answering it: wait for all forty lines.
    const afterKill = () => edge.log().filter((entry) => entry.uri.endsWith('?after-kill'));
    await until(() => afterKill().length === 40, 'the access log');
    const tried = afterKill().filter((entry) => entry.upstreams.includes(dying.address));
    assert.equal(tried.length, 1, JSON.stringify(tried));
    assert.deepEqual(tried[0]?.upstreams, [dying.address, replicas[0]?.address]);
  });

  it('when every replica is dead, then the edge answers 503 problem+json with Retry-After', async () => {
    const replicas = await startReplicas(2);
    const edge = await edgeOver(replicas, { algorithm: 'round-robin' });
    await Promise.all(replicas.map((r) => r.kill()));

    const response = await httpRequest(`${edge.url}${path}`);

    assert.equal(response.status, 503);
    assert.equal(response.headers['content-type'], 'application/problem+json');
    assert.equal(response.headers['retry-after'], '5');
    assert.equal((JSON.parse(response.body) as { code: string }).code, 'upstream_unavailable');
  });

  it('when a client sends its own X-Forwarded-For, then the edge replaces it; the internal balancer passes it on', async () => {
    const replicas = await startReplicas(1);
    const edge = await edgeOver(replicas, { algorithm: 'round-robin' }, { internal: true });
    const spoofed = { headers: { 'X-Forwarded-For': '203.0.113.9' } };

    await httpRequest(`${edge.url}${path}`, { ...spoofed, localAddress: '127.0.0.7' });
    await httpRequest(`http://${edge.internal.catalog ?? ''}${path}`);
    await httpRequest(`http://${edge.internal.catalog ?? ''}${path}`, spoofed);

    assert.deepEqual(replicas[0]?.forwardedFor, ['127.0.0.7', undefined, '203.0.113.9']);
  });

  it('when operations endpoints are asked for at the edge, then they are not found', async () => {
    const replicas = await startReplicas(1);
    const edge = await edgeOver(replicas, { algorithm: 'round-robin' });

    const spellings = [
      ...['/metrics', '/livez', '/readyz'],
      ...['/METRICS', '/Livez', '/ReadyZ', '/metrics/', '/readyz/', '/livez/x'],
      ...['//metrics', '/./metrics', '/api/../metrics', '/%6Detrics', '/metrics%2F', '/%2E/readyz'],
    ];
    for (const spelling of spellings) {
      const answer = await rawGet(edge.url, spelling);
      assert.equal(answer.status, 404, spelling);
      assert.equal(answer.type, 'application/problem+json', spelling);
    }
    assert.equal(replicas[0]?.hits, 0);
  });
});

/** An order replica that records when each request arrived and how many it held at once. */
async function startOrderReplica(answerAfterMs: number) {
  const arrivals: number[] = [];
  const methods: string[] = [];
  let active = 0;
  let mostActive = 0;
  const server = createServer((req, res) => {
    arrivals.push(performance.now());
    methods.push(req.method ?? '');
    // Checkouts held at once (reads are not the room's to pace).
    const checkout = req.method === 'POST' ? 1 : 0;
    active += checkout;
    mostActive = Math.max(mostActive, active);
    setTimeout(() => {
      active -= checkout;
      res.setHeader('content-type', 'application/json').end(`{"method":"${req.method ?? ''}"}`);
    }, answerAfterMs);
  });
  const { address, close } = await onLoopback(server);
  return {
    address,
    arrivals,
    /** How many requests of this method have arrived so far. */
    arrived: (method: string) => methods.filter((m) => m === method).length,
    /** The method of the i-th arrival. */
    method: (i: number) => methods[i],
    /** The most checkouts it held at once. */
    mostActive: () => mostActive,
    stop: close,
  };
}

/** An order replica that answers nothing until `release()`: what it holds stays in flight. */
async function startHoldingReplica() {
  const waiting: ServerResponse[] = [];
  const release = () => {
    for (const res of waiting.splice(0))
      res.setHeader('content-type', 'application/json').end('{}');
  };
  const server = createServer((_req, res) => {
    waiting.push(res);
  });
  const { address, close } = await onLoopback(server);
  return {
    address,
    holding: () => waiting.length,
    release,
    stop: () => {
      release();
      server.closeAllConnections();
      return close();
    },
  };
}

/**
 * The catalog's `/api/auth/me` as the edge sees it: `Bearer ok-<user>` is a valid token of
 * `<user>` (answered with the user's key in Mela-Principal), anything else 401. Counts asks.
 */
async function startAuthReplica() {
  let asked = 0;
  const server = createServer((req, res) => {
    asked += 1;
    const user = /^Bearer ok-(\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (req.url !== '/api/auth/me' || user === undefined) {
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end('{}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', [principalHeader]: user }).end('{}');
  });
  const { address, close } = await onLoopback(server);
  return { address, asked: () => asked, stop: close };
}

describe('the checkout waiting room at the edge (real nginx)', () => {
  const running: { stop(): Promise<void> }[] = [];
  after(() => Promise.all(running.map((r) => r.stop())));

  /** An edge with one order replica and the stand-in catalog answering who is signed in. */
  async function room(answerAfterMs: number, checkoutQueue: EdgeOptions['checkoutQueue']) {
    const replica = await startOrderReplica(answerAfterMs);
    const auth = await startAuthReplica();
    const lb = { loadBalancing: { algorithm: 'least-conn' } } as const;
    const edge = await startOwnEdge(
      { order: { servers: [replica.address], ...lb }, catalog: { servers: [auth.address], ...lb } },
      { checkoutQueue },
    );
    running.push(edge, replica, auth);
    return { replica, auth, edge };
  }
  const checkout = (edge: OwnEdge, user?: string) =>
    httpRequest(`${edge.url}/api/orders`, {
      method: 'POST',
      body: '{}',
      headers: user === undefined ? {} : { authorization: `Bearer ${user}` },
    });

  it('when a burst of checkouts arrives at once, then every one is answered, fed to the order replica at the room’s rate, and GETs skip the queue', async () => {
    const { replica, edge } = await room(20, { ratePerSecond: 20, burst: 100 });

    const burst = Promise.all(
      Array.from({ length: 30 }, (_, i) => checkout(edge, `ok-buyer-${String(i)}`)),
    );
    // While the room is still feeding the burst to the replica (about 1.5 s), 20 reads.
    await until(() => replica.arrived('POST') >= 1, 'the first checkout at the replica', 10_000);
    const reads = await Promise.all(
      Array.from({ length: 20 }, () => httpRequest(`${edge.url}/api/orders`)),
    );
    const checkoutsPastTheRoom = replica.arrived('POST');
    const checkouts = await burst;
    const heldAtOnce = replica.mostActive();

    assert.deepEqual(
      reads.map((a) => a.status),
      Array.from({ length: 20 }, () => 200),
    );
    assert.ok(
      checkoutsPastTheRoom < 30,
      'the reads were answered while checkouts still waited in the room (they did not queue behind them)',
    );
    assert.deepEqual(
      checkouts.map((a) => a.status),
      Array.from({ length: 30 }, () => 200),
    );
    // 30 checkouts at 20 per second: the last comes at least ~1.4 s after the first (nginx
    // spaces them 50 ms apart), and the replica never held more than a couple at once.
    const posts = replica.arrivals.filter((_, i) => replica.method(i) === 'POST');
    const spread = (posts.at(-1) ?? 0) - (posts[0] ?? 0);
    assert.ok(spread >= 29 * 50 * 0.9, `checkouts spread over ${spread.toFixed(0)} ms`);
    assert.ok(heldAtOnce <= 3, `the replica held ${String(heldAtOnce)} checkouts at once`);
  });

  it('when the room is full, then the late checkouts get 503 problem+json with Retry-After and never reach the replica', async () => {
    // One a second: a late arrival would have to be a whole second late to find a free place.
    const { replica, edge } = await room(20, { ratePerSecond: 1, burst: 3 });

    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => checkout(edge, `ok-buyer-${String(i)}`)),
    );
    const refused = answers.filter((a) => a.status === 503);

    assert.equal(
      answers.filter((a) => a.status === 200).length,
      4,
      'one at once plus a queue of 3',
    );
    assert.equal(refused.length, 8);
    assert.equal(replica.arrivals.length, 4);
    for (const answer of refused) {
      assert.equal(answer.headers['retry-after'], '5');
      assert.match(String(answer.headers['content-type']), /application\/problem\+json/);
      assert.equal((JSON.parse(answer.body) as { code: string }).code, 'checkout_queue_full');
    }
  });
  it('when a checkout has no token or a token the catalog refuses, then 401 problem+json at once, and it never takes a place', async () => {
    const { replica, auth, edge } = await room(20, { ratePerSecond: 1, burst: 1 });

    const anonymous = await checkout(edge);
    const basic = await httpRequest(`${edge.url}/api/orders`, {
      method: 'POST',
      body: '{}',
      headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    });
    const forged = await Promise.all(Array.from({ length: 5 }, () => checkout(edge, 'forged')));

    for (const answer of [anonymous, basic, ...forged]) {
      assert.equal(answer.status, 401);
      assert.equal(answer.headers['content-type'], 'application/problem+json');
      assert.equal(answer.headers['www-authenticate'], 'Bearer');
    }
    assert.equal(auth.asked(), 5, 'only the forged tokens were checked');
    assert.equal(replica.arrivals.length, 0);
    // The room is as empty as before: a real buyer goes straight through.
    assert.equal((await checkout(edge, 'ok-real-buyer')).status, 200);
  });

  it('when one user sends many checkouts at once, then they hold at most their share of places and other users still get in', async () => {
    // A replica that keeps every checkout until released: the user's places stay taken while
    // the rest of their checkouts arrive, however the machine schedules them.
    const held = await startHoldingReplica();
    const auth = await startAuthReplica();
    const lb = { loadBalancing: { algorithm: 'least-conn' } } as const;
    const edge = await startOwnEdge(
      { order: { servers: [held.address], ...lb }, catalog: { servers: [auth.address], ...lb } },
      { checkoutQueue: { ratePerSecond: 100, burst: 50, perUser: 2 } },
    );
    running.push(edge, held, auth);
    const greedy: { status: number; body: string }[] = [];

    const pending = Array.from({ length: 10 }, () =>
      checkout(edge, 'ok-greedy').then((answer) => greedy.push(answer)),
    );
    await until(
      () => greedy.length === 8 && held.holding() === 2,
      'two places taken and the rest refused',
      10_000,
    );
    const other = checkout(edge, 'ok-patient');
    await until(() => held.holding() === 3, 'another user in', 10_000);
    held.release();
    await Promise.all(pending);

    assert.equal((await other).status, 200);
    assert.equal(greedy.filter((a) => a.status === 200).length, 2);
    const busy = greedy.filter((a) => a.status === 429);
    assert.equal(busy.length, 8);
    for (const answer of busy)
      assert.equal((JSON.parse(answer.body) as { code: string }).code, 'checkout_in_progress');
  });
});
