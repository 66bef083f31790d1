import type { Express, RequestHandler } from 'express';
import { createServiceApp, type Platform } from '@mela/platform';
import type { CatalogService } from './domain/catalog.service.js';
import { catalogRoutes } from './routes/catalog.routes.js';
import { apiDocsRoutes, type ApiDocs } from './routes/api-docs.routes.js';
import { imageRoutes } from './routes/images.routes.js';
import { storefrontRoutes, type Storefront } from './routes/storefront.routes.js';

export interface CatalogAppDeps {
  readonly platform: Platform;
  readonly catalog: CatalogService;
  readonly publicCacheControl: string;
  /** The storefront page and its assets, when this catalog serves them. */
  readonly storefront?: { readonly files: Storefront; readonly maxAgeSeconds: number } | undefined;
  /** The API reference page (`/api/docs/`), when this catalog serves it. */
  readonly apiDocs?: ApiDocs | undefined;
  /** Applied before every route, when configured. */
  readonly rateLimit?: RequestHandler | undefined;
}

/** The catalog's express app; everything it uses is passed in. */
export function createApp(deps: CatalogAppDeps): Express {
  return createServiceApp(
    deps.platform,
    (app, mount) => {
      mount(
        catalogRoutes({
          catalog: deps.catalog,
          tokens: deps.platform.tokens,
          publicCacheControl: deps.publicCacheControl,
        }),
      );
      app.use(imageRoutes(deps.catalog));
      if (deps.storefront)
        app.use(storefrontRoutes(deps.storefront.files, deps.storefront.maxAgeSeconds));
      if (deps.apiDocs) app.use(apiDocsRoutes(deps.apiDocs));
    },
    { etag: true, ...(deps.rateLimit ? { rateLimit: deps.rateLimit } : {}) },
  );
}
