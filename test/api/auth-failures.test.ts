import type { AddressInfo } from 'node:net';
import { serve as listen } from '@hono/node-server';
import { sign } from 'hono/jwt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthFailureBudget, addressKey, authFailureBudget, clientAddress } from '../../src/api/auth-failures.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/ops/metrics.js';
import { testApp } from '../support/app.js';
import { problemsOf } from '../support/config.js';

// every SHA-256 of a key look-up goes through createHash: counted, to show a refused request hashes nothing
const hashing = vi.hoisted(() => ({ calls: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return {
    ...crypto,
    createHash: (...args: Parameters<typeof crypto.createHash>) => {
      hashing.calls++;
      return crypto.createHash(...args);
    },
  };
});

type App = Awaited<ReturnType<typeof testApp>>;
const DECIDE = 'decide-key-failures-0123456789';
const ADMIN = 'admin-key-failures-0123456789';
const PUBLIC = 'public-key-failures-0123456789';
const UNKNOWN = 'unknown-key-failures-0123456789';
const SECRET = 'auth-failures-customer-token-secret-0123456789';
/** 15 s into a minute: the window turns in 45 s */
const T0 = Date.UTC(2026, 0, 5, 10, 30, 15);
const exp = () => Math.floor(Date.now() / 1000) + 600;
const token = (secret = SECRET) => sign({ sub: 'C0000001', exp: exp() }, secret, 'HS256');

interface Call {
  readonly key?: string;
  readonly path?: string;
  readonly method?: 'GET' | 'POST';
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

describe('failed authentication is limited per client address', () => {
  let t: App;
  let good: string;
  let forged: string;
  beforeAll(async () => {
    t = await testApp({
      API_KEYS: `decide:${DECIDE},admin:${ADMIN},public:${PUBLIC}`,
      CUSTOMER_TOKEN_SECRET: SECRET,
      OPS_AUTH: 'admin',
      RATE_LIMITS: 'public:0,customer:0,decide:0,admin:0',
    });
    good = await token();
    forged = await token('a-secret-the-attacker-guessed-0123456789');
  });
  afterAll(() => t.services.close());
  afterEach(() => vi.restoreAllMocks());

  /** The app with a budget of `perMinute` on a clock of the test's, and what it logs. */
  function serve(perMinute = 5, env: Partial<App['services']['config']> = {}, metrics = t.services.metrics) {
    const clock = { now: T0 };
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const budget = authFailureBudget(perMinute, metrics, log, () => clock.now);
    const app = createApp({ ...t.services, config: { ...t.services.config, ...env }, authFailures: budget });
    const send = (
      from: string | undefined,
      { key, path = '/v1/decisions', method = 'POST', body, headers }: Call = {},
    ) =>
      app.request(
        path,
        {
          method,
          headers: { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }), ...headers },
          ...(method === 'POST' && { body: JSON.stringify(body ?? { customerId: 'C0000001', channel: 'web' }) }),
        },
        from === undefined ? undefined : { incoming: { socket: { remoteAddress: from } } },
      );
    return { app, send, clock, lines, budget };
  }

  it('answers the attempt after the budget with 429 and Retry-After, per address; a spent address is refused even with a valid key', async () => {
    const { send } = serve(5);
    for (let i = 0; i < 5; i++) expect((await send('203.0.113.7', { key: UNKNOWN })).status).toBe(401);
    const over = await send('203.0.113.7', { key: UNKNOWN });
    expect(over.status).toBe(429);
    expect(over.headers.get('content-type')).toContain('application/problem+json');
    expect(over.headers.get('retry-after')).toBe('45');
    const body = await over.json();
    expect(body.type).toBe('urn:nextbest:problem:rate_limited');
    expect(body.detail).toMatch(/failed authentication 5 times this minute/);
    // refused before the key is looked at: a valid one is refused too, and no key at all
    expect((await send('203.0.113.7', { key: DECIDE })).status).toBe(429);
    expect((await send('203.0.113.7')).status).toBe(429);
    // another address has a budget of its own
    expect((await send('203.0.113.8', { key: UNKNOWN })).status).toBe(401);
    expect((await send('203.0.113.8', { key: DECIDE })).status).toBe(200);
  });

  it('counts every kind of 401: no key, unknown key, missing, forged or expired customer token, on either public route', async () => {
    const { send } = serve(6);
    const from = '198.51.100.20';
    const expired = await sign({ sub: 'C0000001', exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, 'HS256');
    const attempts: Call[] = [
      {},
      { key: UNKNOWN, path: '/v1/rulesets', method: 'GET' },
      { key: PUBLIC, body: { channel: 'web', customerToken: forged } },
      { key: PUBLIC, body: { channel: 'web', customerToken: expired } },
      { key: PUBLIC, path: '/v1/responses', body: { customerToken: forged, events: [] } },
      { key: PUBLIC, body: { channel: 'web', customerToken: 'not-a-jwt' } },
    ];
    for (const a of attempts) expect((await send(from, a)).status, JSON.stringify(a)).toBe(401);
    expect((await send(from, { key: PUBLIC, body: { channel: 'web', customerToken: good } })).status).toBe(429);
  });

  it('spends nothing on successful requests, nor on a 403 (an authenticated caller of the wrong scope)', async () => {
    const { send } = serve(5);
    const from = '192.0.2.44';
    for (let i = 0; i < 4; i++) expect((await send(from, { key: UNKNOWN })).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await send(from, { key: DECIDE })).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await send(from, { key: PUBLIC, body: { channel: 'web', customerToken: good } })).status).toBe(200);
    for (let i = 0; i < 10; i++)
      expect((await send(from, { key: DECIDE, path: '/v1/rulesets', method: 'GET' })).status).toBe(403);
    expect((await send(from, { key: UNKNOWN })).status).toBe(401);
    expect((await send(from, { key: UNKNOWN })).status).toBe(429);
  });

  it('lets the address in again when the window turns, with a fresh budget', async () => {
    const { send, clock } = serve(3);
    const from = '203.0.113.9';
    for (let i = 0; i < 3; i++) expect((await send(from, { key: UNKNOWN })).status).toBe(401);
    clock.now = T0 + 44_999; // the last millisecond of the minute
    const last = await send(from, { key: DECIDE });
    expect(last.status).toBe(429);
    expect(last.headers.get('retry-after')).toBe('1');
    clock.now = T0 + 45_000; // the next minute
    expect((await send(from, { key: DECIDE })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await send(from, { key: UNKNOWN })).status).toBe(401);
    expect((await send(from, { key: UNKNOWN })).status).toBe(429);
  });

  it('refuses before any hashing or HMAC: forged tokens past the budget cost no SHA-256 and no verification', async () => {
    const { send } = serve(5);
    const verify = vi.spyOn(crypto.subtle, 'verify');
    hashing.calls = 0;
    const from = '203.0.113.50';
    for (let i = 0; i < 5; i++)
      expect((await send(from, { key: PUBLIC, body: { channel: 'web', customerToken: forged } })).status).toBe(401);
    // each checked attempt: one SHA-256 (the key look-up) and one HMAC (the token)
    expect(verify).toHaveBeenCalledTimes(5);
    expect(hashing.calls).toBe(5);
    for (let i = 0; i < 100; i++) {
      const key = i % 2 ? PUBLIC : UNKNOWN;
      expect((await send(from, { key, body: { channel: 'web', customerToken: forged } })).status).toBe(429);
    }
    expect(verify).toHaveBeenCalledTimes(5);
    expect(hashing.calls).toBe(5);
  });

  it('replays the incident: 3,000 forged tokens and 1,000 unknown keys from one address get the budget of 401s, the rest 429', async () => {
    // the default budget, as the service builds it
    expect(t.services.authFailures?.perMinute).toBe(60);
    const { send } = serve(60);
    const verify = vi.spyOn(crypto.subtle, 'verify');
    hashing.calls = 0;
    const answers = new Map<number, number>();
    for (let i = 0; i < 4_000; i++) {
      const res = await send('198.51.100.66', {
        key: i % 4 === 3 ? UNKNOWN : PUBLIC,
        body: { channel: 'web', customerToken: forged },
      });
      answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(answers)).toEqual({ 401: 60, 429: 3_940 });
    expect(verify.mock.calls.length).toBeLessThanOrEqual(60);
    expect(hashing.calls).toBeLessThanOrEqual(60);
  });

  it('guards every authenticated route, counts a path with two key checks once, and leaves open routes open', async () => {
    const { send } = serve(5);
    const from = '203.0.113.77';
    // /v1/rulesets is matched by two key checks (/v1/rulesets and /v1/rulesets/*): still one failure each
    for (let i = 0; i < 5; i++)
      expect((await send(from, { key: UNKNOWN, path: '/v1/rulesets', method: 'GET' })).status).toBe(401);
    const routes: Call[] = [
      { path: '/v1/decisions' },
      { path: '/v1/responses' },
      { path: '/v1/decisions/some-decision-id', method: 'GET' },
      { path: '/v1/profiles/C0000001', method: 'GET' },
      { path: '/v1/reports/offers', method: 'GET' },
      { path: '/v1/rulesets', method: 'GET' },
      { path: '/v1/rulesets/reload' },
      { path: '/metrics', method: 'GET' },
      { path: '/docs', method: 'GET' },
    ];
    for (const r of routes) expect((await send(from, { ...r, key: ADMIN })).status, r.path).toBe(429);
    for (const path of ['/healthz', '/readyz', '/widget.js'])
      expect((await send(from, { path, method: 'GET' })).status, path).toBe(200);
  });

  it('logs once per address per window when it goes over, with the address, and counts in the metrics', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { send, lines, clock } = serve(2, {}, metrics);
    const flood = async (from: string, n: number) => {
      for (let i = 0; i < n; i++) await send(from, { key: UNKNOWN });
    };
    await flood('203.0.113.1', 10);
    await flood('2001:db8:aa:bb::1', 10);
    expect(lines.map((l) => [l.level, l.address])).toEqual([
      [40, '203.0.113.1'],
      [40, '2001:db8:aa:bb::/64'],
    ]);
    clock.now += 60_000;
    await flood('203.0.113.1', 5);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ address: '203.0.113.1', failures: 2, retryAfterS: 45 });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^nextbest_auth_failures_total 6$/m);
    expect(text).toMatch(/^nextbest_auth_blocked_total 19$/m);
  });

  it('groups IPv6 addresses by /64: one host cannot rotate through its prefix', async () => {
    const { send } = serve(5);
    for (let i = 1; i <= 5; i++)
      expect((await send(`2001:db8:1:2::${i.toString(16)}`, { key: UNKNOWN })).status).toBe(401);
    expect((await send('2001:db8:1:2:ffff:ffff:ffff:fffe', { key: DECIDE })).status).toBe(429);
    expect((await send('2001:0db8:0001:0002:abcd::9', { key: DECIDE })).status).toBe(429);
    // the next /64 is someone else
    expect((await send('2001:db8:1:3::1', { key: UNKNOWN })).status).toBe(401);
    // IPv4 by the address, whether the socket gives it plain or IPv4-mapped
    for (let i = 0; i < 5; i++) expect((await send('::ffff:192.0.2.1', { key: UNKNOWN })).status).toBe(401);
    expect((await send('192.0.2.1', { key: DECIDE })).status).toBe(429);
    expect((await send('192.0.2.2', { key: DECIDE })).status).toBe(200);
  });

  it('ignores forwarding headers unless TRUSTED_PROXY_HEADER is set: a rotating X-Forwarded-For is still one address', async () => {
    const { send } = serve(5);
    const rotate = (i: number) => ({ 'x-forwarded-for': `10.0.${i >> 8}.${i & 255}` });
    for (let i = 0; i < 5; i++)
      expect((await send('203.0.113.99', { key: UNKNOWN, headers: rotate(i) })).status).toBe(401);
    for (let i = 5; i < 50; i++)
      expect((await send('203.0.113.99', { key: DECIDE, headers: rotate(i) })).status).toBe(429);
  });

  it('with TRUSTED_PROXY_HEADER, budgets the addresses the proxy adds, each apart, and not what the client wrote before', async () => {
    const { send } = serve(3, { TRUSTED_PROXY_HEADER: 'x-forwarded-for' });
    const proxy = '10.0.0.5';
    const via = (chain: string) => ({ key: UNKNOWN, headers: { 'x-forwarded-for': chain } });
    for (let i = 0; i < 3; i++) expect((await send(proxy, via(`1.1.1.${i}, 198.51.100.1`))).status).toBe(401);
    // the client rotates what it writes; the proxy's entry, on the right, is what counts
    expect((await send(proxy, via('9.9.9.9, 198.51.100.1'))).status).toBe(429);
    expect((await send(proxy, { ...via('198.51.100.1'), key: DECIDE })).status).toBe(429);
    // another client through the same proxy has its own budget
    expect((await send(proxy, via('198.51.100.2'))).status).toBe(401);
    expect((await send(proxy, { ...via('198.51.100.2'), key: DECIDE })).status).toBe(200);
    // a request that did not come through the proxy is taken by its socket
    expect((await send(proxy, { key: DECIDE })).status).toBe(200);
  });

  it('with TRUSTED_PROXY_HOPS, takes the entry that many places from the right', () => {
    const at = (header: string | undefined, hops: number | undefined, value: string | undefined, socket?: string) => {
      const c = {
        req: { header: (name: string) => (name === 'x-forwarded-for' ? value : undefined) },
        env: socket === undefined ? undefined : { incoming: { socket: { remoteAddress: socket } } },
      };
      return clientAddress({ header, hops })(c as never);
    };
    expect(at('x-forwarded-for', undefined, 'spoof, 198.51.100.1', '10.0.0.5')).toBe('198.51.100.1');
    expect(at('x-forwarded-for', 2, 'spoof, 198.51.100.1, 10.0.0.9', '10.0.0.5')).toBe('198.51.100.1');
    // fewer entries than hops: the left-most, which the first trusted proxy added
    expect(at('x-forwarded-for', 3, '198.51.100.1, 10.0.0.9', '10.0.0.5')).toBe('198.51.100.1');
    expect(at('x-forwarded-for', 1, undefined, '10.0.0.5')).toBe('10.0.0.5');
    expect(at('x-forwarded-for', 1, ' , ', '10.0.0.5')).toBe('10.0.0.5');
    expect(at(undefined, undefined, '198.51.100.1', '10.0.0.5')).toBe('10.0.0.5');
    expect(at(undefined, undefined, '198.51.100.1')).toBeUndefined();
  });

  it('reads the socket’s address when served by Node’s HTTP server', async () => {
    const { app } = serve(3);
    const server = listen({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/rulesets`;
    const get = async (key: string, headers: Record<string, string> = {}) =>
      (await fetch(url, { headers: { authorization: `Bearer ${key}`, ...headers } })).status;
    try {
      for (let i = 0; i < 3; i++) expect(await get(UNKNOWN, { 'x-forwarded-for': `10.9.9.${i}` })).toBe(401);
      expect(await get(ADMIN)).toBe(429);
    } finally {
      server.close();
    }
  });

  it('turns off with AUTH_FAILURES_PER_MINUTE=0', async () => {
    expect(authFailureBudget(0, t.services.metrics, pino({ level: 'silent' }))).toBeUndefined();
    const app = createApp({ ...t.services, authFailures: undefined });
    const env = { incoming: { socket: { remoteAddress: '203.0.113.200' } } };
    for (let i = 0; i < 100; i++)
      expect((await app.request('/v1/rulesets', { headers: { authorization: `Bearer ${UNKNOWN}` } }, env)).status).toBe(
        401,
      );
  });
});

describe('the budget itself', () => {
  it('remembers at most maxAddresses addresses, whatever the number that fail', () => {
    const budget = new AuthFailureBudget({ perMinute: 3, maxAddresses: 1_000, now: () => T0 });
    for (let i = 0; i < 50_000; i++) budget.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(budget.size).toBe(1_000);
  });

  it('refuses at the budget, not before, and tells once per window', () => {
    let now = T0;
    const told: string[] = [];
    const budget = new AuthFailureBudget({ perMinute: 2, now: () => now, onOverBudget: (a) => told.push(a) });
    budget.failed('a');
    expect(budget.refusal('a')).toBeUndefined();
    budget.failed('a');
    expect(budget.refusal('a')).toBe(45);
    expect(budget.refusal('a')).toBe(45);
    expect(told).toEqual(['a']);
    now += 60_000;
    expect(budget.refusal('a')).toBeUndefined();
    expect(() => new AuthFailureBudget({ perMinute: 0 })).toThrow(RangeError);
  });

  it('keys addresses: IPv4 as it is, IPv6 by its /64, ports, brackets and zones left out', () => {
    const cases: [string, string][] = [
      ['203.0.113.7', '203.0.113.7'],
      ['::ffff:203.0.113.7', '203.0.113.7'],
      ['203.0.113.7:51234', '203.0.113.7'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['2001:DB8:0:0:1:2:3:4', '2001:db8:0:0::/64'],
      ['[2001:db8:1:2::7]:443', '2001:db8:1:2::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['2001:db8:1:2:3::', '2001:db8:1:2::/64'],
      ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
      [' Unknown ', 'unknown'],
      ['x'.repeat(500), 'x'.repeat(64)],
    ];
    for (const [raw, key] of cases) expect(addressKey(raw), raw).toBe(key);
  });
});

describe('configuration of the budget', () => {
  it('defaults to 60 failures a minute, the socket address, no proxy', () => {
    const c = loadConfig({});
    expect(c.AUTH_FAILURES_PER_MINUTE).toBe(60);
    expect(c.TRUSTED_PROXY_HEADER).toBeUndefined();
    expect(c.TRUSTED_PROXY_HOPS).toBeUndefined();
  });

  it('takes a whole number of failures (0 turns it off), a header name lowercased, and 1 to 10 hops', () => {
    expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '0' }).AUTH_FAILURES_PER_MINUTE).toBe(0);
    expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '500' }).AUTH_FAILURES_PER_MINUTE).toBe(500);
    const c = loadConfig({ TRUSTED_PROXY_HEADER: 'X-Forwarded-For', TRUSTED_PROXY_HOPS: '2' });
    expect(c.TRUSTED_PROXY_HEADER).toBe('x-forwarded-for');
    expect(c.TRUSTED_PROXY_HOPS).toBe(2);
    for (const value of ['-1', 'ten', '1.5', '1000001'])
      expect(problemsOf({ AUTH_FAILURES_PER_MINUTE: value })[0], value).toMatch(/^AUTH_FAILURES_PER_MINUTE:/);
    for (const value of ['x forwarded for', 'x-forwarded-for:', 'a'.repeat(65)])
      expect(problemsOf({ TRUSTED_PROXY_HEADER: value })[0], value).toMatch(/^TRUSTED_PROXY_HEADER:/);
    for (const value of ['0', '11', 'one'])
      expect(problemsOf({ TRUSTED_PROXY_HEADER: 'x-forwarded-for', TRUSTED_PROXY_HOPS: value })[0], value).toMatch(
        /^TRUSTED_PROXY_HOPS:/,
      );
  });

  it('refuses TRUSTED_PROXY_HOPS without TRUSTED_PROXY_HEADER', () => {
    expect(problemsOf({ TRUSTED_PROXY_HOPS: '2' })).toEqual([
      'TRUSTED_PROXY_HOPS: counts the proxies that add to TRUSTED_PROXY_HEADER, which is unset',
    ]);
  });
});
