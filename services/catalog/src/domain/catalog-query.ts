import { z } from 'zod';

/** Product ids are positive integers, sent as decimal strings (they may exceed 2^53). */
export const productId = z.string().regex(/^[1-9]\d{0,18}$/, 'must be a positive integer id');

/** Largest page a client may ask for. */
export const maxPageSize = 100;
/** Search pages stop here: deeper than this, refine the query. */
export const maxSearchOffset = 1000;

/** What people type into a shop's search box; anything else (quotes, `;`, `=`, …) is refused. */
const searchable = /^[\p{L}\p{N}\s\-'.,&+/()]+$/u;

/**
 * A listing cursor as this API gives them out: `i<id>` (the last id seen) or `o<offset>` (how
 * far a search went). The pattern is the whole rule, so the document states it exactly.
 */
const cursor = z
  .string()
  // Offsets go up to maxSearchOffset (1000).
  .regex(/^(?:i[1-9]\d{0,18}|o(?:0|[1-9]\d{0,2}|1000))$/, 'is not a cursor this API returned');

/** A category's slug, as a product names its category. */
const categorySlug = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/, 'must be a category slug')
  .meta({ examples: ['mobiles', 'phones'] });

/** `GET /products?category=&q=&limit=&cursor=` */
export const listQuery = z.strictObject({
  category: categorySlug.optional(),
  q: z
    .string()
    .min(2, 'must be at least 2 characters')
    .max(100, 'must be at most 100 characters')
    .regex(searchable, "may hold letters, digits, spaces and - ' . , & + / ( ) only")
    .regex(/^(?!.*--)(?!.*\/\*)/, 'may not hold -- or /*')
    .regex(/(?:.*[\p{L}\p{N}]){2}/u, 'must hold at least two letters or digits')
    .optional(),
  limit: z
    .string()
    .regex(/^(?:[1-9]\d?|100)$/, `must be an integer from 1 to ${maxPageSize}`)
    .transform(Number)
    .default(20),
  cursor: cursor.optional(),
});
export type ListQuery = z.output<typeof listQuery>;

/** A listing cursor: the last id seen (keyset) or, for search, the offset reached. */
export type Cursor = { readonly afterId: string } | { readonly offset: number };

export function encodeCursor(value: Cursor): string {
  return 'afterId' in value ? `i${value.afterId}` : `o${String(value.offset)}`;
}

/** Reads a cursor the list query's schema let through. */
export function decodeCursor(text: string): Cursor {
  return text.startsWith('i') ? { afterId: text.slice(1) } : { offset: Number(text.slice(1)) };
}

/**
 * Turns search input into MySQL natural-language full-text terms: letters, digits and spaces
 * only, so no boolean-mode operator or quote reaches the query (it is also a bound parameter).
 */
export function searchTerms(q: string): string {
  return q
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .slice(0, 100);
}

/** `PUT /products/:id` — any of these, at least one. */
export const productUpdate = z
  .strictObject({
    /**
     * The product's `version` as last read: the change applies only if nobody changed the
     * product since (else 409 `version_conflict`), as Kubernetes' resourceVersion.
     */
    version: z.number().int().min(1).max(4_294_967_295),
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(5000).optional(),
    category: categorySlug.optional(),
    priceCents: z.number().int().min(0).max(100_000_000).optional(),
    stock: z
      .never({
        error:
          'stock is not set by value; restock or write off with POST /api/catalog/products/:id/stock {"delta": n}',
      })
      .optional(),
    featured: z.boolean().optional(),
  })
  .refine((u) => Object.keys(u).length > 1, { error: 'give at least one field to change' })
  .meta({ minProperties: 2 });
export type ProductUpdate = Omit<z.output<typeof productUpdate>, 'version' | 'stock'>;

/** `POST /products/:id/stock`: a restock (+n) or a write-off (−n), never an absolute count. */
export const stockAdjustment = z.strictObject({
  delta: z
    .number()
    .int()
    .min(-10_000_000)
    .max(10_000_000)
    .refine((delta) => delta !== 0, { error: 'must not be 0' })
    .meta({ not: { const: 0 } }),
});

/** `POST /products` */
export const productCreate = z.strictObject({
  sku: z.string().regex(/^[A-Z0-9-]{3,32}$/, 'must be 3-32 of A-Z, 0-9 and -'),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000).default(''),
  category: categorySlug,
  priceCents: z.number().int().min(0).max(100_000_000),
  currency: z.enum(['INR']).default('INR'),
  stock: z.number().int().min(0).max(10_000_000).default(0),
  featured: z.boolean().default(false),
});
export type ProductCreate = z.output<typeof productCreate>;
