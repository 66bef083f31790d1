import { createHash } from 'node:crypto';

const palette = [
  '#e85d75',
  '#f29e4c',
  '#f1c453',
  '#64b6ac',
  '#3d84a8',
  '#6c5b7b',
  '#355c7d',
  '#2a9d8f',
];

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A product's image, drawn deterministically from its id, name and category, with the
 * content hash that goes into its immutable URL. The same product always yields the same
 * bytes, so the edge may cache the URL forever; a renamed product gets a new URL.
 */
export function productImage(product: {
  readonly id: string;
  readonly name: string;
  readonly category: string;
}): {
  readonly svg: string;
  readonly hash: string;
} {
  const hue = createHash('sha256').update(product.category).digest()[0] ?? 0;
  const color = palette[hue % palette.length] ?? '#3d84a8';
  const initials = product.name
    .split(/\s+/)
    .slice(0, 2)
    .map((word) => word.charAt(0).toUpperCase())
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="480" viewBox="0 0 480 480">` +
    `<rect width="480" height="480" fill="${color}"/>` +
    `<circle cx="240" cy="210" r="120" fill="#ffffff" fill-opacity="0.18"/>` +
    `<text x="240" y="250" font-family="sans-serif" font-size="120" font-weight="700" fill="#ffffff" text-anchor="middle">${escapeXml(initials)}</text>` +
    `<text x="240" y="420" font-family="sans-serif" font-size="26" fill="#ffffff" text-anchor="middle">${escapeXml(product.name.slice(0, 32))}</text>` +
    `</svg>`;
  return { svg, hash: createHash('sha256').update(svg).digest('hex').slice(0, 16) };
}

/** The immutable URL of a product's image. */
export function productImageUrl(product: {
  readonly id: string;
  readonly name: string;
  readonly category: string;
}): string {
  return `/static/img/products/${product.id}.${productImage(product).hash}.svg`;
}
