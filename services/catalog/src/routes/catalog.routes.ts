import { type Router, type Response } from 'express';
import {
  createRouter,
  parseInput,
  requireRole,
  requireUser,
  sendJson,
  type TokenVerifier,
} from '@mela/platform';
import { z } from 'zod';
import type { CatalogService } from '../domain/catalog.service.js';
import {
  listQuery,
  productCreate,
  productId,
  productUpdate,
  stockAdjustment,
} from '../domain/catalog-query.js';

export interface CatalogRoutesOptions {
  readonly catalog: CatalogService;
  readonly tokens: TokenVerifier;
  /** Cache-Control of anonymous catalog reads. */
  readonly publicCacheControl: string;
}

const idParams = z.object({ id: productId });

/** `/api/catalog/*`: thin handlers that parse, call the catalog, and set caching headers. */
export function catalogRoutes(options: CatalogRoutesOptions): Router {
  const { catalog } = options;
  const router = createRouter();
  const publicRead = (res: Response) => res.set('Cache-Control', options.publicCacheControl);

  router.get('/api/catalog/products', async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    publicRead(res).json(await catalog.list(query));
  });

  router.get('/api/catalog/products/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    sendJson(req, publicRead(res), await catalog.product(id));
  });

  router.get('/api/catalog/categories', async (_req, res) => {
    publicRead(res).json({ items: await catalog.categories() });
  });

  router.get('/api/catalog/home', async (_req, res) => {
    publicRead(res).json(await catalog.home());
  });

  const admin = [requireUser(options.tokens), requireRole('admin')];

  router.put('/api/catalog/products/:id', ...admin, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const { version, ...changes } = parseInput(productUpdate, req.body, 'body');
    res.set('Cache-Control', 'no-store').json(await catalog.update(id, version, changes));
  });

  router.post('/api/catalog/products/:id/stock', ...admin, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const { delta } = parseInput(stockAdjustment, req.body, 'body');
    res.set('Cache-Control', 'no-store').json(await catalog.adjustStock(id, delta));
  });

  router.post('/api/catalog/products', ...admin, async (req, res) => {
    const input = parseInput(productCreate, req.body, 'body');
    const product = await catalog.create(input);
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .location(`/api/catalog/products/${product.id}`)
      .json(product);
  });

  return router;
}
