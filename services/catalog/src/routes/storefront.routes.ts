import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Router } from 'express';
import { createRouter, NotFoundError, securityHeaders } from '@mela/platform';

interface Served {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The page and its assets, each asset under a URL that carries a hash of its bytes. */
export interface Storefront {
  readonly page: Served;
  /** By URL path, e.g. `/static/assets/app.3f2a…js`. */
  readonly assets: ReadonlyMap<string, Served>;
}

function hashOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/**
 * Reads the storefront: `index.html` and `style.css` from the sources, `app.js` as compiled
 * (`storefront/tsconfig.json`). The page links each asset by its content-hashed URL.
 */
export function loadStorefront(
  source = new URL('../../../storefront/', import.meta.url),
  build = new URL('../../storefront/', import.meta.url),
): Storefront {
  const files = [
    { name: 'app.js', dir: build, type: 'text/javascript; charset=utf-8' },
    { name: 'style.css', dir: source, type: 'text/css; charset=utf-8' },
  ];
  const assets = new Map<string, Served>();
  let page = readFileSync(new URL('index.html', source), 'utf8');
  for (const file of files) {
    const body = readFileSync(new URL(file.name, file.dir));
    const hash = hashOf(body);
    const dot = file.name.lastIndexOf('.');
    const url = `/static/assets/${file.name.slice(0, dot)}.${hash}${file.name.slice(dot)}`;
    assets.set(url, { body, type: file.type, etag: `"${hash}"` });
    page = page.replaceAll(`{{${file.name}}}`, url);
  }
  const body = Buffer.from(page);
  return { page: { body, type: 'text/html; charset=utf-8', etag: `"${hashOf(body)}"` }, assets };
}

/**
 * `/` — the storefront page, cacheable for `pageMaxAgeSeconds` at the edge and served stale
 * for a day if the origin fails — and `/static/assets/<name>.<hash>.<ext>`, immutable.
 */
export function storefrontRoutes(storefront: Storefront, pageMaxAgeSeconds: number): Router {
  const router = createRouter();
  // What a browser loads: helmet's page headers (a CSP for the page's own scripts and styles).
  const pageHeaders = securityHeaders('page');
  const pageCacheControl = `public, max-age=${String(pageMaxAgeSeconds)}, stale-while-revalidate=${String(pageMaxAgeSeconds)}, stale-if-error=86400`;
  router.get('/', pageHeaders, (_req, res) => {
    const { page } = storefront;
    res.set({ 'Cache-Control': pageCacheControl, 'Content-Type': page.type, ETag: page.etag });
    res.send(page.body);
  });
  router.get('/static/assets/:file', pageHeaders, (req, res) => {
    const asset = storefront.assets.get(req.path);
    if (asset === undefined) throw new NotFoundError('No such asset.', 'asset_not_found');
    res.set({
      'Cache-Control': 'public, max-age=31536000, immutable',
      'Content-Type': asset.type,
      ETag: asset.etag,
    });
    res.send(asset.body);
  });
  return router;
}
