import { isIPv4, isIPv6 } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { AppEnv } from './types.js';

/** Failures are counted per minute, in windows that turn on the minute (as the rate limits). */
export const AUTH_WINDOW_MS = 60_000;
/** The most addresses remembered at once; past it the least recently seen are forgotten, so memory stays bounded. */
export const AUTH_MAX_ADDRESSES = 100_000;
/** What is kept of an address that is not an IP (a proxy's odd entry): no more than this. */
const MAX_ADDRESS_LENGTH = 64;

interface Entry {
  /** the start of the window the failures are of */
  window: number;
  failures: number;
  /** the refusal of this window was told (logged) */
  told: boolean;
}

export interface AuthFailureOptions {
  /** failed authentications an address may make a minute (AUTH_FAILURES_PER_MINUTE, > 0) */
  readonly perMinute: number;
  readonly maxAddresses?: number;
  readonly now?: () => number;
  /** called on an address's first refusal in a window: once per address per window */
  readonly onOverBudget?: (address: string, failures: number, retryAfterS: number) => void;
  /** called on each failure counted and on each request refused */
  readonly onFailure?: () => void;
  readonly onRefusal?: () => void;
}

/**
 * Failed authentications (401s) per client address per minute, in this process. Once an address
 * has failed `perMinute` times in the current minute, its requests to authenticated routes are
 * refused until the minute turns, whatever key they carry. At most `maxAddresses` addresses are
 * remembered (least recently seen forgotten first): a flood across many addresses can push an
 * address out and give it a fresh budget — that is the edge's to stop (per-IP limits at the
 * balancer or WAF); this budget bounds the CPU one address spends on forged keys and tokens.
 */
export class AuthFailureBudget {
  readonly perMinute: number;
  private readonly entries: LRUCache<string, Entry>;
  private readonly now: () => number;

  constructor(private readonly options: AuthFailureOptions) {
    if (!(Number.isInteger(options.perMinute) && options.perMinute > 0))
      throw new RangeError('perMinute: a whole number above 0');
    this.perMinute = options.perMinute;
    this.entries = new LRUCache({ max: options.maxAddresses ?? AUTH_MAX_ADDRESSES });
    this.now = options.now ?? Date.now;
  }

  /** Seconds until the window turns when `address` has used its budget in this one; undefined when it may try. */
  refusal(address: string): number | undefined {
    const entry = this.entries.get(address);
    if (entry === undefined || entry.failures < this.perMinute) return undefined;
    const now = this.now();
    const window = now - (now % AUTH_WINDOW_MS);
    if (entry.window !== window) return undefined;
    const retryAfter = Math.max(1, Math.ceil((window + AUTH_WINDOW_MS - now) / 1000));
    this.options.onRefusal?.();
    if (!entry.told) {
      entry.told = true;
      this.options.onOverBudget?.(address, entry.failures, retryAfter);
    }
    return retryAfter;
  }

  /** Counts one failed authentication of `address`. */
  failed(address: string): void {
    const now = this.now();
    const window = now - (now % AUTH_WINDOW_MS);
    const entry = this.entries.get(address);
    if (entry === undefined || entry.window !== window) this.entries.set(address, { window, failures: 1, told: false });
    else entry.failures++;
    this.options.onFailure?.();
  }

  /** Addresses remembered now (at most maxAddresses). */
  get size(): number {
    return this.entries.size;
  }
}

/** The budget of AUTH_FAILURES_PER_MINUTE, counted in the metrics and logged once per address per window; none for 0. */
export function authFailureBudget(
  perMinute: number,
  metrics: Pick<Metrics, 'authFailures' | 'authBlocked'>,
  log: Logger,
  now?: () => number,
): AuthFailureBudget | undefined {
  if (perMinute === 0) return undefined;
  return new AuthFailureBudget({
    perMinute,
    ...(now && { now }),
    onFailure: () => metrics.authFailures.inc(),
    onRefusal: () => metrics.authBlocked.inc(),
    onOverBudget: (address, failures, retryAfterS) =>
      log.warn(
        { address, failures, retryAfterS },
        'an address used its budget of failed authentications (AUTH_FAILURES_PER_MINUTE): refused with 429 until the minute turns',
      ),
  });
}

/**
 * The budget's key for an address: an IPv4 address as it is (an IPv4-mapped IPv6 one too), an
 * IPv6 address by its /64 prefix (`2001:db8:1:2::/64`) — a host is usually given a whole /64,
 * and would otherwise rotate through it — and anything else as written, lowercased and cut short.
 */
export function addressKey(raw: string): string {
  if (isIPv4(raw)) return raw;
  let a = raw.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  if (a.startsWith('::ffff:') && isIPv4(a.slice(7))) return a.slice(7);
  if (isIPv4(a)) return a;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (!isIPv6(a)) return a.slice(0, MAX_ADDRESS_LENGTH);
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const front = groups(head);
  const back = groups(tail);
  // an IPv4 tail (::ffff:… aside) fills two groups; only the first four matter here
  const backLength = back.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const all = [...front, ...Array<string>(Math.max(0, 8 - front.length - backLength)).fill('0'), ...back];
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** How the client's address is read: the socket's, or the entry a trusted proxy added to a header. */
export interface ClientAddressOptions {
  /** TRUSTED_PROXY_HEADER, lowercased: unset, the header is never read */
  readonly header?: string | undefined;
  /** TRUSTED_PROXY_HOPS: the entry this many places from the right is the one the nearest trusted proxy added */
  readonly hops?: number | undefined;
}

/** The socket's remote address under @hono/node-server; undefined elsewhere (app.request without bindings). */
const socketAddress = (c: Context): string | undefined =>
  (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;

/**
 * The client's address. Without a trusted header it is the socket's: forwarding headers are
 * anyone's to write. With one (e.g. `x-forwarded-for`, a comma-separated list each proxy adds
 * to on the right) it is the entry `hops` places from the right — the one the trusted proxies
 * added, not what the client wrote before them — or the left-most when there are fewer; a
 * request without the header is taken by its socket.
 */
export function clientAddress({ header, hops = 1 }: ClientAddressOptions): (c: Context) => string | undefined {
  if (header === undefined) return socketAddress;
  return (c) => {
    const value = c.req.header(header);
    if (value !== undefined) {
      const entries = value.split(',');
      const entry = entries[Math.max(0, entries.length - hops)]!.trim();
      if (entry !== '') return entry;
    }
    return socketAddress(c);
  };
}

/**
 * Mounted just before each API-key check: an address that has used its budget of failed
 * authentications is refused with 429 (Retry-After: until the minute turns) before any key is
 * hashed or token verified — even with a valid key, since telling would take the hashing. After
 * the route, a 401 of any kind (no key, unknown key, a customer token missing, forged or
 * expired) is counted against the address; any other answer spends nothing. Where a path has
 * two checks (/v1/rulesets and /v1/rulesets/*) the first that fails ends the request, so a
 * failure counts once. A request whose address is unknown (not served through Node's HTTP
 * server) is not budgeted. Requests already in flight when the budget runs out are answered as
 * they would have been.
 */
export function authFailureGuard(
  budget: AuthFailureBudget,
  addressOf: (c: Context) => string | undefined,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const raw = addressOf(c);
    if (raw === undefined) return next();
    const address = addressKey(raw);
    const retryAfter = budget.refusal(address);
    if (retryAfter !== undefined)
      throw new ApiError(
        'rate_limited',
        `this address has failed authentication ${budget.perMinute} times this minute (AUTH_FAILURES_PER_MINUTE); it is refused until the window turns in ${retryAfter} s`,
        undefined,
        retryAfter,
      );
    await next();
    if (c.res.status === 401) budget.failed(address);
  };
}
