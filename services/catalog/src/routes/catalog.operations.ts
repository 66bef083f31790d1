import { operation } from '@mela/platform';
import { z } from 'zod';
import {
  listQuery,
  productCreate,
  productId,
  productUpdate,
  stockAdjustment,
} from '../domain/catalog-query.js';
import type { Homepage } from '../domain/catalog.service.js';
import type { Category, Page, Product } from '../domain/product.js';

/** A product as the API answers it (checked against the domain's type when compiling). */
const product = z
  .object({
    id: productId,
    sku: z.string(),
    name: z.string(),
    description: z.string(),
    category: z.string().meta({ description: 'The category’s slug.' }),
    featured: z.boolean(),
    imageUrl: z.string().meta({ description: 'Content-addressed: cached forever.' }),
    version: z
      .int()
      .min(1)
      .meta({ description: 'Name it in a PUT: the change applies only then.' }),
    priceCents: z.int().min(0),
    currency: z.string(),
    stock: z.int().min(0),
    inStock: z.boolean(),
  })
  .meta({ id: 'Product' }) satisfies z.ZodType<Product>;

const page = z
  .object({
    items: z.array(product),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Give it as `cursor` for the next page; null on the last.' }),
  })
  .meta({ id: 'ProductPage' }) satisfies z.ZodType<Page<Product>>;

const category = z
  .object({ id: z.int(), slug: z.string(), name: z.string() })
  .meta({ id: 'Category' }) satisfies z.ZodType<Category>;

const homepage = z.object({
  featured: z.array(product),
  bestsellers: z.array(product),
}) satisfies z.ZodType<Homepage>;

const etag = z.object({
  ETag: z.string().meta({ description: 'Strong; send it as If-None-Match.' }),
});
const idParams = z.object({ id: productId });
const tag = 'catalog';

/** The catalog's API: every route in catalog.routes.ts serves one of these. */
export const catalogOperations = {
  list: operation({
    method: 'get',
    path: '/api/catalog/products',
    operationId: 'listProducts',
    summary: 'Products: a search (q), a category, or all, a page at a time',
    tag,
    query: listQuery,
    responses: { 200: { description: 'A page of products.', body: page } },
    problems: [404, 503],
  }),
  product: operation({
    method: 'get',
    path: '/api/catalog/products/:id',
    operationId: 'getProduct',
    summary: 'One product, with its price and stock',
    tag,
    params: idParams,
    responses: {
      200: { description: 'The product.', body: product, headers: etag },
      304: { description: 'Not modified since the ETag in If-None-Match.' },
    },
    problems: [404, 503],
  }),
  categories: operation({
    method: 'get',
    path: '/api/catalog/categories',
    operationId: 'listCategories',
    summary: 'Every category',
    tag,
    responses: {
      200: { description: 'The categories.', body: z.object({ items: z.array(category) }) },
    },
    problems: [503],
  }),
  home: operation({
    method: 'get',
    path: '/api/catalog/home',
    operationId: 'getHomepage',
    summary: 'Featured products and bestsellers',
    tag,
    responses: { 200: { description: 'The homepage’s products.', body: homepage } },
    problems: [503],
  }),
  update: operation({
    method: 'put',
    path: '/api/catalog/products/:id',
    operationId: 'updateProduct',
    summary: 'Changes a product, if nobody changed it since the version read (admin)',
    tag,
    auth: 'admin',
    params: idParams,
    body: productUpdate,
    responses: { 200: { description: 'The product as changed.', body: product } },
    problems: [404, 409, 422, 503],
  }),
  adjustStock: operation({
    method: 'post',
    path: '/api/catalog/products/:id/stock',
    operationId: 'adjustStock',
    summary: 'Restocks (+n) or writes off (−n) units (admin)',
    tag,
    auth: 'admin',
    params: idParams,
    body: stockAdjustment,
    responses: { 200: { description: 'The product with its new stock.', body: product } },
    problems: [404, 409, 503],
  }),
  create: operation({
    method: 'post',
    path: '/api/catalog/products',
    operationId: 'createProduct',
    summary: 'Adds a product (admin)',
    tag,
    auth: 'admin',
    body: productCreate,
    responses: {
      201: {
        description: 'The new product.',
        body: product,
        headers: z.object({ Location: z.string() }),
      },
    },
    problems: [409, 422, 503],
  }),
};
