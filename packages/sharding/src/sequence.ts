import type { ShardTransaction } from './router.js';

/**
 * A Vitess-style sequence: a one-row table `(id, next_id, cache)` in an unsharded keyspace.
 * Each process reserves a block of `cache` ids in one short transaction and hands them out
 * from memory, so a global id costs a database round trip only once per block.
 */
export class Sequence {
  readonly #table: string;
  readonly #run: <T>(fn: (tx: ShardTransaction) => Promise<T>) => Promise<T>;
  #next = 0n;
  #end = 0n;
  #reserving: Promise<void> | undefined;

  constructor(options: {
    readonly table: string;
    readonly run: <T>(fn: (tx: ShardTransaction) => Promise<T>) => Promise<T>;
  }) {
    this.#table = options.table;
    this.#run = options.run;
  }

  /** The next id, as a decimal string (ids can exceed 2^53). */
  async next(): Promise<string> {
    while (this.#next >= this.#end) {
      this.#reserving ??= this.#reserve().finally(() => {
        this.#reserving = undefined;
      });
      await this.#reserving;
    }
    const id = this.#next;
    this.#next += 1n;
    return id.toString();
  }

  async #reserve(): Promise<void> {
    const [start, end] = await this.#run(async (tx) => {
      const rows = await tx.execute(
        `SELECT next_id, cache FROM \`${this.#table}\` WHERE id = 0 FOR UPDATE`,
      );
      const row = rows[0];
      if (!row) throw new Error(`sequence table ${this.#table} has no row with id 0`);
      const from = BigInt(String(row['next_id']));
      const cache = BigInt(String(row['cache']));
      if (cache < 1n)
        throw new Error(`sequence ${this.#table} has cache ${cache.toString()}; it must be ≥ 1`);
      await tx.execute(`UPDATE \`${this.#table}\` SET next_id = ? WHERE id = 0`, [
        (from + cache).toString(),
      ]);
      return [from, from + cache] as const;
    });
    this.#next = start;
    this.#end = end;
  }
}
