import {
  apiServices,
  clientIdCookie,
  keepAlive,
  listenBacklog,
  type LoadBalancing,
  type ServiceName,
} from '@mela/topology';

/** A service as the edge sees it: the addresses of its replicas and how to spread requests. */
export interface EdgeUpstream {
  /** `host:port` of each replica, in order (weights follow this order). */
  readonly servers: readonly string[];
  readonly loadBalancing: LoadBalancing;
}

export interface EdgeOptions {
  /** `host:port` of the public edge: storefront, API and cached static assets. */
  readonly listen: string;
  readonly services: Readonly<Record<ServiceName, EdgeUpstream>>;
  /**
   * Also serve each service on its own address as its internal load balancer (what a Kubernetes
   * Service is in a cluster): services call each other there. Client headers pass unchanged.
   */
  readonly serviceListen?: Readonly<Partial<Record<ServiceName, string>>>;
  /** Where nginx writes: the cache, temporary files, logs and its pid file. */
  readonly dirs: {
    readonly cache: string;
    readonly temp: string;
    readonly logs: string;
    readonly pidFile: string;
  };
  /** @default { maxSize: '1g', inactive: '7d' } */
  readonly cache?: { readonly maxSize: string; readonly inactive: string };
  /**
   * Passive health checks: a replica that fails `maxFails` times (refused, reset, timed out)
   * within `failTimeoutSeconds` gets no requests for `failTimeoutSeconds`.
   * @default { maxFails: 1, failTimeoutSeconds: 10 }
   */
  readonly passiveHealth?: { readonly maxFails: number; readonly failTimeoutSeconds: number };
  /**
   * Where the logs go instead of `dirs.logs` (in a container: `/dev/stdout`, `/dev/stderr`).
   * @default `<dirs.logs>/access.log`, `<dirs.logs>/error.log`
   */
  readonly logTo?: { readonly access: string; readonly error: string };
  /** `ngx_http_cache_purge_module.so`; without it the purge path answers 501. */
  readonly purgeModule?: string | undefined;
  /** The workers' user when the master runs as root. */
  readonly user?: string | undefined;
  /** @default 'auto' (one per core) */
  readonly workerProcesses?: number | 'auto';
  /**
   * The checkout waiting room's token check in nginx itself (njs: `jsModule`, `script`), not
   * asked of the catalog for every checkout. It knows HS256 tokens of a shared secret, which
   * nginx reads from its environment under the services' own variables ({@link tokenVariables}).
   * Unset (an identity provider's tokens, or an nginx without njs): the catalog is asked.
   */
  readonly checkoutTokenCheck?: { readonly jsModule: string; readonly script: string } | undefined;
  /**
   * The checkout waiting room: `POST /api/orders` reaches the order replicas at most
   * `ratePerSecond`, the rest wait at the edge in arrival order (up to `burst`; beyond that a
   * 503 with Retry-After). A flash sale's burst becomes a queue instead of connect timeouts.
   * It is fair: a checkout joins only once its bearer token is verified (by nginx, see
   * `checkoutTokenCheck`, or asked of the catalog's `/api/auth/me`; 401 otherwise, before it
   * takes a place), and one user holds at most `perUser` places at once (429 beyond). `false`
   * turns it off.
   * @default { ratePerSecond: 1000, burst: 10000, perUser: 2 }
   */
  readonly checkoutQueue?:
    { readonly ratePerSecond: number; readonly burst: number; readonly perUser?: number } | false;
}

/**
 * The default waiting room: a little above what `npm start`'s two warm order replicas decide
 * through the edge during `npm run load`'s flash sale on the reference machine (about 850 a
 * second), so they are never left waiting for the next checkout; far above, the excess waits
 * inside them again (docs/edge.md, "The room's pace").
 */
export const defaultCheckoutQueue = { ratePerSecond: 1000, burst: 10_000, perUser: 2 } as const;

/**
 * What nginx passes on to the token check of `checkoutTokenCheck` from its environment: the
 * variables the services verify tokens with (unset issuer and audience: the platform's defaults).
 */
export const tokenVariables = ['AUTH_JWT_SECRET', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const;

/** Where nginx writes its access and error logs: `logTo`, else `access.log` and `error.log` in `dirs.logs`. */
export function edgeLogs(
  options: Pick<EdgeOptions, 'dirs' | 'logTo'>,
): NonNullable<EdgeOptions['logTo']> {
  return (
    options.logTo ?? {
      access: `${options.dirs.logs}/access.log`,
      error: `${options.dirs.logs}/error.log`,
    }
  );
}

/** The header the edge's checkout check passes on: an opaque key of the verified user. */
export const principalHeader = 'Mela-Principal';

/** nginx's variable for a header of an upstream's reply: `$upstream_http_<name>`. */
function replyHeaderVariable(header: string): string {
  return `$upstream_http_${header.toLowerCase().replace(/-/g, '_')}`;
}

/** The cache zone's name; the purge path names it too. */
export const edgeCacheZone = 'mela_edge';

/** Where the admin purges one cached URL: `<purgePath>/static/…` with an admin bearer token. */
export const purgePath = '/_edge/purge';

/** The public API prefixes and the service behind each (catalog also answers auth and pages). */
const publicRoutes: readonly {
  readonly location: string;
  readonly service: ServiceName;
  /** Its public answers are micro-cached (see {@link microCached}). */
  readonly microCache?: true;
}[] = [
  { location: '/api/catalog/', service: 'catalog', microCache: true },
  { location: '/api/auth/', service: 'catalog' },
  { location: '= /api/cart', service: 'cart' },
  { location: '/api/cart/', service: 'cart' },
  { location: '= /api/orders', service: 'order' },
  { location: '/api/orders/', service: 'order' },
];

function upstreamName(service: ServiceName): string {
  return `mela_${service}`;
}

/** nginx's directive for an algorithm; round robin and weighted are nginx's default. */
function balancingDirective(lb: LoadBalancing): string | undefined {
  switch (lb.algorithm) {
    case 'least-conn':
      return 'least_conn;';
    // The whole client address, consistently hashed: nginx's own ip_hash keys IPv4 clients by
    // their first three octets only, and a consistent hash moves few clients when a replica
    // joins or leaves.
    case 'ip-hash':
      return 'hash $remote_addr consistent;';
    case 'round-robin':
    case 'weighted':
      return undefined;
  }
}

function upstreamBlock(
  service: ServiceName,
  upstream: EdgeUpstream,
  health: { maxFails: number; failTimeoutSeconds: number },
): string[] {
  const { loadBalancing, servers } = upstream;
  if (servers.length === 0) throw new Error(`edge: ${service} has no replicas`);
  if (loadBalancing.algorithm === 'weighted' && loadBalancing.weights?.length !== servers.length) {
    throw new Error(
      `edge: ${service} is weighted with ${String(loadBalancing.weights?.length ?? 0)} weights for ${String(servers.length)} replicas`,
    );
  }
  const directive = balancingDirective(loadBalancing);
  return [
    `upstream ${upstreamName(service)} {`,
    // Shared memory: every worker sees the same turn, connection counts and failed replicas.
    `  zone ${upstreamName(service)} 64k;`,
    ...(directive ? [`  ${directive}`] : []),
    ...servers.map((server, i) => {
      const weight = loadBalancing.weights?.[i];
      return `  server ${server}${weight === undefined ? '' : ` weight=${String(weight)}`} max_fails=${String(health.maxFails)} fail_timeout=${String(health.failTimeoutSeconds)}s;`;
    }),
    '  keepalive 32;',
    // Given up before the replica closes it (topology's keepAlive).
    `  keepalive_timeout ${String(keepAlive.callerIdleSeconds)}s;`,
    '}',
  ];
}

/**
 * The request headers every proxied request carries: keep-alive to the upstream (HTTP/1.1 with
 * no `Connection: close`) and the client's Host. nginx inherits `proxy_set_header` from the
 * enclosing level only where a level sets none of its own, so a level that adds one header must
 * repeat them all — which is why they are one list, emitted whole wherever a level sets any.
 */
const upstreamHeaders = ['proxy_set_header Connection "";', 'proxy_set_header Host $host;'];

/**
 * What the public edge adds: it is the first trusted hop, so it replaces whatever
 * X-Forwarded-For a client sent.
 */
const edgeHeaders = [
  ...upstreamHeaders,
  'proxy_set_header X-Forwarded-For $remote_addr;',
  'proxy_set_header X-Forwarded-Proto $scheme;',
  'proxy_set_header X-Request-Id $request_id;',
];

/** Proxying to a service: HTTP/1.1 keep-alive, and a refused replica's request goes to the next. */
function proxyTo(service: ServiceName, tries: number, uri = ''): string[] {
  return [
    `proxy_pass http://${upstreamName(service)}${uri};`,
    // Connection refused or reset before an answer: the request was not processed, so it goes to
    // the next replica — even a POST, which nginx never resends once it reached a replica.
    'proxy_next_upstream error timeout;',
    `proxy_next_upstream_tries ${String(tries)};`,
  ];
}

/**
 * Each service's OpenAPI document as `/api/docs/<service>.json`, from one of its replicas
 * (the same document on each): the API reference the catalog serves at `/api/docs/` reads them.
 */
function apiDocuments(tries: (service: ServiceName) => number): string[] {
  return [
    "# Each service's OpenAPI document, for the API reference at /api/docs/ (the catalog's page).",
    ...apiServices.flatMap((service) =>
      location(`= /api/docs/${service}.json`, proxyTo(service, tries(service), '/openapi.json')),
    ),
  ];
}

/** A problem+json answer from nginx itself (`extra`: more directives, e.g. headers). */
function problem(
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: readonly string[] = [],
): string[] {
  return [
    'default_type application/problem+json;',
    ...extra,
    `return ${String(status)} '{"type":"about:blank","title":"${title}","status":${String(status)},"code":"${code}","detail":"${detail}"}';`,
  ];
}

/**
 * An internal location asking the catalog who the bearer is (`/api/auth/me` plus `query`):
 * the reply's status decides `auth_request`, its headers can be read from the reply.
 */
function whoIsAsking(query = ''): string[] {
  return [
    'internal;',
    `proxy_pass http://${upstreamName('catalog')}/api/auth/me${query};`,
    'proxy_pass_request_body off;',
    ...edgeHeaders,
    'proxy_set_header Content-Length "";',
  ];
}

const unavailable = problem(
  503,
  'upstream_unavailable',
  'Service unavailable',
  'No replica could answer; try again shortly.',
  ['add_header Retry-After 5 always;'],
);

/**
 * Connections per worker: a checkout waiting in the room holds one (the shopper's), and one more
 * to a replica once it is let through; the room holds up to its burst (10,000). A flash sale of
 * `npm run load` ran out at 4,096 ("worker_connections are not enough") and reset checkouts.
 */
const workerConnections = 65_536;
/**
 * Every listen of the edge's: the shoppers' port and the services' ports. Past nginx's default
 * (511) a burst's handshakes wait a second for their resend.
 */
const backlog = `backlog=${String(listenBacklog)}`;

/** The verified user's key, set by the token check (njs, or the catalog's reply). */
const checkedPrincipal = '$mela_checkout_principal';

/**
 * Hands a request on to the named location `to` once this location's access phase is done:
 * `try_files` runs after `limit_conn` and `auth_request`, and finds no such file.
 */
function handOn(to: string): string {
  return `try_files /.mela-checkout-room ${to};`;
}

/**
 * The checkout waiting room, three steps of one request inside nginx (internal redirects), in
 * this order because nginx limits requests before it checks access, and `limit_req` before
 * `limit_conn`: the public location verifies the token (in nginx when `tokensAtEdge`, else
 * `auth_request` to the catalog); `@checkout_user` counts that user's places (`limit_conn`, held
 * until the checkout is answered, so while it waits in the queue too); `@checkout_queue` lets
 * every checkout through at the room's rate (`limit_req`, delayed in arrival order) to the order
 * replicas.
 */
function waitingRoom(
  queue: { readonly burst: number; readonly perUser: number },
  tries: number,
  tokensAtEdge: boolean,
): string[] {
  const authPath = '/_edge/checkout-auth';
  return [
    ...location('= /api/orders', [
      // Reading the orders goes straight to the replicas; only placing one waits.
      'error_page 418 = @orders;',
      'if ($request_method != POST) { return 418; }',
      // No bearer token: refused before anything else, never a place in the room.
      'if ($http_authorization !~* "^Bearer [^ ]+$") { return 401; }',
      ...(tokensAtEdge
        ? // Checked here (njs): empty unless the token is valid.
          [`if (${checkedPrincipal} = "") { return 401; }`]
        : [
            `auth_request ${authPath};`,
            `auth_request_set ${checkedPrincipal} ${replyHeaderVariable(principalHeader)};`,
          ]),
      'error_page 401 403 = @checkout_unauthorized;',
      'error_page 500 502 504 = @unavailable;',
      handOn('@checkout_user'),
    ]),
    ...location('@orders', proxyTo('order', tries)),
    ...(tokensAtEdge ? [] : location(`= ${authPath}`, whoIsAsking())),
    ...location(
      '@checkout_unauthorized',
      problem(
        401,
        'unauthorized',
        'Unauthorized',
        'Sign in to check out: a valid bearer token is needed before a checkout can wait its turn.',
        ['add_header WWW-Authenticate Bearer always;'],
      ),
    ),
    ...location('@checkout_user', [
      // An empty key is not counted: a checkout the check did not name never gets this far.
      `if (${checkedPrincipal} = "") { return 401; }`,
      'error_page 401 = @checkout_unauthorized;',
      `limit_conn mela_checkout_user ${String(queue.perUser)};`,
      'limit_conn_status 429;',
      'error_page 429 = @checkout_busy;',
      handOn('@checkout_queue'),
    ]),
    ...location(
      '@checkout_busy',
      problem(
        429,
        'checkout_in_progress',
        'Too many checkouts',
        `This account already has ${String(queue.perUser)} checkouts waiting or in progress; wait for them to finish.`,
        ['add_header Retry-After 2 always;'],
      ),
    ),
    ...location('@checkout_queue', [
      `limit_req zone=mela_checkout burst=${String(queue.burst)};`,
      'error_page 502 504 = @unavailable;',
      'error_page 503 = @checkout_queue_full;',
      // The user the room counted, for the replica (which verifies the token again itself).
      ...edgeHeaders,
      `proxy_set_header ${principalHeader} ${checkedPrincipal};`,
      ...proxyTo('order', tries),
    ]),
    ...location(
      '@checkout_queue_full',
      problem(
        503,
        'checkout_queue_full',
        'Service unavailable',
        'So many checkouts are waiting that this one cannot join the queue; try again in a few seconds.',
        ['add_header Retry-After 5 always;'],
      ),
    ),
  ];
}

/** The edge cache for what the origin marks cacheable; `X-Cache` says what happened. */
const cached = [
  `proxy_cache ${edgeCacheZone};`,
  'proxy_cache_key $request_uri;',
  // One request per URL fills the cache; the others wait for it (no stampede on the origin).
  'proxy_cache_lock on;',
  'proxy_cache_lock_timeout 5s;',
  // Expired entries are revalidated with If-None-Match, and refreshed in the background when the
  // origin allows stale-while-revalidate. Stale-if-error comes from the origin's Cache-Control.
  'proxy_cache_revalidate on;',
  'proxy_cache_background_update on;',
  'add_header X-Cache $mela_x_cache always;',
];

/**
 * Micro-caching of the catalog's public JSON for anonymous shoppers: kept as long as the
 * origin's `s-maxage` says (a second, say), one request per URL filling it while the rest wait
 * (`proxy_cache_lock`), refreshed in the background while the rest get the copy. A signed-in
 * request neither reads nor fills it. Nor does a first visit (no client id cookie yet): its
 * answer sets the cookie and is that client's alone (`private`), and a request whose answer
 * nginx cannot keep would hold the cache lock while the others wait (nginx's waiters look again
 * every 500 ms).
 */
const microCached = [
  ...cached,
  'proxy_cache_bypass $http_authorization $mela_first_visit;',
  'proxy_no_cache $http_authorization $mela_first_visit;',
];

function indent(lines: readonly string[], by = '  '): string[] {
  return lines.map((line) => (line === '' ? line : `${by}${line}`));
}

function location(match: string, body: readonly string[]): string[] {
  return [`location ${match} {`, ...indent(body), '}'];
}

/**
 * nginx's configuration for the edge: the public server (routing, load balancing with passive
 * health checks, `proxy_cache` for static assets and pages, the admin purge path) and, when
 * asked, one internal load balancer per service.
 */
export function nginxConfig(options: EdgeOptions): string {
  const health = options.passiveHealth ?? { maxFails: 1, failTimeoutSeconds: 10 };
  const cache = options.cache ?? { maxSize: '1g', inactive: '7d' };
  const { dirs } = options;
  const logs = edgeLogs(options);
  const services = Object.keys(options.services) as ServiceName[];
  const queue = options.checkoutQueue === undefined ? defaultCheckoutQueue : options.checkoutQueue;
  const perUser = queue ? (queue.perUser ?? defaultCheckoutQueue.perUser) : 0;
  if (
    queue &&
    (!Number.isInteger(queue.ratePerSecond) ||
      queue.ratePerSecond < 1 ||
      !Number.isInteger(queue.burst) ||
      queue.burst < 0 ||
      !Number.isInteger(perUser) ||
      perUser < 1)
  ) {
    throw new Error(
      `checkoutQueue needs a whole ratePerSecond ≥ 1, burst ≥ 0 and perUser ≥ 1, got ${String(queue.ratePerSecond)}, ${String(queue.burst)} and ${String(perUser)}`,
    );
  }
  const tries = (service: ServiceName) => options.services[service].servers.length;
  const tokenCheck = queue ? options.checkoutTokenCheck : undefined;
  const room = queue
    ? waitingRoom({ burst: queue.burst, perUser }, tries('order'), tokenCheck !== undefined)
    : undefined;

  const purge = options.purgeModule
    ? [`auth_request ${purgePath}-authz;`, `proxy_cache_purge ${edgeCacheZone} $1$is_args$args;`]
    : problem(
        501,
        'purge_unavailable',
        'Not implemented',
        'This nginx has no cache purge module (Debian: libnginx-mod-http-cache-purge).',
      );

  const edge = [
    'server {',
    `  listen ${options.listen} ${backlog};`,
    ...indent(edgeHeaders),
    '  error_page 502 504 = @unavailable;',
    '',
    ...indent(location('@unavailable', unavailable)),
    '  # Operations endpoints stay inside, in every spelling (nginx matches the decoded, merged,',
    '  # dot-resolved path; case and trailing slashes are caught here, and the services route',
    '  # case-sensitively and strictly, so no other spelling reaches a handler either).',
    ...indent(
      location(
        '~* ^/(?:metrics|livez|readyz)(?:/.*)?$',
        problem(404, 'route_not_found', 'Not found', 'No such page.'),
      ),
    ),
    ...indent(location(`= ${purgePath}-health`, ['access_log off;', "return 200 'ok\\n';"])),
    ...publicRoutes.flatMap(({ location: match, service, microCache }) =>
      indent(
        match === '= /api/orders' && room
          ? room
          : location(match, [
              ...proxyTo(service, tries(service)),
              ...(microCache ? microCached : []),
            ]),
      ),
    ),
    ...indent(apiDocuments(tries)),
    '  # Hashed assets, product images and the storefront page: cached as the origin says.',
    ...indent(location('/static/', [...proxyTo('catalog', tries('catalog')), ...cached])),
    ...indent(location('= /', [...proxyTo('catalog', tries('catalog')), ...cached])),
    ...indent(location('/', proxyTo('catalog', tries('catalog')))),
    `  # ${purgePath}/<path>: drops <path> from the cache; admins only (asked of the catalog).`,
    ...indent(location(`~ ^${purgePath}(/.*)$`, purge)),
    ...indent(location(`= ${purgePath}-authz`, whoIsAsking('?role=admin'))),
    '}',
  ];

  const internal = services.flatMap((service) => {
    const listen = options.serviceListen?.[service];
    if (listen === undefined) return [];
    return [
      'server {',
      `  listen ${listen} ${backlog};`,
      ...indent(location('/', proxyTo(service, tries(service)))),
      '}',
    ];
  });

  const http = [
    'http {',
    '  default_type application/octet-stream;',
    '  server_tokens off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_timeout 65s;',
    '  client_max_body_size 1m;',
    `  client_body_temp_path ${dirs.temp}/body;`,
    `  proxy_temp_path ${dirs.temp}/proxy;`,
    `  fastcgi_temp_path ${dirs.temp}/fastcgi;`,
    `  uwsgi_temp_path ${dirs.temp}/uwsgi;`,
    `  scgi_temp_path ${dirs.temp}/scgi;`,
    '  log_format mela escape=json \'{"time":"$time_iso8601","client":"$remote_addr","method":"$request_method","uri":"$request_uri","status":$status,"upstream":"$upstream_addr","upstreamStatus":"$upstream_status","cache":"$upstream_cache_status","seconds":$request_time,"requestId":"$request_id"}\';',
    `  access_log ${logs.access} mela;`,
    `  proxy_cache_path ${dirs.cache} levels=1:2 keys_zone=${edgeCacheZone}:10m max_size=${cache.maxSize} inactive=${cache.inactive} use_temp_path=off;`,
    `  map $cookie_${clientIdCookie} $mela_first_visit {`,
    '    "" 1;',
    '    default 0;',
    '  }',
    '  map $upstream_cache_status $mela_x_cache {',
    '    HIT HIT;',
    '    REVALIDATED HIT;',
    '    STALE STALE;',
    '    UPDATING STALE;',
    '    default MISS;',
    '  }',
    '  proxy_http_version 1.1;',
    ...indent(upstreamHeaders),
    '  proxy_connect_timeout 2s;',
    '  proxy_read_timeout 60s;',
    ...(queue
      ? [
          '  # The checkout waiting room: only POSTs to /api/orders are counted (an empty key is not).',
          '  map $request_method $mela_checkout {',
          '    POST checkout;',
          '    default "";',
          '  }',
          `  limit_req_zone $mela_checkout zone=mela_checkout:1m rate=${String(queue.ratePerSecond)}r/s;`,
          '  limit_req_status 503;',
          '  # Delaying a checkout is the room at work (logged at notice: not kept); a full room warns.',
          '  limit_req_log_level warn;',
          `  limit_conn_zone ${checkedPrincipal} zone=mela_checkout_user:10m;`,
        ]
      : []),
    ...(tokenCheck
      ? [
          '  # The checkout token check: the user key of a valid bearer token, else empty.',
          `  js_import checkout_token from ${tokenCheck.script};`,
          `  js_set ${checkedPrincipal} checkout_token.principal;`,
        ]
      : []),
    '',
    ...services.flatMap((service) =>
      indent(upstreamBlock(service, options.services[service], health)),
    ),
    '',
    ...indent(edge),
    ...indent(internal),
    '}',
  ];

  return [
    '# Generated by @mela/edge from the topology; edits are overwritten.',
    ...(options.purgeModule ? [`load_module ${options.purgeModule};`] : []),
    ...(tokenCheck
      ? [`load_module ${tokenCheck.jsModule};`, ...tokenVariables.map((name) => `env ${name};`)]
      : []),
    ...(options.user ? [`user ${options.user};`] : []),
    `worker_processes ${String(options.workerProcesses ?? 'auto')};`,
    `pid ${dirs.pidFile};`,
    `error_log ${logs.error} warn;`,
    `worker_rlimit_nofile ${String(workerConnections * 2)};`,
    'events {',
    `  worker_connections ${String(workerConnections)};`,
    '}',
    ...http,
    '',
  ].join('\n');
}
