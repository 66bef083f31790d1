/** What the virtual users look at: read from the shop once, in setup(). */
import http from 'k6/http';

export interface Shelf {
  readonly categories: string[];
  readonly productIds: string[];
}

export function readShelf(base: string, token: string): Shelf {
  const listed = http.get(`${base}/api/catalog/categories`, { headers: { authorization: token } });
  const categories =
    (listed.json('items') as { slug: string }[] | undefined)?.map((c) => c.slug) ?? [];
  const productIds: string[] = [];
  for (const category of categories.slice(0, 8)) {
    const page = http.get(`${base}/api/catalog/products?category=${category}&limit=50`, {
      headers: { authorization: token },
    });
    const items = (page.json('items') as { id: string | number }[] | undefined) ?? [];
    productIds.push(...items.map((p) => String(p.id)));
  }
  if (productIds.length === 0) throw new Error(`no products at ${base}: is the catalog seeded?`);
  return { categories, productIds };
}

export function pick<T>(list: readonly T[]): T {
  const item = list[Math.floor(Math.random() * list.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}
