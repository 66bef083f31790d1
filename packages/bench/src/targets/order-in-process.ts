import { randomUUID } from 'node:crypto';
import { loadOrderConfig } from '@mela/order/config';
import { placeOrderSchema } from '@mela/order/order';
import { buildOrder } from '@mela/order/service';
import { inParallel } from '../parallel.js';
import { cpuSeconds, serveTarget } from './serve.js';

/**
 * The order service without its HTTP platform: the same wiring from the same environment
 * (`buildOrder`: the sharded database, Redis, the stock gate, the carts, the outbox relay and
 * the reservation sweeper), each order placed by calling `OrderService.place` for a user,
 * as `POST /api/orders` does once the token is verified and the body parsed. Beside the
 * service's own CPU per order, this one's is what HTTP, express, the token and the platform's
 * per-request work add.
 *
 * `POST /place` with `{"users": [...], "connections": N}` places one order for each user (their
 * carts filled), N at a time, and answers the time taken, each order's latency (ms), the
 * failures, and each order's id with its createdAt. `GET /cpu` answers this process's CPU.
 */
const config = loadOrderConfig(process.env);
const order = buildOrder(config);
order.relay?.start();
order.sweeper.start(config.sweepIntervalMs, () => undefined);
// What `POST /api/orders` makes of an empty body, as the bench's HTTP orders send.
const input = placeOrderSchema.parse({});

interface PlaceRequest {
  readonly users: readonly string[];
  readonly connections: number;
}

async function placeAll({ users, connections }: PlaceRequest) {
  const samples: number[] = [];
  const committed: [string, number][] = [];
  const failures: string[] = [];
  const started = performance.now();
  await inParallel(users, connections, async (userId) => {
    const t0 = performance.now();
    try {
      const placed = await order.orders.place({
        userId,
        key: randomUUID(),
        input,
        cart: order.cartOf(userId),
      });
      samples.push(performance.now() - t0);
      committed.push([placed.order.id, Date.parse(placed.order.createdAt)]);
    } catch (error) {
      failures.push(String(error));
    }
  });
  return { seconds: (performance.now() - started) / 1000, samples, failures, committed };
}

serveTarget((req, res) => {
  const answer = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/cpu') {
    answer(200, cpuSeconds());
    return;
  }
  if (req.method !== 'POST' || req.url !== '/place') {
    answer(404, { error: 'GET /cpu or POST /place' });
    return;
  }
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (text += chunk));
  req.on('end', () => {
    placeAll(JSON.parse(text) as PlaceRequest).then(
      (placed) => answer(200, placed),
      (error: unknown) => answer(500, { error: String(error) }),
    );
  });
});
