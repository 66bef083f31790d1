import { readFileSync } from 'node:fs';
import { replicaPorts, type LocalTopology } from '@mela/topology';
import { kafkaDependency } from './kafka.js';
import { mariadbDependency } from './mariadb.js';
import { paths } from '@mela/toolchain';
import { until } from '@mela/toolchain';
import { redisDependency } from './redis.js';

/** What a shopper does in a drill: look at a product, add it to the cart, check out. */
export type DrillAction = 'browse' | 'cart' | 'order';

/**
 * One part of the shop taken away and brought back. `disrupts` is what docs/failure-modes.md
 * lets shoppers see meanwhile: those actions may answer 503 (with Retry-After) until it is back;
 * anything else that is not 2xx/4xx is a failure of the drill.
 */
export interface Fault {
  readonly name: string;
  readonly disrupts: readonly DrillAction[];
  /** Takes it away; resolves once it is gone. */
  inject(): Promise<void>;
  /** Brings it back; resolves once it serves again. */
  restore(): Promise<void>;
}

/** A replica of `npm start`: SIGKILLed by its pid; `npm start` starts it again (as a Deployment would). */
export function replicaCrash(
  name: string,
  readyUrl: string,
  disrupts: readonly DrillAction[],
): Fault {
  let killed: number | undefined;
  return {
    name: `replica ${name} (SIGKILL)`,
    disrupts,
    inject() {
      const pid = Number(readFileSync(paths.pid(name), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      killed = pid;
      return Promise.resolve();
    },
    async restore() {
      // Started again by its supervisor: a new pid, and ready.
      await until(
        async () => {
          const pid = Number(readFileSync(paths.pid(name), 'utf8').trim() || '0');
          if (pid === 0 || pid === killed) return false;
          return (await fetch(`${readyUrl}/readyz`).catch(() => undefined))?.status === 200;
        },
        `${name} to be started again`,
        60_000,
      ).catch((error: unknown) => {
        throw new Error(`${name} did not come back: is npm start running? (${String(error)})`);
      });
    },
  };
}

/**
 * The drills `npm run drill` runs against `npm start`, in order: the mail relay, Kafka, the
 * cache Redis, the carts' Redis, one customer shard, an order replica.
 */
export function localFaults(topology: LocalTopology): Fault[] {
  const mailbox = `http://${topology.host}:${String(topology.mailbox.httpPort)}`;
  const smtp = async (action: 'stop' | 'start') => {
    const res = await fetch(`${mailbox}/smtp/${action}`, { method: 'POST' });
    if (res.status !== 204) throw new Error(`the mailbox refused /smtp/${action}: ${res.status}`);
  };
  const dependency = (
    name: string,
    server: { down(): Promise<void>; up(): Promise<void> },
    disrupts: readonly DrillAction[],
  ): Fault => ({ name, disrupts, inject: () => server.down(), restore: () => server.up() });
  const shard = topology.mysql.instances.find(
    (i) => i.keyspace === 'customer' && i.shard === '80-',
  );
  if (shard === undefined) throw new Error('the local topology has no customer/80- shard');
  const orderReplica = `http://${topology.host}:${String(replicaPorts(topology.services.order)[0])}`;
  return [
    {
      name: 'mail relay (SMTP)',
      disrupts: [],
      inject: () => smtp('stop'),
      restore: () => smtp('start'),
    },
    dependency('Kafka', kafkaDependency(topology), []),
    dependency('cache Redis', redisDependency(topology, 'cache'), ['order']),
    dependency("carts' Redis", redisDependency(topology, 'carts'), ['cart', 'order']),
    dependency('customer shard 80-', mariadbDependency(topology, shard), ['order']),
    replicaCrash('order-1', orderReplica, ['order']),
  ];
}
