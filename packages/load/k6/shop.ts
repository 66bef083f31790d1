/**
 * An ordinary busy day: browse, search, product pages, carts and checkouts in the mix's
 * weights, arriving at a rate that ramps to PEAK (default 400/s). Thresholds: the SLOs.
 *   k6 run -e BASE_URL=http://localhost:8080 -e AUTH_JWT_SECRET=… packages/load/k6/shop.ts
 */
import http from 'k6/http';
import { check } from 'k6';
import type { Options } from 'k6/options';
import { bearer } from './auth.ts';
import { pick, readShelf, type Shelf } from './catalog.ts';
import { actionRoutes, pickAction, rampTo, searchTerms, shopMix, sloThresholds } from './shapes.ts';

const base = __ENV['BASE_URL'] ?? 'http://localhost:8080';
const peak = Number(__ENV['PEAK'] ?? '400');
const users = Number(__ENV['USERS'] ?? '2000');

// 4xx answers (sold out, rate limited, validation) are the shop working; failures are 5xx.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 499 }));

export const options: Options = {
  scenarios: {
    shop: {
      executor: 'ramping-arrival-rate',
      exec: 'shop',
      startRate: 1,
      timeUnit: '1s',
      preAllocatedVUs: Math.max(20, Math.ceil(peak / 5)),
      maxVUs: Math.max(50, peak * 2),
      stages: rampTo(peak).map((s) => ({ duration: `${String(s.seconds)}s`, target: s.target })),
    },
  },
  thresholds: {
    ...sloThresholds(),
  },
};

export function setup(): Shelf {
  return readShelf(base, bearer('k6-setup'));
}

export function shop(shelf: Shelf): void {
  const user = `k6-shopper-${String(Math.floor(Math.random() * users))}`;
  const token = bearer(user);
  const action = pickAction(shopMix, Math.random() * 100);
  const route = actionRoutes[action];
  const path = route.path
    .replace('{category}', pick(shelf.categories))
    .replace('{term}', encodeURIComponent(pick(searchTerms)))
    .replace('{productId}', pick(shelf.productIds));
  const params = {
    headers: { authorization: token, 'content-type': 'application/json' },
    tags: { action },
  };
  if (action === 'checkout') {
    // A checkout is a cart and its order, one after the other, by the same shopper.
    http.post(
      `${base}${actionRoutes.cart.path}`,
      JSON.stringify({ productId: pick(shelf.productIds), quantity: 1 }),
      {
        ...params,
        tags: { action: 'cart' },
      },
    );
    const res = http.post(`${base}${route.path}`, '{}', {
      ...params,
      headers: {
        ...params.headers,
        'idempotency-key': `${user}-${String(Date.now())}-${String(Math.random())}`,
      },
    });
    check(res, {
      'order placed or refused for a reason': (r) =>
        r.status === 201 || r.status === 409 || r.status === 402,
    });
    return;
  }
  const res =
    route.method === 'GET'
      ? http.get(`${base}${path}`, params)
      : http.post(
          `${base}${path}`,
          JSON.stringify({ productId: pick(shelf.productIds), quantity: 1 }),
          params,
        );
  check(res, { 'answered without a server error': (r) => r.status < 500 });
}
