import { sign } from 'hono/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../src/config.js';
import { testApp } from '../support/app.js';
import { expectAuthMatrix, type RouteSpec } from '../support/auth.js';

type App = Awaited<ReturnType<typeof testApp>>;
const DECIDE = 'decide-key-0123456789';
const ADMIN = 'admin-key-0123456789';
const PUBLIC = 'public-key-0123456789';
const AGENT = 'agent-key-0123456789';
const KEYS: Record<Scope, string> = { public: PUBLIC, decide: DECIDE, agent: AGENT, admin: ADMIN };
const SECRET = 'customer-token-secret-0123456789-abcdef';
const now = () => Math.floor(Date.now() / 1000);
const token = (sub: string, claims: Record<string, unknown> = {}, secret = SECRET) =>
  sign({ sub, exp: now() + 600, ...claims }, secret, 'HS256');

const profile = { customerId: 'C0000001', valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 1000, churnScore: 0.1 };
const event = { customerId: 'C0000001', offerId: 'service-app-download', outcome: 'impression', channel: 'web' };

describe('security: API keys, customer tokens and CORS', () => {
  let t: App;
  let customerToken: string;
  beforeAll(async () => {
    t = await testApp({
      API_KEYS: `decide:${DECIDE},admin:${ADMIN},public:${PUBLIC},agent:${AGENT}`,
      CORS_ORIGINS: 'https://shop.example.com',
      CUSTOMER_TOKEN_SECRET: SECRET,
    });
    customerToken = await token('C0000001');
  });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  it('every route: 401 without a known key, 403 for a scope that may not call it, through for one that may', async () => {
    const routes: RouteSpec[] = [
      {
        method: 'POST',
        path: '/v1/decisions',
        allowed: ['public', 'decide', 'agent', 'admin'],
        body: (s) => (s === 'public' ? { customerToken, channel: 'web' } : { customerId: 'C0000001', channel: 'web' }),
      },
      {
        method: 'POST',
        path: '/v1/responses',
        allowed: ['public', 'decide', 'agent', 'admin'],
        body: (s) => (s === 'public' ? { customerToken, events: [{ ...event, customerId: undefined }] } : event),
      },
      { method: 'GET', path: '/v1/decisions/some-decision-id', allowed: ['admin'] },
      { method: 'GET', path: '/v1/profiles/C0000001', allowed: ['agent', 'admin'] },
      { method: 'PUT', path: '/v1/profiles/C0000001', allowed: ['admin'], body: () => profile },
      { method: 'POST', path: '/v1/profiles/bulk', allowed: ['admin'] },
      { method: 'GET', path: '/v1/reports/offers', allowed: ['admin'] },
      { method: 'GET', path: '/v1/rulesets', allowed: ['admin'] },
      { method: 'POST', path: '/v1/rulesets/reload', allowed: ['admin'] },
      { method: 'POST', path: '/v1/rulesets/2026.11.0/activate', allowed: ['admin'] },
    ];
    await expectAuthMatrix(t, KEYS, routes);
  });

  it('a public key decides for the customer of a valid token, and is not told their segment or phase', async () => {
    const res = await t.post('/v1/decisions', { customerToken, channel: 'web' }, as(PUBLIC));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.customerId).toBe('C0000001');
    expect(body.profile).toEqual({ found: true, valueSegment: null, lifecyclePhase: null });
    expect(body.offers.length).toBeGreaterThan(0);
    // a decide key gets the same customer's segment and phase
    expect(
      (await (await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, as(DECIDE))).json()).profile
        .valueSegment,
    ).not.toBeNull();
  });

  it('a public key cannot name a customer, ask for an explanation, or use a bad token', async () => {
    const expectProblem = async (body: unknown, status: number, detail: RegExp) => {
      const res = await t.post('/v1/decisions', body, as(PUBLIC));
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await res.json()).detail).toMatch(detail);
    };
    await expectProblem({ customerId: 'C0000002', channel: 'web' }, 400, /./);
    await expectProblem({ customerToken, customerId: 'C0000002', channel: 'web' }, 400, /./);
    await expectProblem({ customerToken, channel: 'web', explain: true }, 400, /./);
    await expectProblem({ channel: 'web' }, 400, /./);
    await expectProblem({ customerToken: 'not.a.jwt', channel: 'web' }, 401, /not valid/);
    await expectProblem(
      { customerToken: await token('C0000002', {}, 'another-secret-0123456789-0123456789'), channel: 'web' },
      401,
      /not valid/,
    );
    await expectProblem(
      { customerToken: await token('C0000002', { exp: now() - 10 }), channel: 'web' },
      401,
      /expired/,
    );
    await expectProblem(
      { customerToken: await sign({ sub: 'C0000002' }, SECRET, 'HS256'), channel: 'web' },
      401,
      /no exp/,
    );
    await expectProblem(
      { customerToken: await token('C0000002', { exp: now() + 3 * 86_400 }), channel: 'web' },
      401,
      /too far ahead/,
    );
    await expectProblem({ customerToken: await token('../../etc'), channel: 'web' }, 401, /sub/);
    // a token from a back end whose clock runs ahead says so, not that it is malformed
    await expectProblem(
      { customerToken: await token('C0000002', { nbf: now() + 600 }), channel: 'web' },
      401,
      /not valid yet: its nbf is in the future/,
    );
    await expectProblem(
      { customerToken: await token('C0000002', { iat: now() + 600 }), channel: 'web' },
      401,
      /issued in the future: its iat is later than now/,
    );
    await expectProblem(
      { customerToken: await sign({ sub: 'C0000002', exp: now() + 60 }, SECRET, 'HS512'), channel: 'web' },
      401,
      /not valid/,
    );
    // an unsigned token ("alg": "none") is never accepted
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'C0000002', exp: now() + 60 })).toString('base64url')}.`;
    await expectProblem({ customerToken: unsigned, channel: 'web' }, 401, /not valid/);
  });

  it('a public key records impressions and clicks of its token’s customer on a decision, each once', async () => {
    const d = await (await t.post('/v1/decisions', { customerToken, channel: 'web' }, as(PUBLIC))).json();
    const click = { offerId: d.offers[0].offerId, outcome: 'click', channel: 'web', decisionId: d.decisionId };
    const batch = await t.post(
      '/v1/responses',
      { customerToken, events: [{ ...click, eventId: 'chosen-by-page', at: '2026-01-01T00:00:00Z' }] },
      as(PUBLIC),
    );
    expect(batch.status).toBe(202);
    expect(await batch.json()).toMatchObject({ accepted: 1 });
    // the eventId is the decision's, offer's and outcome's, whatever the page sends: a second click is a duplicate
    const again = await t.post('/v1/responses', { customerToken, ...click, eventId: 'another-one' }, as(PUBLIC));
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const refused = async (body: unknown, status: number, path?: string) => {
      const res = await t.post('/v1/responses', body, as(PUBLIC));
      expect(res.status, JSON.stringify(body)).toBe(status);
      if (path) expect((await res.json()).errors.map((e: { path: string }) => e.path)).toContain(path);
    };
    await refused({ customerToken, events: [{ ...click, customerId: 'C0000002' }] }, 400, '/events/0/customerId');
    await refused({ customerToken, events: [{ ...click, outcome: 'accept' }] }, 400, '/events/0/outcome');
    await refused({ customerToken, events: [{ ...click, outcome: 'complaint' }] }, 400, '/events/0/outcome');
    await refused({ customerToken, events: [{ ...click, decisionId: undefined }] }, 400, '/events/0/decisionId');
    // a decisionId no decision has is refused on the field the page sent, not on one it did not
    for (const decisionId of ['d'.repeat(120), 'd'.repeat(129), 'not a decision'])
      await refused(
        { customerToken, events: [{ ...click, decisionId }] },
        decisionId.length <= 128 && !decisionId.includes(' ') ? 422 : 400,
        '/events/0/decisionId',
      );
    await refused({ customerToken, events: [{ ...click, channel: 'call-center' }] }, 403, '/events/0/channel');
    await refused({ events: [click] }, 401);
  });

  it('a public key decides on the public channels only: agents’ scripts and reasons stay with decide keys', async () => {
    const res = await t.post('/v1/decisions', { customerToken, channel: 'call-center' }, as(PUBLIC));
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toMatch(/PUBLIC_CHANNELS/);
    const other = await testApp({
      API_KEYS: `public:${PUBLIC}`,
      CUSTOMER_TOKEN_SECRET: SECRET,
      PUBLIC_CHANNELS: 'web,call-center',
    });
    expect((await other.post('/v1/decisions', { customerToken, channel: 'call-center' }, as(PUBLIC))).status).toBe(200);
    await other.services.close();
  });

  it('with CUSTOMER_TOKEN_AUDIENCE, takes only tokens signed for this service', async () => {
    const aud = await testApp({
      API_KEYS: `public:${PUBLIC}`,
      CUSTOMER_TOKEN_SECRET: SECRET,
      CUSTOMER_TOKEN_AUDIENCE: 'nextbest',
    });
    const decide = async (claims: Record<string, unknown>) =>
      aud.post('/v1/decisions', { customerToken: await token('C0000001', claims), channel: 'web' }, as(PUBLIC));
    expect((await decide({ aud: 'nextbest' })).status).toBe(200);
    for (const claims of [{}, { aud: 'the-site-session' }]) {
      const res = await decide(claims);
      expect(res.status).toBe(401);
      expect((await res.json()).detail).toMatch(/aud must be "nextbest"/);
    }
    await aud.services.close();
  });

  it('refuses a public key when no token secret is set, at start', async () => {
    await expect(testApp({ API_KEYS: `public:${PUBLIC}` })).rejects.toThrow(/CUSTOMER_TOKEN_SECRET/);
  });

  it('leaves operations endpoints open by default', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'])
      expect((await t.app.request(path)).status, path).toBe(200);
  });

  it('puts /metrics and /docs behind the admin key with OPS_AUTH=admin; probes stay open', async () => {
    const locked = await testApp({ API_KEYS: `decide:${DECIDE},admin:${ADMIN}`, OPS_AUTH: 'admin' });
    await expectAuthMatrix(
      locked,
      { decide: DECIDE, admin: ADMIN } as Record<Scope, string>,
      ['/metrics', '/openapi.json', '/docs', '/docs/swagger-ui.css'].map((path) => ({
        method: 'GET' as const,
        path,
        allowed: ['admin'] as Scope[],
      })),
    );
    for (const path of ['/healthz', '/readyz', '/widget.js', '/demo/agent'])
      expect((await locked.app.request(path)).status, path).toBe(200);
    await expect(testApp({ API_KEYS: `decide:${DECIDE}`, OPS_AUTH: 'admin' })).rejects.toThrow(/OPS_AUTH/);
    await locked.services.close();
  });

  it('answers CORS preflight for allowed origins only, on the two browser routes only', async () => {
    const preflight = (origin: string, path = '/v1/decisions') =>
      t.app.request(path, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
    for (const path of ['/v1/decisions', '/v1/responses']) {
      const ok = await preflight('https://shop.example.com', path);
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
      expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    }
    expect((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin')).toBeNull();
    expect(
      (await preflight('https://shop.example.com', '/v1/profiles/C0000001')).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });
});
