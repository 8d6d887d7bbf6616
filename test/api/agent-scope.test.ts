import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const AGENT = 'agent-scope-test-agent-key';
const DECIDE = 'agent-scope-test-decide-key';
const ADMIN = 'agent-scope-test-admin-key';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

/** What an agent may read of a profile, and nothing more. */
const SUMMARY_FIELDS = [
  'churnScore',
  'clv',
  'customerId',
  'lifecyclePhase',
  'npsScore',
  'productsHeld',
  'tenureDays',
  'valueSegment',
];

describe('the agent scope: what the agent panel needs, nothing more', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp({ API_KEYS: `agent:${AGENT},decide:${DECIDE},admin:${ADMIN}` });
    // a profile with everything an agent must not see
    await t.app.request('/v1/profiles/AGENT-1', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...as(ADMIN) },
      body: JSON.stringify({
        valueSegment: 'top',
        lifecyclePhase: 'retain',
        clv: 1234.5,
        churnScore: 0.7,
        npsScore: 3,
        tenureDays: 800,
        annualRevenue: 480,
        productsHeld: ['mobile', 'broadband'],
        consents: ['email'],
        attributes: { secretNote: 'do not show', creditScore: 512 },
      }),
    });
  });
  afterAll(() => t.services.close());

  const get = (path: string, key: string) => t.app.request(path, { headers: as(key) });

  it('decides and records responses on every channel, like a decide key', async () => {
    for (const channel of ['call-center', 'web']) {
      const res = await t.post('/v1/decisions', { customerId: 'AGENT-1', channel, limit: 3 }, as(AGENT));
      expect(res.status, channel).toBe(200);
      const decision = await res.json();
      expect(decision.offers.length).toBeGreaterThan(0);
      // the segment and phase, which a public key is not told
      expect(decision.profile).toEqual({ found: true, valueSegment: 'top', lifecyclePhase: 'retain' });
      const offer = decision.offers[0];
      const event = {
        customerId: 'AGENT-1',
        offerId: offer.offerId,
        outcome: 'impression',
        channel,
        decisionId: decision.decisionId,
      };
      expect((await t.post('/v1/responses', event, as(AGENT))).status, channel).toBe(202);
    }
  });

  it('reads a profile as its summary: exactly ID, segment, phase, CLV, churn score, NPS, tenure and products', async () => {
    const res = await get('/v1/profiles/AGENT-1', AGENT);
    expect(res.status).toBe(200);
    const summary = await res.json();
    expect(Object.keys(summary).sort()).toEqual(SUMMARY_FIELDS);
    expect(summary).toEqual({
      customerId: 'AGENT-1',
      valueSegment: 'top',
      lifecyclePhase: 'retain',
      clv: 1234.5,
      churnScore: 0.7,
      npsScore: 3,
      tenureDays: 800,
      productsHeld: ['mobile', 'broadband'],
    });
    expect(JSON.stringify(summary)).not.toMatch(/secretNote|creditScore|email|annualRevenue|consents/);
  });

  it('answers an NPS never asked as null, and an unknown customer with 404', async () => {
    const demo = t.services.demoCustomers[0]!.customerId;
    await t.app.request('/v1/profiles/AGENT-2', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...as(ADMIN) },
      body: JSON.stringify({ valueSegment: 'bottom', lifecyclePhase: 'new', clv: 10, churnScore: 0.1 }),
    });
    const summary = await (await get('/v1/profiles/AGENT-2', AGENT)).json();
    expect(Object.keys(summary).sort()).toEqual(SUMMARY_FIELDS);
    expect(summary).toMatchObject({ npsScore: null, productsHeld: [] });
    expect((await get(`/v1/profiles/${demo}`, AGENT)).status).toBe(200);
    const absent = await get('/v1/profiles/NOBODY-7', AGENT);
    expect(absent.status).toBe(404);
    expect((await absent.json()).type).toBe('urn:nextbest:problem:not_found');
  });

  it('is refused (403) profile writes, bulk import, reports, rule sets and logged decisions', async () => {
    const refused: [string, string, unknown?][] = [
      ['PUT', '/v1/profiles/AGENT-1', { valueSegment: 'super', lifecyclePhase: 'loyalty', clv: 1, churnScore: 0 }],
      ['POST', '/v1/profiles/bulk', ''],
      ['GET', '/v1/reports/offers'],
      ['GET', '/v1/reports/impact'],
      ['GET', '/v1/rulesets'],
      ['POST', '/v1/rulesets/reload', {}],
      ['POST', '/v1/rulesets/2026.11.0/activate', {}],
      ['GET', '/v1/decisions/some-decision-id'],
    ];
    for (const [method, path, body] of refused) {
      const res = await t.app.request(path, {
        method,
        headers: { 'content-type': 'application/json', ...as(AGENT) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      const problem = await res.json();
      expect(problem.type).toBe('urn:nextbest:problem:forbidden');
      expect(problem.detail).toMatch(/an agent key cannot call this route; it needs an admin key/);
    }
    // the profile was not overwritten
    expect((await (await get('/v1/profiles/AGENT-1', AGENT)).json()).valueSegment).toBe('top');
  });

  it('the summary is for agent and admin keys: a decide key gets 403, no key 401', async () => {
    const decide = await get('/v1/profiles/AGENT-1', DECIDE);
    expect(decide.status).toBe(403);
    expect((await decide.json()).detail).toMatch(/needs an agent or admin key/);
    expect((await get('/v1/profiles/AGENT-1', ADMIN)).status).toBe(200);
    expect((await t.app.request('/v1/profiles/AGENT-1')).status).toBe(401);
    // the admin still reads the whole profile
    expect((await (await get('/v1/profiles/AGENT-1', ADMIN)).json()).attributes).toEqual({
      secretNote: 'do not show',
      creditScore: 512,
    });
  });

  it('is described in openapi.json like the other routes', async () => {
    const doc = await (await t.app.request('/openapi.json')).json();
    const route = doc.paths['/v1/profiles/{customerId}']?.get;
    expect(route).toBeDefined();
    expect(route.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(route.responses).sort()).toEqual(['200', '400', '401', '403', '404']);
    expect(Object.keys(doc.components.schemas.ProfileSummary.properties).sort()).toEqual(SUMMARY_FIELDS);
  });

  it('is a scope API_KEYS and RATE_LIMITS know', async () => {
    await expect(testApp({ API_KEYS: 'agnet:agent-scope-test-typo-key' })).rejects.toThrow(
      /public, decide, agent or admin/,
    );
    const limited = await testApp({ API_KEYS: `agent:${AGENT}`, RATE_LIMITS: 'agent:2' });
    const call = () => limited.post('/v1/decisions', { customerId: 'C0000001', channel: 'call-center' }, as(AGENT));
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);
    await limited.services.close();
  });
});
