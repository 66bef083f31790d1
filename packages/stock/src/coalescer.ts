/**
 * Group commit for one kind of write: `add` hands an item to `flush`; while one flush is on its
 * way, the items that arrive wait and go together in the next. Nothing waits for a timer, so
 * one item alone is sent at once, and under load many share one round trip.
 */
export class Coalescer<T> {
  readonly #flush: (items: readonly T[]) => Promise<unknown>;
  #waiting: { items: T[]; done: Promise<void> } | undefined;
  #inFlight: Promise<void> | undefined;

  constructor(flush: (items: readonly T[]) => Promise<unknown>) {
    this.#flush = flush;
  }

  /** Settles when the flush that carried `item` has: it fails if that flush failed. */
  add(item: T): Promise<void> {
    if (this.#waiting) {
      this.#waiting.items.push(item);
      return this.#waiting.done;
    }
    const items = [item];
    const done = (this.#inFlight ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        // From here on, new items wait for the next flush.
        this.#waiting = undefined;
        await this.#flush(items);
      });
    this.#waiting = { items, done };
    this.#inFlight = done;
    return done;
  }
}
