import autocannon from 'autocannon';
import { httpRequest } from '@mela/toolchain';
import type { Action } from '../k6/shapes.js';

/** A shopper of a run: an id and the token it sends. */
export interface Shopper {
  readonly id: string;
  readonly token: string;
}

/** A random element of a non-empty list. */
export function pick<T>(list: readonly T[]): T {
  const item = list[Math.floor(Math.random() * list.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}

/** One autocannon instance at a fixed arrival rate, each request built by `next`. */
export async function cannon(options: {
  readonly url: string;
  readonly seconds: number;
  readonly rate: number;
  readonly connections: number;
  readonly next: () => { action: Action; request: autocannon.Request };
  readonly record: (action: Action, status: number, ms: number) => void;
}): Promise<void> {
  let answered: Action = 'home';
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        overallRate: options.rate,
        duration: Math.max(1, Math.round(options.seconds)),
        timeout: 10,
        requests: [
          {
            setupRequest: (_request, context: object) => {
              const { action, request } = options.next();
              (context as { action?: Action }).action = action;
              return request;
            },
            // Called for each answer just before autocannon's 'response' event, with the
            // context its request was built in: that is how a latency is put to its action.
            onResponse: (_status, _body, context: object) => {
              answered = (context as { action?: Action }).action ?? 'home';
            },
          },
        ],
      },
      (error: Error | null) => {
        if (error) reject(error);
        else resolve();
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      options.record(answered, status, ms);
    });
    instance.on('reqError', () => {
      options.record(answered, 0, 0);
    });
  });
}

/**
 * One request as a shopper sends it, on a connection of its own. node:http, not fetch: the
 * driver shares the machine with the shop, and during a sale's burst fetch cost it 0.43–0.47
 * ms of CPU per decision against 0.30 ms (docs/performance.md, twelfth step).
 */
export async function send(
  url: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const answer = await httpRequest(new URL(path, url).href, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: answer.status, body: answer.body };
}

export async function inBatches<T>(
  items: readonly T[],
  size: number,
  each: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size)
    await Promise.all(items.slice(i, i + size).map(each));
}

export async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
