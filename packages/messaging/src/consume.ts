import { setTimeout as sleep } from 'node:timers/promises';
import { MessagesStreamFallbackModes, MessagesStreamModes } from '@platformatic/kafka';
import type { EventConsumer, EventMessage } from './kafka-config.js';

export interface ConsumeInOrderOptions {
  readonly consumer: EventConsumer;
  readonly topic: string;
  /** Partitions handled at the same time, each strictly in order. @default 3 */
  readonly concurrency?: number;
  /** Messages fetched ahead of their handling before the fetching pauses. @default 500 */
  readonly buffered?: number;
  /**
   * Handles one message. Its offset is committed (see {@link commitEvery}) once this resolves; when
   * it throws, the same message is handled again after a back-off (the partition waits,
   * nothing is skipped).
   */
  readonly handle: (message: EventMessage) => Promise<void>;
  /** A handler that threw, a commit that failed, or the consumer that lost Kafka. */
  readonly onError: (error: unknown, context: { readonly message?: EventMessage }) => void;
}

export interface InOrderConsumption {
  /** Stops fetching, lets the messages in hand finish, commits and leaves the group. */
  stop(): Promise<void>;
}

/**
 * Offsets are committed after the messages they cover were handled: after this many messages
 * of a partition, or {@link commitIntervalMs} after the first of them, whichever comes first,
 * and when stopping.
 */
const commitEvery = 100;
const commitIntervalMs = 200;

interface PartitionState {
  readonly queue: EventMessage[];
  /** The next offset to take from a fetch: anything below it was queued (or handled) already. */
  next: bigint;
  busy: boolean;
  /** The last message handled, and how many were handled since the last commit. */
  handled?: EventMessage | undefined;
  uncommitted: number;
  commitTimer?: NodeJS.Timeout | undefined;
}

/**
 * Consumes `topic` in a consumer group, each partition in offset order and up to `concurrency`
 * partitions at a time, committing a message's offset only after it was handled — at least
 * once, never skipped.
 *
 * Commits go at most every `commitIntervalMs` per partition rather than one per message, as the
 * Java client's auto-commit does: a commit is a request to the group coordinator, and on a busy
 * machine those cost the shop CPU; a crash hands the next member at most that window again
 * (delivery is at least once anyway, and handlers dedupe).
 *
 * The stream is consumed again (from the committed offsets) when it ends with an error, and a
 * message fetched twice (a rebalance refetches from the committed offset) is handled once.
 */
export async function consumeInOrder(options: ConsumeInOrderOptions): Promise<InOrderConsumption> {
  const { consumer, topic, handle, onError } = options;
  const concurrency = options.concurrency ?? 3;
  const buffered = options.buffered ?? 500;
  const stopping = new AbortController();
  // A function, not the property: the compiler would take it as unchanged across awaits.
  const stopped = () => stopping.signal.aborted;
  const partitions = new Map<number, PartitionState>();
  const working = new Set<Promise<void>>();
  let queued = 0;
  let stream: Awaited<ReturnType<EventConsumer['consume']>> | undefined;

  const open = () =>
    consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });

  /** Commits the last message handled in the partition, if it is not committed yet. */
  const commit = (state: PartitionState) => {
    clearTimeout(state.commitTimer);
    state.commitTimer = undefined;
    const message = state.handled;
    if (!message || state.uncommitted === 0) return;
    state.uncommitted = 0;
    // The library merges commits per partition and keeps the highest: a later message's
    // commit covers an earlier one whose request failed.
    void Promise.resolve(message.commit()).catch((error: unknown) => {
      onError(error, { message });
    });
  };

  const drain = async (state: PartitionState) => {
    for (let message = state.queue[0]; message; message = state.queue[0]) {
      for (let backoff = 200; ; backoff = Math.min(backoff * 2, 10_000)) {
        if (stopped()) return;
        try {
          await handle(message);
          break;
        } catch (error) {
          if (stopped()) return;
          onError(error, { message });
          await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => undefined);
        }
      }
      state.queue.shift();
      queued -= 1;
      state.handled = message;
      state.uncommitted += 1;
      if (state.uncommitted >= commitEvery) commit(state);
      else state.commitTimer ??= setTimeout(() => commit(state), commitIntervalMs).unref();
      if (stream?.isPaused() && queued <= buffered / 2) stream.resume();
    }
  };

  const pump = () => {
    for (const state of partitions.values()) {
      if (working.size >= concurrency) return;
      if (state.busy || state.queue.length === 0) continue;
      state.busy = true;
      const work = drain(state).finally(() => {
        state.busy = false;
        working.delete(work);
        if (!stopped()) pump();
      });
      working.add(work);
    }
  };

  const take = (message: EventMessage) => {
    let state = partitions.get(message.partition);
    if (!state) {
      state = { queue: [], next: message.offset, busy: false, uncommitted: 0 };
      partitions.set(message.partition, state);
    }
    if (message.offset < state.next) return;
    state.next = message.offset + 1n;
    state.queue.push(message);
    queued += 1;
    if (queued >= buffered) stream?.pause();
    pump();
  };

  // The first subscription's failure is the caller's (Kafka unreachable at start-up).
  stream = await open();
  const running = (async () => {
    let backoff = 500;
    const wait = async () => {
      await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, 10_000);
    };
    while (!stopped()) {
      if (!stream) {
        try {
          stream = await open();
          backoff = 500;
        } catch (error) {
          onError(error, {});
          await wait();
          continue;
        }
      }
      const current = stream;
      current.on('data', take);
      await new Promise<void>((resolve) => {
        current.once('error', (error: Error) => {
          if (!stopped()) onError(error, {});
          resolve();
        });
        current.once('close', resolve);
        stopping.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      current.off('data', take);
      if (stopped()) return;
      stream = undefined;
      await wait();
    }
  })();

  return {
    async stop() {
      if (stopped()) return;
      stream?.pause();
      stopping.abort();
      await running;
      await Promise.all(working);
      for (const state of partitions.values()) commit(state);
      // Closing the stream sends the commits still queued; closing the consumer leaves the group.
      await stream?.close().catch((error: unknown) => onError(error, {}));
      await consumer.close();
    },
  };
}
