import type { ShardedDatabase } from '@mela/sharding';
import { seedCategories, seedProduct, seededRandom, shuffledRanks } from '../domain/seed-data.js';

const commerce = { keyspace: 'commerce' } as const;

export interface SeedReport {
  readonly products: number;
  readonly categories: number;
  readonly skipped: boolean;
  readonly seconds: number;
}

/**
 * Loads the demo catalog into the commerce keyspace: the categories and `products` products,
 * in multi-row inserts with the full-text index built once at the end. Does nothing when the
 * catalog already has that many products (unless `reset`).
 */
export async function seedCatalog(
  db: ShardedDatabase,
  options: {
    readonly products: number;
    readonly reset?: boolean;
    readonly log?: (line: string) => void;
  },
): Promise<SeedReport> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const [existing] = await db.execute(commerce, 'SELECT COUNT(*) AS n FROM products');
  const count = Number(existing?.['n'] ?? 0);
  if (count >= options.products && options.reset !== true) {
    return { products: count, categories: seedCategories.length, skipped: true, seconds: 0 };
  }
  await db.execute(commerce, 'DELETE FROM products');
  await db.execute(commerce, 'DELETE FROM categories');
  await db.execute(commerce, 'INSERT INTO categories (id, slug, name, position) VALUES ?', [
    seedCategories.map(([slug, name], i) => [i + 1, slug, name, i]),
  ]);

  const hasSearchIndex =
    (await db.execute(commerce, "SHOW INDEX FROM products WHERE Key_name = 'search'")).length > 0;
  if (hasSearchIndex) await db.execute(commerce, 'ALTER TABLE products DROP INDEX search');
  const random = seededRandom(42);
  const ranks = shuffledRanks(options.products, random);
  const batch = 2000;
  for (let start = 0; start < options.products; start += batch) {
    const rows: unknown[][] = [];
    for (let i = start; i < Math.min(options.products, start + batch); i += 1) {
      const p = seedProduct(i + 1, options.products, random, ranks[i] ?? i);
      rows.push([
        p.id,
        p.sku,
        p.name,
        p.description,
        p.categoryId,
        p.priceCents,
        'INR',
        p.stock,
        p.featured ? 1 : 0,
        p.popularity,
      ]);
    }
    await db.execute(
      commerce,
      'INSERT INTO products (id, sku, name, description, category_id, price_cents, currency, stock, featured, popularity) VALUES ?',
      [rows],
    );
    if ((start / batch) % 10 === 0)
      log(`inserted ${Math.min(options.products, start + batch)} of ${options.products} products`);
  }
  log('building the full-text index');
  await db.execute(commerce, 'ALTER TABLE products ADD FULLTEXT INDEX search (name, description)');
  const [total] = await db.execute(commerce, 'SELECT COUNT(*) AS n FROM products');
  return {
    products: Number(total?.['n'] ?? 0),
    categories: seedCategories.length,
    skipped: false,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
