import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { Budget, type Taken } from './budget.js';
import { principalKey, verifyRequest, type TokenVerifier } from './auth.js';
import type { ClientIds } from './client-id.js';
import { annotate, AppError, DependencyUnavailableError } from '@mela/core';

/**
 * One limit: so many requests per window, per identity. Every rule that matches a request
 * applies (a sign-in counts against the address and against the account it names).
 */
export interface RateLimitRule {
  /** Stable name: the metric label and the `RateLimit-Policy` name. */
  readonly name: string;
  readonly method: string;
  /** Path pattern; `:param` matches one segment. */
  readonly path: string;
  /** Only when this holds too (e.g. a search: `q` is present). */
  readonly when?: (req: Request) => boolean;
  readonly points: number;
  readonly windowSeconds: number;
  /**
   * When Redis cannot be reached: `open` keeps serving under an in-process limit of the same
   * size (per replica), `closed` answers 503 (for what must never be over-served, such as orders).
   */
  readonly onStoreFailure: 'open' | 'closed';
  /**
   * Whose budget it is.
   * - `client` (the default): the signed-in user; else the anonymous client's signed id (a
   *   first-party cookie the limiter issues), all of one address's ids together under a ceiling
   *   of `points × clientsPerAddress` — a carrier-grade NAT puts thousands of shoppers behind
   *   one address; else (no valid id yet, or a client that drops cookies) the address itself.
   * - `address`: the client's address, signed in or not.
   * - `account`: the account the request names (`account`), e.g. the user signing in.
   */
  readonly per?: 'client' | 'address' | 'account';
  /** For `per: 'account'`: the account the request names; the rule skips requests naming none. */
  readonly account?: (req: Request) => string | undefined;
  /** For `per: 'client'`: how many clients' budgets one address may use up. @default 50 */
  readonly clientsPerAddress?: number;
  /**
   * `failures`: only a refused attempt (an answer 400–499 other than 429) spends a point, and
   * once they are spent every attempt is refused until the window ends — a failed sign-in.
   * @default 'all'
   */
  readonly counts?: 'all' | 'failures';
  /**
   * Its answers are public and may be kept by a shared cache (the edge's micro-cache) for
   * everyone: the `RateLimit` headers, which are this client's, then go on refusals only.
   * @default false
   */
  readonly cacheable?: boolean;
}

const signIn = { method: 'POST', path: '/api/auth/dev-token', onStoreFailure: 'closed' } as const;

/** The user id a sign-in names, whatever else its body holds. */
function signInAccount(req: Request): string | undefined {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || !('userId' in body)) return undefined;
  return typeof body.userId === 'string' ? body.userId : undefined;
}

/** What a sale needs, per identity: browsing generous, buying and signing in strict. */
export const defaultRateLimitRules: readonly RateLimitRule[] = [
  {
    name: 'search',
    method: 'GET',
    path: '/api/catalog/products',
    when: (req) => req.query['q'] !== undefined,
    points: 60,
    windowSeconds: 60,
    onStoreFailure: 'open',
    cacheable: true,
  },
  {
    name: 'products',
    method: 'GET',
    path: '/api/catalog/products',
    when: (req) => req.query['q'] === undefined,
    points: 100,
    windowSeconds: 60,
    onStoreFailure: 'open',
    cacheable: true,
  },
  {
    name: 'product',
    method: 'GET',
    path: '/api/catalog/products/:id',
    points: 100,
    windowSeconds: 60,
    onStoreFailure: 'open',
    cacheable: true,
  },
  {
    name: 'cart-add',
    method: 'POST',
    path: '/api/cart/items',
    points: 30,
    windowSeconds: 60,
    onStoreFailure: 'open',
  },
  {
    name: 'orders',
    method: 'POST',
    path: '/api/orders',
    points: 5,
    windowSeconds: 60,
    onStoreFailure: 'closed',
  },
  // As identity providers do: failed attempts strictly per account, all attempts generously
  // per address (a shared address, or a newcomer's script minting dev users, is not locked out).
  {
    ...signIn,
    name: 'login-failures',
    per: 'account',
    account: signInAccount,
    counts: 'failures',
    points: 5,
    windowSeconds: 15 * 60,
  },
  { ...signIn, name: 'login', per: 'address', points: 300, windowSeconds: 15 * 60 },
];

export interface RateLimiterOptions {
  /** An ioredis client shared by every replica (fail fast: `enableOfflineQueue: false`). */
  readonly redis: Redis;
  readonly registry: Registry;
  readonly tokens: TokenVerifier;
  /**
   * Signs the anonymous clients' ids (see {@link createClientIds}); without it anonymous
   * clients are known by their address only.
   */
  readonly clientIds?: ClientIds | undefined;
  /** Every matching rule applies. @default defaultRateLimitRules */
  readonly rules?: readonly RateLimitRule[];
  /** @default 'ratelimit:' */
  readonly keyPrefix?: string;
}

const privateAddress =
  /^(?:::ffff:)?(?:127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)|^::1$|^f[cd][0-9a-f]{2}:/i;

function isInternal(address: string | undefined): boolean {
  return address !== undefined && privateAddress.test(address);
}

function matcher(path: string): RegExp {
  const pattern = path
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  // Exactly the spelling express serves (see createRouter): case-sensitive, no trailing slash.
  return new RegExp(`^${pattern}$`);
}

/** A budget charged to one key. */
interface Spend {
  readonly budget: Budget;
  readonly key: string;
}

/** What one budget answered a request, under the rule that spent it. */
interface Outcome extends Spend {
  readonly rule: RateLimitRule;
  readonly taken: Taken;
}

/** `f` of `value`: at once when it is there, after it when it is a promise. */
function then<T, U>(value: T | Promise<T>, f: (t: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}

/**
 * Express middleware enforcing the rules with counters in Redis, so the limit holds across all
 * replicas; answers 429 with `Retry-After` and the IETF `RateLimit-Policy`/`RateLimit` headers.
 */
export function rateLimiter(options: RateLimiterOptions): RequestHandler {
  const prefix = options.keyPrefix ?? 'ratelimit:';
  const { clientIds } = options;
  const limited = new Counter({
    name: 'rate_limited_total',
    help: 'Requests refused with 429, by rule',
    labelNames: ['rule'] as const,
    registers: [options.registry],
  });
  const fallbacks = new Counter({
    name: 'rate_limit_store_failures_total',
    help: 'Rate-limit checks Redis could not answer, by rule and what happened (open: in-process limit, closed: 503)',
    labelNames: ['rule', 'policy'] as const,
    registers: [options.registry],
  });
  // Every rule exported from the start, so "429s per rule" shows 0 rather than no data.
  for (const rule of options.rules ?? defaultRateLimitRules) {
    limited.inc({ rule: rule.name }, 0);
    fallbacks.inc({ rule: rule.name, policy: rule.onStoreFailure }, 0);
  }
  const rules = (options.rules ?? defaultRateLimitRules).map((rule) => ({
    rule,
    pattern: matcher(rule.path),
    own: new Budget(
      options.redis,
      rule.name,
      rule.points,
      rule.windowSeconds,
      `${prefix}${rule.name}`,
    ),
    // The ceiling over all of one address's anonymous clients (only where they have ids).
    address:
      (rule.per ?? 'client') === 'client' && clientIds !== undefined
        ? new Budget(
            options.redis,
            `${rule.name}-address`,
            rule.points * (rule.clientsPerAddress ?? 50),
            rule.windowSeconds,
            `${prefix}${rule.name}-address`,
          )
        : undefined,
  }));
  type Match = (typeof rules)[number];

  /**
   * Who sent the request, each part worked out once however many rules ask: the signed-in
   * user (the token verified once), the address, the anonymous client's id — issued (and the
   * answer's cookie set) on the first ask when it has no valid one.
   */
  class Requester {
    #user: Promise<string | undefined> | undefined;
    #client: { readonly id: string | undefined } | undefined;

    constructor(
      readonly req: Request,
      readonly res: Response,
    ) {}

    /** The signed-in user; known at once when the request carries no token. */
    user(): string | undefined | Promise<string | undefined> {
      if (this.req.headers.authorization === undefined) return undefined;
      return (this.#user ??= verifyRequest(this.req, options.tokens).then(
        (principal) => principal.userId,
        () => undefined,
      ));
    }

    address(): string | undefined {
      return address(this.req);
    }

    client(): string | undefined {
      if (this.#client === undefined) {
        const id = clientIds?.read(this.req);
        // A first visit (or a client dropping cookies): it gets an id for its next request.
        if (id === undefined) clientIds?.issue(this.req, this.res);
        this.#client = { id };
      }
      return this.#client.id;
    }
  }

  /** A client's address, or undefined for a service calling another from inside. */
  function address(req: Request): string | undefined {
    // Shoppers arrive through the edge, which always sets X-Forwarded-For; an anonymous request
    // without it from a private address is another Mela service (the cart asking the catalog).
    if (req.headers['x-forwarded-for'] === undefined && isInternal(req.socket.remoteAddress))
      return undefined;
    return `ip:${req.ip ?? 'unknown'}`;
  }

  /** Which budgets the request spends under the rule (none: the rule does not apply to it). */
  function spends(match: Match, who: Requester): Spend[] | Promise<Spend[]> {
    const { rule, own } = match;
    const per = rule.per ?? 'client';
    if (per === 'account') {
      const account = rule.account?.(who.req);
      return account === undefined
        ? []
        : [{ budget: own, key: `account:${principalKey(account)}` }];
    }
    return per === 'client'
      ? then(who.user(), (user) =>
          user === undefined ? anonymousSpends(match, who) : [{ budget: own, key: `user:${user}` }],
        )
      : anonymousSpends(match, who);
  }

  /** The budgets of a requester not signed in (or a rule per address). */
  function anonymousSpends(match: Match, who: Requester): Spend[] {
    const { own } = match;
    const ip = who.address();
    if (ip === undefined) return [];
    if (match.address === undefined) return [{ budget: own, key: ip }];
    const client = who.client();
    // Without an id yet, the address's own budget; with one, the client's, under the ceiling.
    if (client === undefined) return [{ budget: own, key: ip }];
    return [
      { budget: own, key: `client:${client}` },
      { budget: match.address, key: ip },
    ];
  }

  /**
   * Spends (or, for failures, checks) one budget: at once when this replica's lease decides,
   * else through Redis; Redis down → the rule's store-failure policy.
   */
  function check(rule: RateLimitRule, { budget, key }: Spend): Outcome | Promise<Outcome> {
    const taken = rule.counts === 'failures' ? budget.check(key) : budget.spend(key);
    if (!(taken instanceof Promise)) return { rule, budget, key, taken };
    return taken.then(
      (answer) => ({ rule, budget, key, taken: answer }),
      async (failure: unknown) => {
        fallbacks.inc({ rule: rule.name, policy: rule.onStoreFailure });
        if (rule.onStoreFailure === 'closed') {
          throw new DependencyUnavailableError('rate limiter', failure);
        }
        return { rule, budget, key, taken: await budget.spendLocally(key) };
      },
    );
  }

  /**
   * A rule's outcomes, added to `checked`: a client's own budget comes first, and only what it
   * allows spends the address's ceiling (a client over its own limit does not use up its
   * neighbours' share).
   */
  function ruleOutcomes(
    rule: RateLimitRule,
    list: readonly Spend[],
    checked: Outcome[],
    from = 0,
  ): undefined | Promise<unknown> {
    for (let i = from; i < list.length; i += 1) {
      const outcome = check(rule, list[i] as Spend);
      if (outcome instanceof Promise)
        return outcome.then((o) => {
          checked.push(o);
          return o.taken.allowed ? ruleOutcomes(rule, list, checked, i + 1) : undefined;
        });
      checked.push(outcome);
      if (!outcome.taken.allowed) break;
    }
    return undefined;
  }

  /** After the answer: a failure spends a point of each `counts: 'failures'` budget. */
  function spendOnFailure(res: Response, failures: readonly Spend[]): void {
    res.once('finish', () => {
      if (res.statusCode < 400 || res.statusCode > 499 || res.statusCode === 429) return;
      for (const { budget, key } of failures) {
        budget.spendShared(key).catch(() => budget.spendLocally(key));
      }
    });
  }

  // The rules a request may match, by method: most requests test a few patterns, or none.
  const byMethod = new Map<string, Match[]>();
  for (const match of rules) {
    const list = byMethod.get(match.rule.method);
    if (list === undefined) byMethod.set(match.rule.method, [match]);
    else list.push(match);
  }

  // Decided without waiting when every budget a request spends has points leased here (most
  // requests of a busy client): no promise, no microtask, and nothing allocated beyond the
  // outcomes. Otherwise the rules are independent, and one round trip's wait covers all of them.
  return (req: Request, res: Response, next: NextFunction): void | Promise<void> => {
    const candidates = byMethod.get(req.method);
    if (candidates === undefined) {
      next();
      return;
    }
    let who: Requester | undefined;
    // Each matching rule's outcomes, in the rules' order, whenever they are known.
    let perRule: Outcome[][] | undefined;
    let waits: Promise<unknown>[] | undefined;
    for (const match of candidates) {
      if (!match.pattern.test(req.path) || match.rule.when?.(req) === false) continue;
      who ??= new Requester(req, res);
      const checked: Outcome[] = [];
      (perRule ??= []).push(checked);
      const done = then(spends(match, who), (list) => ruleOutcomes(match.rule, list, checked));
      if (done instanceof Promise) (waits ??= []).push(done);
    }
    if (perRule === undefined) {
      next();
      return;
    }
    const rows = perRule;
    if (waits !== undefined)
      return Promise.all(waits).then(() => {
        decide(res, next, rows.flat());
      });
    decide(res, next, rows.length === 1 ? (rows[0] as Outcome[]) : rows.flat());
  };

  /** Lets the request on (its budgets' headers set where they belong) or refuses it with 429. */
  function decide(res: Response, next: NextFunction, outcomes: readonly Outcome[]): void {
    if (outcomes.length === 0) {
      next();
      return;
    }
    let refused: Outcome | undefined;
    let cacheable = true;
    let failures: Spend[] | undefined;
    for (const outcome of outcomes) {
      if (refused === undefined && !outcome.taken.allowed) refused = outcome;
      if (outcome.rule.cacheable !== true) cacheable = false;
      if (outcome.rule.counts === 'failures') (failures ??= []).push(outcome);
    }
    annotate(
      refused
        ? { 'mela.ratelimit.decision': 'refused', 'mela.ratelimit.rule': refused.rule.name }
        : { 'mela.ratelimit.decision': 'allowed' },
    );
    // An answer a shared cache keeps for everyone carries no one client's budget.
    if (refused !== undefined || !cacheable) setBudgetHeaders(res, outcomes);
    if (refused === undefined) {
      if (failures !== undefined) spendOnFailure(res, failures);
      next();
      return;
    }
    const { rule, budget, taken } = refused;
    limited.inc({ rule: rule.name });
    throw new AppError('rate_limited', 429, 'Too many requests', {
      detail:
        rule.counts === 'failures'
          ? `Too many failed attempts for this account (at most ${budget.points} per ${budget.windowSeconds} s); retry in ${taken.resetSeconds} s.`
          : `At most ${budget.points} requests per ${budget.windowSeconds} s for this; retry in ${taken.resetSeconds} s.`,
      headers: { 'Retry-After': String(taken.resetSeconds) },
      extensions: { rule: rule.name },
    });
  }
}

/** The IETF `RateLimit-Policy` and `RateLimit` headers: per rule, the budget closest to its end. */
function setBudgetHeaders(res: Response, outcomes: readonly Outcome[]): void {
  const tightest = new Map<string, Outcome>();
  for (const outcome of outcomes) {
    const seen = tightest.get(outcome.rule.name);
    if (seen === undefined || outcome.taken.remaining < seen.taken.remaining)
      tightest.set(outcome.rule.name, outcome);
  }
  const shown = [...tightest.values()];
  res.set(
    'RateLimit-Policy',
    shown
      .map(({ budget }) => `"${budget.policy}";q=${budget.points};w=${budget.windowSeconds}`)
      .join(', '),
  );
  res.set(
    'RateLimit',
    shown
      .map(({ budget, taken }) => `"${budget.policy}";r=${taken.remaining};t=${taken.resetSeconds}`)
      .join(', '),
  );
}
