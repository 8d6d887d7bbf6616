import { Hono } from 'hono';
import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { problem, toApiError } from '../../src/api/problem.js';
import { rateLimit } from '../../src/api/rate-limit.js';
import type { AppEnv } from '../../src/api/types.js';
import { MemoryWindowCounts } from '../../src/rate-windows/memory.js';
import { testApp } from '../support/app.js';

const DECIDE = 'decide-key-rate-0123456789';
const OTHER = 'decide-key-rate-other-0123';
const ADMIN = 'admin-key-rate-0123456789';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('per-key rate limits', () => {
  it('counts each key apart, says how much is left, and answers 429 with Retry-After past the limit', async () => {
    const t = await testApp({
      API_KEYS: `decide:${DECIDE},decide:${OTHER},admin:${ADMIN}`,
      RATE_LIMITS: 'decide:5,admin:0',
    });
    const decide = (key: string) => t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, as(key));
    for (let i = 1; i <= 5; i++) {
      const res = await decide(DECIDE);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('5');
      expect(res.headers.get('ratelimit-remaining')).toBe(String(5 - i));
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
    }
    const over = await decide(DECIDE);
    expect(over.status).toBe(429);
    expect(over.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(over.headers.get('ratelimit-remaining')).toBe('0');
    const body = await over.json();
    expect(body.type).toBe('urn:nextbest:problem:rate_limited');
    expect(body.detail).toMatch(/this key \(decide scope\) may make 5 requests a minute/);
    // another key of the same scope has its own count; admin is unlimited (0)
    expect((await decide(OTHER)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await t.app.request('/v1/rulesets', { headers: as(ADMIN) })).status).toBe(200);
    expect((await t.app.request('/v1/rulesets', { headers: as(ADMIN) })).headers.get('ratelimit-limit')).toBeNull();
    // a refused request changes nothing: no decision was made for it
    expect(await (await t.app.request('/metrics')).text()).toMatch(
      /nextbest_decisions_total\{channel="web",outcome="offers"\} 6\b/,
    );
    await t.services.close();
  });

  it('counts a public key’s requests once the customer token checks out, by key and by customer', async () => {
    const secret = 'rate-limit-customer-token-secret-0123456789';
    const PUBLIC = 'public-key-rate-0123456789';
    const t = await testApp({
      API_KEYS: `public:${PUBLIC}`,
      CUSTOMER_TOKEN_SECRET: secret,
      RATE_LIMITS: 'public:5,customer:2',
    });
    const tokenOf = (sub: string) => sign({ sub, exp: Math.floor(Date.now() / 1000) + 600 }, secret, 'HS256');
    const decide = async (customerToken: string) =>
      t.post('/v1/decisions', { customerToken, channel: 'web' }, as(PUBLIC));
    // forged tokens spend nothing: the site's budget is for its customers
    for (let i = 0; i < 10; i++)
      expect((await decide(await tokenOf('C0000001').then((tk) => `${tk}x`))).status).toBe(401);
    const a = await tokenOf('C0000001');
    expect((await decide(a)).status).toBe(200);
    expect((await decide(a)).status).toBe(200);
    const overCustomer = await decide(a);
    expect(overCustomer.status).toBe(429);
    expect((await overCustomer.json()).detail).toMatch(
      /one customer through a public key may make 2 requests a minute/,
    );
    const b = await tokenOf('C0000002');
    expect((await decide(b)).status).toBe(200);
    expect((await decide(b)).status).toBe(200);
    // the key's own budget: 5 counted (a's third included)
    const overKey = await decide(await tokenOf('C0000003'));
    expect(overKey.status).toBe(429);
    expect((await overKey.json()).detail).toMatch(/this key \(public scope\) may make 5 requests a minute/);
    await t.services.close();
  });

  it('starts again when the minute turns', async () => {
    let now = 120_000 + 59_500;
    const app = new Hono<AppEnv>();
    app.onError((err, c) => problem(c, toApiError(err)));
    app.use('*', async (c, next) => {
      c.set('keyId', 'k1');
      c.set('scope', 'decide');
      return next();
    });
    app.use(
      '*',
      rateLimit({ decide: 2 }, new MemoryWindowCounts(), () => now),
    );
    app.get('/', (c) => c.text('ok'));
    expect((await app.request('/')).status).toBe(200);
    expect((await app.request('/')).status).toBe(200);
    const over = await app.request('/');
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    now += 600;
    expect((await app.request('/')).status).toBe(200);
  });

  it('is not applied without API keys (there is no key to count by)', async () => {
    const t = await testApp({ RATE_LIMITS: 'decide:1' });
    for (let i = 0; i < 3; i++)
      expect((await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' })).status).toBe(200);
    await t.services.close();
  });

  it('refuses a malformed RATE_LIMITS at start', async () => {
    await expect(testApp({ RATE_LIMITS: 'decide:lots' })).rejects.toThrow(/RATE_LIMITS/);
  });
});
