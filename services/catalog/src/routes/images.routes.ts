import { type Router } from 'express';
import { createRouter, NotFoundError } from '@mela/platform';
import type { CatalogService } from '../domain/catalog.service.js';
import { productImage } from '../domain/product-image.js';

const imageFile = /^([1-9]\d{0,18})\.([0-9a-f]{16})\.svg$/;

/**
 * `/static/img/products/<id>.<hash>.svg`: content-addressed, so cached forever by browsers and
 * the edge (`immutable`), with a strong ETag for revalidation.
 */
export function imageRoutes(catalog: CatalogService): Router {
  const router = createRouter();
  router.get('/static/img/products/:file', async (req, res) => {
    const match = imageFile.exec(req.params.file);
    if (!match?.[1] || !match[2]) throw new NotFoundError('No such image.', 'image_not_found');
    const image = productImage(await catalog.details(match[1]));
    if (image.hash !== match[2])
      throw new NotFoundError('No such image (the product has changed).', 'image_not_found');
    const etag = `"${image.hash}"`;
    res.set({
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: etag,
      'Content-Type': 'image/svg+xml',
    });
    if (req.headers['if-none-match']?.split(/\s*,\s*/).includes(etag) === true) {
      res.status(304).end();
      return;
    }
    // A Buffer, so express adds no charset to the media type.
    res.send(Buffer.from(image.svg));
  });
  return router;
}
