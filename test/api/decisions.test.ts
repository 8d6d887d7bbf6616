import { beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const PROBLEM = 'application/problem+json';

describe('POST /v1/decisions', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });

  describe('happy', () => {
    it('ranks offers for a demo customer on both channels', async () => {
      for (const channel of ['web', 'call-center']) {
        const res = await t.post('/v1/decisions', { customerId: 'C0000001', channel });
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body.profile.found).toBe(true);
        expect(body.customerId).toBe('C0000001');
        expect(body.channel).toBe(channel);
        expect(body.rulesetVersion).toBe(t.services.rules.active!.version);
        expect(body.offers.length).toBeGreaterThan(0);
        expect(body.offers.length).toBeLessThanOrEqual(3);
        const scores = body.offers.map((o: { score: number }) => o.score);
        expect([...scores].sort((a, b) => b - a)).toEqual(scores);
        expect(body.offers.map((o: { rank: number }) => o.rank)).toEqual(scores.map((_: number, i: number) => i + 1));
        expect(body.offers[0].treatment.title).toEqual(expect.any(String));
        expect(body.degraded).toBe(false);
        expect(body.controlGroup).toBe(false);
      }
    });

    it('gives every decision its own id', async () => {
      const a = await (await t.post('/v1/decisions', { customerId: 'C0000002', channel: 'web' })).json();
      const b = await (await t.post('/v1/decisions', { customerId: 'C0000002', channel: 'web' })).json();
      expect(a.decisionId).not.toBe(b.decisionId);
    });

    it('answers an unknown customer with fallback offers', async () => {
      const res = await t.post('/v1/decisions', { customerId: 'nobody-42', channel: 'web', limit: 2 });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.profile).toEqual({ found: false, valueSegment: null, lifecyclePhase: null });
      expect(body.offers.length).toBeGreaterThan(0);
      const fallback = new Set(t.services.rules.active!.offers.filter((o) => o.fallback).map((o) => o.id));
      for (const o of body.offers) expect(fallback.has(o.offerId)).toBe(true);
    });

    it('honours limit within the channel cap', async () => {
      const one = await (await t.post('/v1/decisions', { customerId: 'C0000003', channel: 'web', limit: 1 })).json();
      expect(one.offers).toHaveLength(1);
      const cap = t.services.rules.active!.maxOffers.get('call-center')!;
      const many = await (
        await t.post('/v1/decisions', { customerId: 'nobody', channel: 'call-center', limit: 20 })
      ).json();
      expect(many.offers.length).toBeLessThanOrEqual(cap);
    });

    it('explains every offer of the channel with conditions and score parts', async () => {
      const res = await t.post('/v1/decisions', {
        customerId: 'C0000004',
        channel: 'call-center',
        context: { intent: 'cancel' },
        explain: true,
      });
      const body = await res.json();
      const channelOffers = t.services.rules.active!.byChannel.get('call-center')!;
      expect(body.explanation).toHaveLength(channelOffers.length);
      const top = body.explanation.find((e: { offerId: string }) => e.offerId === body.offers[0].offerId);
      expect(top).toMatchObject({ eligible: true, selected: true, rank: 1 });
      expect(top.scoreParts.score).toBeCloseTo(
        top.scoreParts.propensityDraw * top.scoreParts.contextWeight * top.scoreParts.value * top.scoreParts.lever,
      );
      const excluded = body.explanation.find((e: { eligible: boolean }) => !e.eligible);
      expect(excluded.scoreParts).toBeNull();
      expect(JSON.stringify(excluded.conditions)).toContain('"result":false');
      expect(JSON.stringify(excluded.conditions)).toContain('factValue');
      // each starts with its outcome in one line, before the detail
      expect(Object.keys(top)[0]).toBe('summary');
      expect(top.summary).toBe(`chosen: rank 1, score ${top.scoreParts.score.toFixed(4)}`);
      const profile = await (await t.app.request('/v1/profiles/C0000004')).json();
      for (const e of body.explanation.filter((x: { eligible: boolean }) => !x.eligible)) {
        const m = /^not eligible: (\w+)(?: (\S+))? must (.+) \(it is (.+)\)$/.exec(e.summary);
        expect(m, e.summary).not.toBeNull();
        // the value it names is the customer's, as the trace saw it
        if (m![1] !== 'context' && m![1] !== 'channel' && m![1] !== 'attributes' && m![1] !== 'channelConsent')
          expect(JSON.parse(m![4]!)).toEqual(profile[m![1]!] ?? null);
      }
      const notShown = body.explanation.filter(
        (x: { eligible: boolean; selected: boolean }) => x.eligible && !x.selected,
      );
      for (const e of notShown)
        expect(e.summary).toMatch(/^eligible, (held back by .+|not among the \d+ shown), score /);
    });

    it('serves a new profile on the next decision', async () => {
      const profile = {
        valueSegment: 'super',
        lifecyclePhase: 'new',
        clv: 9000,
        churnScore: 0.1,
        tenureDays: 5,
        productsHeld: ['mobile'],
        consents: ['web', 'call-center'],
      };
      const put = await t.app.request('/v1/profiles/fresh-1', {
        method: 'PUT',
        body: JSON.stringify(profile),
        headers: { 'content-type': 'application/json' },
      });
      expect(put.status).toBe(200);
      const body = await (await t.post('/v1/decisions', { customerId: 'fresh-1', channel: 'web' })).json();
      expect(body.profile).toEqual({ found: true, valueSegment: 'super', lifecyclePhase: 'new' });
    });
  });

  describe('errors', () => {
    const cases: [string, unknown, number, string][] = [
      ['missing customerId', { channel: 'web' }, 400, 'invalid_request'],
      ['bad customerId characters', { customerId: 'a b', channel: 'web' }, 400, 'invalid_request'],
      ['customerId too long', { customerId: 'x'.repeat(129), channel: 'web' }, 400, 'invalid_request'],
      ['unknown channel', { customerId: 'C0000001', channel: 'fax' }, 400, 'unknown_channel'],
      ['limit 0', { customerId: 'C0000001', channel: 'web', limit: 0 }, 400, 'invalid_request'],
      ['limit 21', { customerId: 'C0000001', channel: 'web', limit: 21 }, 400, 'invalid_request'],
      [
        'context with an object',
        { customerId: 'C0000001', channel: 'web', context: { a: { b: 1 } } },
        400,
        'invalid_request',
      ],
      ['unknown field', { customerId: 'C0000001', channel: 'web', extra: 1 }, 400, 'invalid_request'],
      ['an array', [1, 2], 400, 'invalid_request'],
      ['malformed JSON', '{"customerId":', 400, 'malformed_json'],
    ];
    it.each(cases)('%s → %i %s', async (_name, body, status, code) => {
      const res = await t.post('/v1/decisions', body);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      const problem = await res.json();
      expect(problem).toMatchObject({ type: `urn:nextbest:problem:${code}`, status });
      expect(problem.title).toEqual(expect.any(String));
      expect(problem.detail).toEqual(expect.any(String));
    });

    it('lists validation errors with their paths', async () => {
      const problem = await (await t.post('/v1/decisions', { customerId: 7, channel: 'web', limit: 'x' })).json();
      const paths = problem.errors.map((e: { path: string }) => e.path).sort();
      expect(paths).toEqual(['/customerId', '/limit']);
    });

    it('refuses a body over 64 KiB with 413', async () => {
      const res = await t.post('/v1/decisions', {
        customerId: 'C0000001',
        channel: 'web',
        placement: 'x'.repeat(70_000),
      });
      expect(res.status).toBe(413);
      expect((await res.json()).type).toBe('urn:nextbest:problem:payload_too_large');
    });

    it('refuses a non-JSON content type with 415', async () => {
      const res = await t.post('/v1/decisions', 'customerId=1', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(415);
    });

    it('refuses prototype names as context keys and never pollutes Object.prototype', async () => {
      const res = await t.post(
        '/v1/decisions',
        '{"customerId":"C0000001","channel":"web","context":{"constructor":"x"}}',
      );
      expect(res.status).toBe(400);
      const proto = await t.post(
        '/v1/decisions',
        '{"customerId":"C0000001","channel":"web","context":{"__proto__":{"polluted":1}}}',
      );
      expect(proto.status).toBe(200);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});

describe('decision JSON', () => {
  it('is byte-identical to JSON.stringify for found, unknown and odd inputs', async () => {
    const { decisionJson } = await import('../../src/api/decision-json.js');
    const t = await testApp();
    for (const request of [
      { customerId: 'C0000001', channel: 'web', placement: 'tips "for" you\u2028' },
      { customerId: 'unknown.1', channel: 'call-center', context: { intent: 'cancel' } },
      { customerId: 'C0000002', channel: 'call-center', limit: 1 },
    ]) {
      const decision = await t.services.decisions.decide(request);
      expect(decisionJson(decision)).toBe(JSON.stringify(decision));
    }
  });
});
