import type { MiddlewareHandler } from 'hono';
import type { Scope } from '../config.js';
import { ApiError } from '../errors.js';
import type { AppEnv } from './types.js';

/** The window of every limit: requests per key per minute. */
export const RATE_WINDOW_MS = 60_000;

/**
 * Requests per key in the current window. `hit` counts one and answers how many the window
 * holds so far — every node's, as far as this node knows, when the counts are shared.
 */
export interface WindowCounts {
  hit(keyId: string, windowStart: number): number;
  close(): Promise<void>;
}

/** The embedded default: this process's counts, the current window only. */
export class MemoryWindowCounts implements WindowCounts {
  private window = -1;
  private counts = new Map<string, number>();

  hit(keyId: string, windowStart: number): number {
    if (windowStart !== this.window) {
      this.window = windowStart;
      this.counts = new Map();
    }
    const n = (this.counts.get(keyId) ?? 0) + 1;
    this.counts.set(keyId, n);
    return n;
  }

  async close(): Promise<void> {}
}

/**
 * Per-key limits by the key's scope (`RATE_LIMITS`), with `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds) on every answer, and 429 with
 * `Retry-After` past the limit. Mounted after the key check, which names the key.
 */
export function rateLimit(limits: Readonly<Partial<Record<Scope, number>>>, counts: WindowCounts, now: () => number = Date.now): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const keyId = c.get('keyId');
    const scope = c.get('scope');
    const limit = scope === undefined ? undefined : limits[scope];
    if (keyId === undefined || limit === undefined) return next();
    const t = now();
    const windowStart = t - (t % RATE_WINDOW_MS);
    const n = counts.hit(keyId, windowStart);
    const reset = Math.max(1, Math.ceil((windowStart + RATE_WINDOW_MS - t) / 1000));
    c.header('ratelimit-limit', String(limit));
    c.header('ratelimit-remaining', String(Math.max(0, limit - n)));
    c.header('ratelimit-reset', String(reset));
    if (n > limit) throw new ApiError('rate_limited', `this key may make ${limit} requests a minute (${scope} scope); the window turns in ${reset} s`, undefined, reset);
    return next();
  };
}
