import type { ResultSetHeader } from 'mysql2/promise';
import { ConflictError } from '@mela/platform';
import type { Row, ShardedDatabase } from '@mela/sharding';
import type { CatalogStore, UpdateOutcome } from '../domain/catalog.service.js';
import type { ProductCreate, ProductUpdate } from '../domain/catalog-query.js';
import { productImageUrl } from '../domain/product-image.js';
import type { Category, PriceAndStock, ProductDetails } from '../domain/product.js';

const commerce = { keyspace: 'commerce' } as const;

/** The catalog in MySQL (the unsharded `commerce` keyspace); every value is a bound parameter. */
export class CatalogRepository implements CatalogStore {
  readonly #db: ShardedDatabase;

  constructor(db: ShardedDatabase) {
    this.#db = db;
  }

  async details(ids: readonly string[]): Promise<Map<string, ProductDetails>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#db.execute(
      commerce,
      `SELECT p.id, p.sku, p.name, p.description, p.featured, p.version, c.slug AS category
         FROM products p JOIN categories c ON c.id = p.category_id
        WHERE p.id IN (?)`,
      [ids],
    );
    return new Map(
      rows.map((row) => {
        const details = {
          id: String(row['id']),
          sku: String(row['sku']),
          name: String(row['name']),
          description: String(row['description']),
          category: String(row['category']),
          featured: Number(row['featured']) === 1,
        };
        return [
          details.id,
          { ...details, imageUrl: productImageUrl(details), version: Number(row['version']) },
        ];
      }),
    );
  }

  async prices(ids: readonly string[]): Promise<Map<string, PriceAndStock>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#db.execute(
      commerce,
      'SELECT id, price_cents, currency, stock FROM products WHERE id IN (?)',
      [ids],
    );
    return new Map(
      rows.map((row) => [
        String(row['id']),
        {
          priceCents: Number(row['price_cents']),
          currency: String(row['currency']),
          stock: Number(row['stock']),
        },
      ]),
    );
  }

  async listIds(filter: {
    readonly categoryId?: number;
    readonly afterId?: string;
    readonly limit: number;
  }): Promise<string[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.categoryId !== undefined) {
      where.push('category_id = ?');
      params.push(filter.categoryId);
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      params.push(filter.afterId);
    }
    const rows = await this.#db.execute(
      commerce,
      `SELECT id FROM products ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
      [...params, filter.limit],
    );
    return ids(rows);
  }

  async searchIds(search: {
    readonly terms: string;
    readonly categoryId?: number;
    readonly offset: number;
    readonly limit: number;
  }): Promise<string[]> {
    const { terms, categoryId, offset, limit } = search;
    const rows = await this.#db.execute(
      commerce,
      `SELECT id, MATCH(name, description) AGAINST (? IN NATURAL LANGUAGE MODE) AS score
         FROM products
        WHERE MATCH(name, description) AGAINST (? IN NATURAL LANGUAGE MODE)
              ${categoryId === undefined ? '' : 'AND category_id = ?'}
        ORDER BY score DESC, popularity DESC, id
        LIMIT ? OFFSET ?`,
      [terms, terms, ...(categoryId === undefined ? [] : [categoryId]), limit, offset],
    );
    return ids(rows);
  }

  async featuredIds(limit: number): Promise<string[]> {
    const rows = await this.#db.execute(
      commerce,
      'SELECT id FROM products WHERE featured = 1 ORDER BY popularity DESC, id LIMIT ?',
      [limit],
    );
    return ids(rows);
  }

  async bestsellerIds(limit: number): Promise<string[]> {
    const rows = await this.#db.execute(
      commerce,
      'SELECT id FROM products ORDER BY popularity DESC, id LIMIT ?',
      [limit],
    );
    return ids(rows);
  }

  async categories(): Promise<Category[]> {
    const rows = await this.#db.execute(
      commerce,
      'SELECT id, slug, name FROM categories ORDER BY position, id',
    );
    return rows.map((row) => ({
      id: Number(row['id']),
      slug: String(row['slug']),
      name: String(row['name']),
    }));
  }

  async update(
    id: string,
    version: number,
    changes: ProductUpdate & { readonly categoryId?: number },
  ): Promise<UpdateOutcome> {
    const columns: [string, unknown][] = [];
    if (changes.name !== undefined) columns.push(['name', changes.name]);
    if (changes.description !== undefined) columns.push(['description', changes.description]);
    if (changes.categoryId !== undefined) columns.push(['category_id', changes.categoryId]);
    if (changes.priceCents !== undefined) columns.push(['price_cents', changes.priceCents]);
    if (changes.featured !== undefined) columns.push(['featured', changes.featured ? 1 : 0]);
    const result = await this.#db.execute<ResultSetHeader>(
      commerce,
      `UPDATE products SET ${columns.map(([c]) => `${c} = ?`).join(', ')}, version = version + 1
        WHERE id = ? AND version = ?`,
      [...columns.map(([, v]) => v), id, version],
    );
    if (result.affectedRows === 1) return { updated: true };
    const rows = await this.#db.execute(commerce, 'SELECT version FROM products WHERE id = ?', [
      id,
    ]);
    const current = rows[0];
    return current
      ? { updated: false, currentVersion: Number(current['version']) }
      : { updated: false };
  }

  async create(product: ProductCreate & { readonly categoryId: number }): Promise<string> {
    const result = await this.#db
      .execute<ResultSetHeader>(
        commerce,
        `INSERT INTO products (sku, name, description, category_id, price_cents, currency, stock, featured)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          product.sku,
          product.name,
          product.description,
          product.categoryId,
          product.priceCents,
          product.currency,
          product.stock,
          product.featured ? 1 : 0,
        ],
      )
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ER_DUP_ENTRY') {
          throw new ConflictError('sku_taken', `A product with SKU ${product.sku} exists already.`);
        }
        throw error;
      });
    return String(result.insertId);
  }
}

function ids(rows: readonly Row[]): string[] {
  return rows.map((row) => String(row['id']));
}
