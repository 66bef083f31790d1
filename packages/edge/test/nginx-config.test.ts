import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localTopology } from '@mela/topology';
import { localEdgeOptions, nginxConfig, type EdgeOptions } from '../src/index.js';

const dirs = { cache: '/c', temp: '/t', logs: '/l', pidFile: '/p.pid' };

function config(env: Record<string, string> = {}, rest: Partial<EdgeOptions> = {}): string {
  return nginxConfig({ ...localEdgeOptions(localTopology(env), { dirs }), ...rest });
}

/** The lines of one `upstream` block. */
function upstream(text: string, name: string): string[] {
  const start = text.indexOf(`upstream mela_${name} {`);
  assert.notEqual(start, -1, `no upstream for ${name}`);
  return text
    .slice(start, text.indexOf('}', start))
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** The body of the first server block listening on `listen`. */
function server(text: string, listen: string): string {
  const at = text.indexOf(`listen ${listen} `);
  assert.notEqual(at, -1, `no server on ${listen}`);
  const next = text.indexOf('server {', at);
  return text.slice(at, next === -1 ? undefined : next);
}

describe('the edge nginx configuration from the topology', () => {
  it('when defaults apply, then each service is an upstream of its replicas with passive health checks', () => {
    const text = config();

    assert.deepEqual(upstream(text, 'catalog'), [
      'zone mela_catalog 64k;',
      'server 127.0.0.1:3101 max_fails=1 fail_timeout=10s;',
      'server 127.0.0.1:3201 max_fails=1 fail_timeout=10s;',
      'keepalive 32;',
      'keepalive_timeout 60s;',
    ]);
    assert.deepEqual(upstream(text, 'order'), [
      'zone mela_order 64k;',
      'least_conn;',
      'server 127.0.0.1:3103 max_fails=1 fail_timeout=10s;',
      'server 127.0.0.1:3203 max_fails=1 fail_timeout=10s;',
      'keepalive 32;',
      'keepalive_timeout 60s;',
    ]);
  });

  it('when a service is weighted or hashed by client, then its upstream says so', () => {
    const text = config({
      MELA_CART_LB: 'weighted:3,1',
      MELA_CATALOG_LB: 'ip-hash',
      MELA_CATALOG_REPLICAS: '3',
    });

    assert.deepEqual(upstream(text, 'cart').slice(1, 3), [
      'server 127.0.0.1:3102 weight=3 max_fails=1 fail_timeout=10s;',
      'server 127.0.0.1:3202 weight=1 max_fails=1 fail_timeout=10s;',
    ]);
    assert.equal(upstream(text, 'catalog')[1], 'hash $remote_addr consistent;');
    assert.equal(upstream(text, 'catalog').filter((l) => l.startsWith('server ')).length, 3);
    assert.match(text, /proxy_next_upstream_tries 3;/);
  });

  it('when weights do not match the replicas, then it refuses with the counts', () => {
    const options = localEdgeOptions(localTopology(), { dirs });
    assert.throws(
      () =>
        nginxConfig({
          ...options,
          services: {
            ...options.services,
            cart: { servers: ['a:1'], loadBalancing: { algorithm: 'weighted', weights: [1, 2] } },
          },
        }),
      /^Error: edge: cart is weighted with 2 weights for 1 replicas$/,
    );
  });

  it('when the public edge proxies, then it replaces X-Forwarded-For; the internal balancers pass it through', () => {
    const text = config();

    assert.match(server(text, '127.0.0.1:8080'), /proxy_set_header X-Forwarded-For \$remote_addr;/);
    assert.doesNotMatch(server(text, '127.0.0.1:3001'), /X-Forwarded-For/);
    assert.match(server(text, '127.0.0.1:3003'), /proxy_pass http:\/\/mela_order;/);
  });

  it('when any block sets a proxy header, then it also keeps the upstream connection alive and the client Host (nginx inherits none of them there)', () => {
    const blocks: string[][] = [];
    const open: string[][] = [];
    for (const line of config({}, { purgeModule: '/m.so' })
      .split('\n')
      .map((l) => l.trim())) {
      if (line.endsWith('{')) open.push([line]);
      else if (line === '}') blocks.push(open.pop() ?? []);
      else open.at(-1)?.push(line);
    }
    const setting = blocks.filter((b) => b.some((l) => l.startsWith('proxy_set_header ')));

    assert.ok(setting.length >= 3, 'http, the public server and the purge check set headers');
    for (const block of setting) {
      assert.ok(block.includes('proxy_set_header Connection "";'), block[0]);
      assert.ok(block.includes('proxy_set_header Host $host;'), block[0]);
    }
  });

  it('when static assets, the page and anonymous catalog reads are served, then they go through the cache, the rest of the API does not', () => {
    const edge = server(config(), '127.0.0.1:8080');
    const block = (match: string) => edge.slice(edge.indexOf(`location ${match} {`)).split('}')[0];

    assert.match(block('/static/') ?? '', /proxy_cache mela_edge;/);
    assert.match(block('= /') ?? '', /add_header X-Cache \$mela_x_cache always;/);
    assert.match(block('/api/catalog/') ?? '', /proxy_cache mela_edge;/);
    assert.match(block('/api/catalog/') ?? '', /proxy_cache_lock on;/);
    // Signed-in requests and first visits (no client id cookie yet) neither read nor fill it.
    assert.match(
      block('/api/catalog/') ?? '',
      /proxy_cache_bypass \$http_authorization \$mela_first_visit;\s+proxy_no_cache \$http_authorization \$mela_first_visit;/,
    );
    assert.match(config(), /map \$cookie_mela_client \$mela_first_visit \{\s+"" 1;\s+default 0;/);
    for (const api of ['/api/cart/', '/api/orders/', '/api/auth/'])
      assert.doesNotMatch(block(api) ?? '', /proxy_cache/, api);
    assert.match(block('/api/catalog/') ?? '', /proxy_pass http:\/\/mela_catalog;/);
    assert.match(block('@orders') ?? '', /proxy_pass http:\/\/mela_order;/);
  });

  it('when the purge module is there, then purging needs the admin check; without it, purge answers 501', () => {
    const withModule = config({}, { purgeModule: '/m/purge.so' });
    assert.match(withModule, /^load_module \/m\/purge\.so;$/m);
    assert.match(
      withModule,
      /auth_request \/_edge\/purge-authz;\s+proxy_cache_purge mela_edge \$1\$is_args\$args;/,
    );
    assert.match(withModule, /proxy_pass http:\/\/mela_catalog\/api\/auth\/me\?role=admin;/);

    const without = config();
    assert.doesNotMatch(without, /load_module/);
    assert.match(without, /return 501 .*"code":"purge_unavailable"/);
  });

  it('when the checkout waiting room is on (the default), then a POST /api/orders is authenticated, counted per user, then queued at the room’s rate, all in one request (no hop through another server); a full room answers problem+json', () => {
    const text = config();
    const blocks = (match: string) =>
      text
        .split(`location ${match} {`)
        .slice(1)
        .map((rest) => rest.split('\n    }')[0] ?? '');
    const [entry] = blocks('= /api/orders');
    const [perUser] = blocks('@checkout_user');
    const [queue] = blocks('@checkout_queue');

    assert.equal(blocks('= /api/orders').length, 1);
    assert.doesNotMatch(text, /listen unix:|proxy_pass http:\/\/unix:/);
    assert.match(entry ?? '', /if \(\$request_method != POST\) \{ return 418; \}/);
    assert.match(
      entry ?? '',
      /if \(\$http_authorization !~\* "\^Bearer \[\^ \]\+\$"\) \{ return 401; \}/,
    );
    assert.match(entry ?? '', /auth_request \/_edge\/checkout-auth;/);
    assert.match(entry ?? '', /try_files \S+ @checkout_user;/);
    assert.doesNotMatch(entry ?? '', /limit_/);
    assert.match(perUser ?? '', /limit_conn mela_checkout_user 2;/);
    assert.match(perUser ?? '', /try_files \S+ @checkout_queue;/);
    assert.doesNotMatch(perUser ?? '', /limit_req/);
    assert.match(queue ?? '', /proxy_set_header Mela-Principal \$mela_checkout_principal;/);
    assert.match(queue ?? '', /proxy_set_header X-Forwarded-For \$remote_addr;/);
    assert.match(queue ?? '', /limit_req zone=mela_checkout burst=10000;/);
    assert.match(queue ?? '', /proxy_pass http:\/\/mela_order;/);
    assert.match(text, /limit_req_zone \$mela_checkout zone=mela_checkout:1m rate=1000r\/s;/);
    assert.match(text, /limit_conn_zone \$mela_checkout_principal zone=mela_checkout_user:10m;/);
    assert.match(
      blocks('= /_edge/checkout-auth')[0] ?? '',
      /internal;[\s\S]*proxy_pass http:\/\/mela_catalog\/api\/auth\/me;/,
    );
    assert.doesNotMatch(blocks('/api/orders/')[0] ?? '', /limit_|auth_request/);
    assert.doesNotMatch(blocks('/api/catalog/')[0] ?? '', /limit_|auth_request/);
    assert.match(blocks('@checkout_queue_full')[0] ?? '', /"code":"checkout_queue_full"/);
    assert.match(blocks('@checkout_busy')[0] ?? '', /"code":"checkout_in_progress"/);
    assert.doesNotMatch(config({}, { checkoutQueue: false }), /limit_req|auth_request/);
    assert.match(
      config({}, { checkoutQueue: { ratePerSecond: 50, burst: 0, perUser: 1 } }),
      /rate=50r\/s;[\s\S]*limit_conn mela_checkout_user 1;[\s\S]*limit_req zone=mela_checkout burst=0;/,
    );
    assert.throws(
      () => config({}, { checkoutQueue: { ratePerSecond: 0, burst: 10 } }),
      /checkoutQueue needs a whole ratePerSecond ≥ 1, burst ≥ 0 and perUser ≥ 1, got 0, 10 and 2/,
    );
  });

  it('when nginx checks checkout tokens itself, then the room asks no one: njs sets the user key from the services’ token variables', () => {
    const checkoutTokenCheck = { jsModule: '/m/js.so', script: '/s/check.js' };
    const text = config({}, { checkoutTokenCheck, purgeModule: '/m/purge.so' });
    const entry = text.split('location = /api/orders {')[1]?.split('\n    }')[0] ?? '';

    assert.match(
      text,
      /^load_module \/m\/purge\.so;\nload_module \/m\/js\.so;\nenv AUTH_JWT_SECRET;\nenv AUTH_JWT_ISSUER;\nenv AUTH_JWT_AUDIENCE;$/m,
    );
    assert.match(
      text,
      /js_import checkout_token from \/s\/check\.js;\n\s*js_set \$mela_checkout_principal checkout_token\.principal;/,
    );
    assert.match(entry, /if \(\$mela_checkout_principal = ""\) \{ return 401; \}/);
    assert.match(entry, /try_files \S+ @checkout_user;/);
    assert.doesNotMatch(text, /checkout-auth/);
    // The admin's purge is still asked of the catalog.
    assert.match(text, /auth_request \/_edge\/purge-authz;/);
    // No room, no check.
    assert.doesNotMatch(config({}, { checkoutTokenCheck, checkoutQueue: false }), /js_|env AUTH/);
  });
});
