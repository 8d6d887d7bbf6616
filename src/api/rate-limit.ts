import type { Context, MiddlewareHandler } from 'hono';
import type { Scope } from '../config.js';
import { ApiError } from '../errors.js';
import { RATE_WINDOW_MS, type WindowCounts } from '../rate-windows/store.js';
import type { AppEnv } from './types.js';

/** Limits by key scope, plus `customer`: the requests one customer token may make through a public key. */
export type RateLimits = Readonly<Partial<Record<Scope | 'customer', number>>>;

/**
 * Counts one request of `id` against `limit` in the current minute: sets `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds), and throws 429 with `Retry-After`
 * past the limit. `what` names the budget in the problem.
 */
export function countRequest(
  c: Context,
  counts: WindowCounts,
  id: string,
  limit: number,
  what: string,
  now = Date.now(),
): void {
  const windowStart = now - (now % RATE_WINDOW_MS);
  const n = counts.hit(id, windowStart);
  const reset = Math.max(1, Math.ceil((windowStart + RATE_WINDOW_MS - now) / 1000));
  c.header('ratelimit-limit', String(limit));
  c.header('ratelimit-remaining', String(Math.max(0, limit - n)));
  c.header('ratelimit-reset', String(reset));
  if (n > limit)
    throw new ApiError(
      'rate_limited',
      `${what} may make ${limit} requests a minute; the window turns in ${reset} s`,
      undefined,
      reset,
    );
}

/**
 * Per-key limits by the key's scope (`RATE_LIMITS`), mounted after the key check, which names
 * the key. Public keys are counted by their routes once the customer token is verified (see
 * publicRequestCounter), so requests with forged tokens cannot spend a site's budget.
 */
export function rateLimit(
  limits: RateLimits,
  counts: WindowCounts,
  now: () => number = Date.now,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const keyId = c.get('keyId');
    const scope = c.get('scope');
    const limit = scope === undefined || scope === 'public' ? undefined : limits[scope];
    if (keyId !== undefined && limit !== undefined)
      countRequest(c, counts, keyId, limit, `this key (${scope} scope)`, now());
    return next();
  };
}

/** For a public key's routes: the key's budget, then the customer's, counted after the token checks out. */
export function publicRequestCounter(
  limits: RateLimits,
  counts: WindowCounts,
): (c: Context<AppEnv>, customerId: string) => void {
  return (c, customerId) => {
    const keyId = c.get('keyId');
    if (keyId === undefined) return;
    if (limits.public !== undefined) countRequest(c, counts, keyId, limits.public, 'this key (public scope)');
    // a customer's own budget: one visitor cannot spend the whole site's
    if (limits.customer !== undefined)
      countRequest(c, counts, `${keyId}:${customerId}`, limits.customer, 'one customer through a public key');
  };
}
