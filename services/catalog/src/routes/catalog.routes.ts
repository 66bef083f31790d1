import type { Response } from 'express';
import { ApiRouter, sendJson, type TokenVerifier } from '@mela/platform';
import type { CatalogService } from '../domain/catalog.service.js';
import { catalogOperations as ops } from './catalog.operations.js';

export interface CatalogRoutesOptions {
  readonly catalog: CatalogService;
  readonly tokens: TokenVerifier;
  /** Cache-Control of anonymous catalog reads. */
  readonly publicCacheControl: string;
}

/** `/api/catalog/*`: thin handlers that call the catalog and set caching headers. */
export function catalogRoutes(options: CatalogRoutesOptions): ApiRouter {
  const { catalog } = options;
  const publicRead = (res: Response) => res.set('Cache-Control', options.publicCacheControl);
  const noStore = (res: Response) => res.set('Cache-Control', 'no-store');

  return new ApiRouter(options.tokens)
    .handle(ops.list, async ({ query }, _req, res) => {
      publicRead(res).json(await catalog.list(query));
    })
    .handle(ops.product, async ({ params }, req, res) => {
      sendJson(req, publicRead(res), await catalog.product(params.id));
    })
    .handle(ops.categories, async (_input, _req, res) => {
      publicRead(res).json({ items: await catalog.categories() });
    })
    .handle(ops.home, async (_input, _req, res) => {
      publicRead(res).json(await catalog.home());
    })
    .handle(ops.update, async ({ params, body }, _req, res) => {
      const { version, ...changes } = body;
      noStore(res).json(await catalog.update(params.id, version, changes));
    })
    .handle(ops.adjustStock, async ({ params, body }, _req, res) => {
      noStore(res).json(await catalog.adjustStock(params.id, body.delta));
    })
    .handle(ops.create, async ({ body }, _req, res) => {
      const product = await catalog.create(body);
      noStore(res).status(201).location(`/api/catalog/products/${product.id}`).json(product);
    });
}
