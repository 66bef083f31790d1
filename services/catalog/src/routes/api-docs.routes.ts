import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Router } from 'express';
import { createRouter, securityHeaders } from '@mela/platform';
import { apiServices } from '@mela/topology';

interface Served {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The API reference's files, by URL path. */
export type ApiDocs = ReadonlyMap<string, Served>;

/** swagger-ui's files the page loads, from swagger-ui-dist. */
const uiFiles = [
  { name: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  { name: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  { name: 'swagger-ui-standalone-preset.js', type: 'text/javascript; charset=utf-8' },
];

/**
 * Reads the API reference: its page and script (api-docs/), swagger-ui's files, and the list
 * of documents, one per service with a public API, which the edge serves as
 * `/api/docs/<service>.json` from the service's own `/openapi.json`.
 */
export function loadApiDocs(page = new URL('../../../api-docs/', import.meta.url)): ApiDocs {
  const ui = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = new Map<string, Served>();
  const add = (path: string, body: Buffer, type: string) => {
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    files.set(path, { body, type, etag: `"${hash}"` });
  };
  add('/api/docs/', readFileSync(new URL('index.html', page)), 'text/html; charset=utf-8');
  add(
    '/api/docs/reference.js',
    readFileSync(new URL('reference.js', page)),
    'text/javascript; charset=utf-8',
  );
  const documents = apiServices.map((name) => ({ name, url: `/api/docs/${name}.json` }));
  add('/api/docs/documents.json', Buffer.from(JSON.stringify(documents)), 'application/json');
  for (const file of uiFiles)
    add(`/api/docs/ui/${file.name}`, readFileSync(join(ui, file.name)), file.type);
  return files;
}

/**
 * `/api/docs/`: the API reference (swagger-ui over each service's OpenAPI document), its
 * files revalidated after five minutes with a strong ETag.
 */
export function apiDocsRoutes(docs: ApiDocs): Router {
  const router = createRouter();
  // The reference is a page in a browser: helmet's page headers.
  const pageHeaders = securityHeaders('page');
  router.get('/api/docs', (_req, res) => {
    res.redirect(301, '/api/docs/');
  });
  for (const [path, file] of docs) {
    router.get(path, pageHeaders, (req, res) => {
      res.set({
        'Cache-Control': 'public, max-age=300',
        'Content-Type': file.type,
        ETag: file.etag,
      });
      if (req.fresh) {
        res.status(304).end();
        return;
      }
      res.send(file.body);
    });
  }
  return router;
}
