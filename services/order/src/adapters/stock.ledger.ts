import type { ShardedDatabase } from '@mela/sharding';
import { StockLedger } from '@mela/stock';
import type { ProductFacts } from '../domain/order.js';
import type { StockLedger as StockLedgerPort } from '../domain/ports.js';

const commerce = { keyspace: 'commerce' } as const;

/**
 * The order's view of the commerce keyspace: `@mela/stock`'s ledger (the one writer of
 * `products.stock`) plus the product facts an order is priced from.
 */
export class MysqlStockLedger extends StockLedger implements StockLedgerPort {
  readonly #db: ShardedDatabase;

  constructor(options: ConstructorParameters<typeof StockLedger>[0]) {
    super(options);
    this.#db = options.db;
  }

  async products(ids: readonly string[]): Promise<ReadonlyMap<string, ProductFacts>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#db.execute(
      commerce,
      'SELECT id, name, price_cents, currency FROM products WHERE id IN (?)',
      [ids],
    );
    return new Map(
      rows.map((r) => [
        String(r['id']),
        {
          id: String(r['id']),
          name: String(r['name']),
          priceCents: Number(r['price_cents']),
          currency: String(r['currency']),
        },
      ]),
    );
  }
}
