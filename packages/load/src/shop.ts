import { randomUUID } from 'node:crypto';
import type autocannon from 'autocannon';
import { actionRoutes, pickAction, searchTerms, shopMix, type Action } from '../k6/shapes.js';
import { Tally } from './stats.js';
import { pick, send, type Shopper } from './traffic.js';

/**
 * What the shoppers look at and buy: the catalog's categories and the products on each
 * category's first page.
 */
export async function discover(
  url: string,
  shopper: Shopper | undefined,
): Promise<{ categories: string[]; productIds: string[] }> {
  const listed = await send(url, 'GET', '/api/catalog/categories', shopper?.token);
  if (listed.status !== 200)
    throw new Error(`the catalog answered ${String(listed.status)}: ${listed.body}`);
  const body = JSON.parse(listed.body) as { items?: { slug: string }[] } | { slug: string }[];
  const categories = (Array.isArray(body) ? body : (body.items ?? [])).map((c) => c.slug);
  const productIds: string[] = [];
  for (const category of categories.slice(0, 8)) {
    const res = await send(
      url,
      'GET',
      `/api/catalog/products?category=${category}&limit=50`,
      shopper?.token,
    );
    if (res.status !== 200)
      throw new Error(`the catalog answered ${String(res.status)}: ${res.body}`);
    const items = (JSON.parse(res.body) as { items: { id: string | number }[] }).items;
    productIds.push(...items.map((p) => String(p.id)));
  }
  if (productIds.length === 0)
    throw new Error('the catalog has no products: run npm start (it seeds them)');
  return { categories, productIds };
}

/**
 * The shop scenario's traffic: each request an action picked by the mix's weights, from one of
 * the shoppers; a checkout goes to a shopper who has put something in the cart (else it adds).
 */
export class ShopTraffic {
  /** Each action's answers. */
  readonly tallies = new Map<Action, Tally>(
    (Object.keys(shopMix) as Action[]).map((a) => [a, new Tally()]),
  );
  readonly #withCart: Shopper[] = [];

  constructor(
    private readonly shoppers: readonly Shopper[],
    private readonly catalog: { readonly categories: string[]; readonly productIds: string[] },
  ) {}

  /** The next request to send, and the action it belongs to. */
  next(): { action: Action; request: autocannon.Request } {
    let action = pickAction(shopMix, Math.random() * 100);
    if (action === 'checkout' && this.#withCart.length === 0) action = 'cart';
    const shopper =
      action === 'checkout' ? (this.#withCart.shift() ?? pick(this.shoppers)) : pick(this.shoppers);
    const route = actionRoutes[action];
    const path = route.path
      .replace('{category}', pick(this.catalog.categories))
      .replace('{term}', encodeURIComponent(pick(searchTerms)))
      .replace('{productId}', pick(this.catalog.productIds));
    const headers: Record<string, string> = { authorization: `Bearer ${shopper.token}` };
    let body: string | undefined;
    if (action === 'cart') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ productId: pick(this.catalog.productIds), quantity: 1 });
      this.#withCart.push(shopper);
    } else if (action === 'checkout') {
      headers['content-type'] = 'application/json';
      headers['idempotency-key'] = randomUUID();
      body = '{}';
    }
    return {
      action,
      request: { method: route.method, path, headers, ...(body === undefined ? {} : { body }) },
    };
  }
}
