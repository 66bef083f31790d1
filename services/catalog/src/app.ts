import type { Express, RequestHandler } from 'express';
import { createServiceApp, type Platform } from '@mela/platform';
import type { CatalogService } from './domain/catalog.service.js';
import { catalogRoutes } from './routes/catalog.routes.js';
import { imageRoutes } from './routes/images.routes.js';

export interface CatalogAppDeps {
  readonly platform: Platform;
  readonly catalog: CatalogService;
  readonly publicCacheControl: string;
  /** Applied before every route, when configured. */
  readonly rateLimit?: RequestHandler | undefined;
}

/** The catalog's express app; everything it uses is passed in. */
export function createApp(deps: CatalogAppDeps): Express {
  return createServiceApp(
    deps.platform,
    (app) => {
      app.use(
        catalogRoutes({
          catalog: deps.catalog,
          tokens: deps.platform.tokens,
          publicCacheControl: deps.publicCacheControl,
        }),
      );
      app.use(imageRoutes(deps.catalog));
    },
    { etag: true, ...(deps.rateLimit ? { rateLimit: deps.rateLimit } : {}) },
  );
}
