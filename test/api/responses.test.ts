import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LearnedPropensity } from '../../src/learning/propensity.js';
import { cellKey } from '../../src/learning/state.js';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const PROBLEM = 'application/problem+json';
const DECIDE = 'decide-key-0123456789';
const ADMIN = 'admin-key-0123456789';

interface Decided {
  decisionId: string;
  offers: { offerId: string }[];
}
/** A decision for a customer of the demo population's kind (unknown customers get the fallback offers), as the service made it. */
const decide = async (
  t: App,
  customerId: string,
  channel: string,
  extra: Record<string, unknown> = {},
): Promise<Decided> => (await t.post('/v1/decisions', { customerId, channel, ...extra })).json();

/** The learning counts the service's model reads (a private member, reached as tests do). */
const learningOf = (t: App) => (t.services.decisions['model'] as LearnedPropensity)['state'];

/** A unique prefix per test, so eventIds and histories never collide across tests of one app. */
const unique = () => randomUUID().slice(0, 8);
const event = (customerId: string, extra: Record<string, unknown> = {}) => ({
  customerId,
  offerId: 'save-loyalty-discount',
  outcome: 'accept',
  channel: 'call-center',
  ...extra,
});
// the embedded memory store behind the service, reached without widening its API
const history = async (t: App, customerId: string) =>
  (await t.services.responses['store'].history(customerId)).map((e) => e.eventId);

describe('POST /v1/responses', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });

  describe('happy', () => {
    it('records one event and stores it with its fields', async () => {
      const id = unique();
      const d = await decide(t, `C-${id}`, 'call-center');
      const offerId = d.offers[0]!.offerId;
      const at = new Date(Date.now() - 30 * 86_400_000).toISOString().replace('Z', '+00:00');
      const res = await t.post(
        '/v1/responses',
        event(`C-${id}`, { eventId: `e-${id}`, decisionId: d.decisionId, offerId, at }),
      );
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
      const [stored] = await t.services.responses['store'].history(`C-${id}`);
      expect(stored).toEqual({
        eventId: `e-${id}`,
        customerId: `C-${id}`,
        offerId,
        outcome: 'accept',
        channel: 'call-center',
        decisionId: d.decisionId,
        at: Date.parse(at),
      });
    });

    it('records a batch in order, assigning eventIds where absent', async () => {
      const id = unique();
      const outcomes = ['impression', 'click', 'accept', 'reject', 'complaint'];
      const res = await t.post('/v1/responses', {
        events: outcomes.map((outcome, i) => event(`C-${id}`, { outcome, eventId: i === 1 ? undefined : `e${i}` })),
      });
      expect(await res.json()).toEqual({ accepted: 5, duplicates: 0, buffered: 0 });
      const stored = await t.services.responses['store'].history(`C-${id}`);
      expect(stored.map((e) => e.outcome)).toEqual(outcomes);
      expect(stored[1]!.eventId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    });

    it('counts a repeated eventId once, in one batch and across requests', async () => {
      const id = unique();
      const c = `C-${id}`;
      const same = await t.post('/v1/responses', {
        events: [event(c, { eventId: 'a' }), event(c, { eventId: 'a' }), event(c, { eventId: 'b' })],
      });
      expect(await same.json()).toEqual({ accepted: 2, duplicates: 1, buffered: 0 });
      const again = await t.post('/v1/responses', event(c, { eventId: 'b', outcome: 'reject' }));
      expect(await again.json()).toEqual({ accepted: 0, duplicates: 1, buffered: 0 });
      expect(await history(t, c)).toEqual(['a', 'b']);
    });

    it('accepts an event up to 5 minutes ahead of the server clock', async () => {
      const at = new Date(Date.now() + 4 * 60_000).toISOString();
      expect((await t.post('/v1/responses', event(`C-${unique()}`, { at }))).status).toBe(202);
    });
  });

  describe('errors', () => {
    const many = (n: number) => ({ events: Array.from({ length: n }, () => event('C1')) });
    const future = () => new Date(Date.now() + 6 * 60_000).toISOString();
    const cases: [string, () => unknown, string[]][] = [
      ['unknown outcome', () => event('C1', { outcome: 'purchase' }), ['/outcome']],
      ['bad customerId', () => event('a b'), ['/customerId']],
      ['customerId too long', () => event('x'.repeat(129)), ['/customerId']],
      ['missing offerId', () => ({ customerId: 'C1', outcome: 'click', channel: 'web' }), ['/offerId']],
      ['extra field', () => event('C1', { score: 1 }), ['/']],
      ['extra field in a batch event', () => ({ events: [event('C1'), event('C1', { score: 1 })] }), ['/events/1']],
      ['bad event in a batch', () => ({ events: [event('C1'), event('C1', { outcome: 'x' })] }), ['/events/1/outcome']],
      ['empty batch', () => ({ events: [] }), ['/events']],
      ['501 events', () => many(501), ['/events']],
      ['at more than 5 minutes in the future', () => event('C1', { at: future() }), ['/at']],
      ['at not ISO 8601', () => event('C1', { at: 'yesterday' }), ['/at']],
      ['at more than 400 days in the past', () => event('C1', { at: '2020-01-01T00:00:00Z' }), ['/at']],
      ['an array', () => [event('C1')], ['/']],
      ['an offer no rule set has', () => event('C1', { offerId: 'made-up-0' }), ['/offerId']],
      [
        'an offer without a treatment on the channel',
        () => event('C1', { offerId: 'save-price-match', channel: 'web' }),
        ['/channel'],
      ],
      [
        'a channel no rule set declares',
        () => ({ events: [event('C1'), event('C1', { channel: 'chan0' })] }),
        ['/events/1/channel'],
      ],
    ];
    it.each(cases)('%s → 400 invalid_request', async (_name, body, paths) => {
      const res = await t.post('/v1/responses', body());
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      const problem = await res.json();
      expect(problem).toMatchObject({
        type: 'urn:nextbest:problem:invalid_request',
        status: 400,
        instance: '/v1/responses',
      });
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(paths);
    });

    it('takes exactly 500 events', async () => {
      expect(await (await t.post('/v1/responses', many(500))).json()).toEqual({
        accepted: 500,
        duplicates: 0,
        buffered: 0,
      });
    });

    it('lists every problem with its path', async () => {
      const problem = await (
        await t.post('/v1/responses', { customerId: 7, offerId: 'Bad', outcome: 'click', channel: 'web' })
      ).json();
      expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/customerId', '/offerId']);
    });

    it('refuses malformed JSON with 400 malformed_json', async () => {
      const res = await t.post('/v1/responses', '{"customerId":');
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      expect((await res.json()).type).toBe('urn:nextbest:problem:malformed_json');
    });

    it('refuses a non-JSON content type with 415', async () => {
      const res = await t.post('/v1/responses', JSON.stringify(event('C1')), { 'content-type': 'text/plain' });
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      expect((await res.json()).type).toBe('urn:nextbest:problem:unsupported_media_type');
    });

    it('refuses a body over 64 KiB with 413 and stores nothing', async () => {
      const c = `C-${unique()}`;
      const res = await t.post('/v1/responses', {
        events: Array.from({ length: 300 }, (_, i) => event(c, { decisionId: `${i}`.padEnd(128, 'x') })),
      });
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      expect((await res.json()).type).toBe('urn:nextbest:problem:payload_too_large');
      expect(await history(t, c)).toEqual([]);
    });
  });

  describe('responses belong to decisions', () => {
    const refused = async (body: unknown, paths: string[]) => {
      const res = await t.post('/v1/responses', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      const problem = await res.json();
      expect(problem.type).toBe('urn:nextbest:problem:decision_mismatch');
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(paths);
    };
    /** Learning counts of one offer's cell, as the model reads them. */
    const learned = () => [...learningOf(t).entries()].map(([k, c]) => [k, { ...c }]);

    it('refuses a decision never made, another customer’s, an offer or channel it did not present, and a preview; records nothing', async () => {
      const id = unique();
      const [mine, theirs] = [`C-${id}-a`, `C-${id}-b`];
      const d = await decide(t, mine, 'call-center');
      const other = await decide(t, theirs, 'call-center');
      const preview = await decide(t, mine, 'call-center', { explain: true });
      const offerId = d.offers[0]!.offerId;
      const unshown = ['save-loyalty-discount', 'service-help-centre', 'develop-tv-bundle'].find(
        (o) => !d.offers.some((x) => x.offerId === o),
      )!;
      const before = learned();
      await refused(event(mine, { offerId, decisionId: `made-up-${id}` }), ['/decisionId']);
      await refused(event(mine, { offerId: other.offers[0]!.offerId, decisionId: other.decisionId }), ['/decisionId']);
      await refused(event(mine, { offerId: unshown, decisionId: d.decisionId }), ['/offerId']);
      await refused(event(mine, { offerId, channel: 'web', decisionId: d.decisionId }), ['/channel']);
      await refused(event(mine, { offerId: preview.offers[0]!.offerId, decisionId: preview.decisionId }), [
        '/decisionId',
      ]);
      // one bad event refuses the whole batch
      await refused(
        { events: [event(mine, { offerId, decisionId: d.decisionId }), event(mine, { offerId, decisionId: 'nope' })] },
        ['/events/1/decisionId'],
      );
      expect(await history(t, mine)).toEqual([]);
      expect(learned()).toEqual(before);
      expect((await t.post('/v1/responses', event(mine, { offerId, decisionId: d.decisionId }))).status).toBe(202);
    });

    it('learns a trial once per decision × offer, and a success only after it, once', async () => {
      const id = unique();
      const customerId = `C-${id}`;
      const web = await decide(t, customerId, 'web');
      const offerId = web.offers[0]!.offerId;
      const cell = cellKey(offerId, 'web', undefined);
      const counts = () => ({ ...learningOf(t).get(cell) });
      const before = counts();
      const send = (outcome: string, n: number) =>
        t.post('/v1/responses', {
          customerId,
          offerId,
          channel: 'web',
          outcome,
          decisionId: web.decisionId,
          eventId: `${id}-${n}`,
        });
      await send('click', 1); // no impression yet: stored, not learned
      expect(counts()).toEqual(before);
      await send('impression', 2);
      await send('impression', 3); // the same offer of the same decision seen again: no second trial
      expect(counts()).toEqual({ trials: before.trials + 1, successes: before.successes });
      await send('click', 4);
      await send('click', 5);
      expect(counts()).toEqual({ trials: before.trials + 1, successes: before.successes + 1 });
      expect(await history(t, customerId)).toHaveLength(5);
      // on the call center an accept proves the presentation: trial and success at once, once
      const call = await decide(t, customerId, 'call-center');
      const callOffer = call.offers[0]!.offerId;
      const callCell = cellKey(callOffer, 'call-center', undefined);
      const callBefore = { ...learningOf(t).get(callCell) };
      for (const n of [6, 7])
        await t.post('/v1/responses', {
          customerId,
          offerId: callOffer,
          channel: 'call-center',
          outcome: 'accept',
          decisionId: call.decisionId,
          eventId: `${id}-${n}`,
        });
      expect(learningOf(t).get(callCell)).toEqual({
        trials: callBefore.trials + 1,
        successes: callBefore.successes + 1,
      });
    });

    it('takes a complaint about an offer its decision presented: a trial, never a success', async () => {
      const id = unique();
      const customerId = `C-${id}`;
      const d = await decide(t, customerId, 'call-center');
      const offerId = d.offers[0]!.offerId;
      const unshown = ['save-loyalty-discount', 'service-help-centre', 'develop-tv-bundle'].find(
        (o) => !d.offers.some((x) => x.offerId === o),
      )!;
      const complaint = (extra: Record<string, unknown>) =>
        event(customerId, { outcome: 'complaint', decisionId: d.decisionId, ...extra });
      // as for an accept: an offer the decision did not present is refused
      await refused(complaint({ offerId: unshown }), ['/offerId']);
      const cell = cellKey(offerId, 'call-center', undefined);
      const before = { ...learningOf(t).get(cell) };
      for (const n of [1, 2]) {
        const res = await t.post('/v1/responses', complaint({ offerId, eventId: `${id}-${n}` }));
        expect(res.status).toBe(202);
        expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
      }
      expect(learningOf(t).get(cell)).toEqual({ trials: before.trials + 1, successes: before.successes });
      expect((await t.services.responses['store'].history(customerId)).map((e) => e.outcome)).toEqual([
        'complaint',
        'complaint',
      ]);
    });

    it('takes responses that name no decision, and learns nothing from them by default', async () => {
      const before = learned();
      const res = await t.post('/v1/responses', event(`C-${unique()}`, { outcome: 'accept' }));
      expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
      expect(learned()).toEqual(before);
    });
  });

  describe('security', () => {
    let secured: App;
    beforeAll(async () => {
      secured = await testApp({ API_KEYS: `decide:${DECIDE},admin:${ADMIN}` });
    });
    const send = (key?: string) =>
      secured.post('/v1/responses', event('C1'), key ? { authorization: `Bearer ${key}` } : {});

    it('refuses a missing or unknown key with 401', async () => {
      for (const res of [await send(), await send('wrong-key-0123456789'), await send(DECIDE.slice(0, -1))]) {
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toContain(PROBLEM);
        expect((await res.json()).type).toBe('urn:nextbest:problem:unauthorized');
      }
    });

    it('takes events from decide and admin keys', async () => {
      expect((await send(DECIDE)).status).toBe(202);
      expect((await send(ADMIN)).status).toBe(202);
    });

    it('never lets __proto__ or constructor keys reach Object.prototype', async () => {
      const bodies = [
        '{"__proto__":{"polluted":1},"customerId":"C1","offerId":"o","outcome":"click","channel":"web"}',
        '{"customerId":"C1","offerId":"o","outcome":"click","channel":"web","constructor":{"prototype":{"polluted":1}}}',
        '{"events":[{"customerId":"C1","offerId":"o","outcome":"click","channel":"web","__proto__":{"polluted":1}}]}',
        '{"__proto__":{"events":[]},"customerId":"C1"}',
      ];
      for (const body of bodies) {
        const res = await secured.post('/v1/responses', body, { authorization: `Bearer ${DECIDE}` });
        expect(res.status, body).toBe(400);
        expect((await res.json()).type).toBe('urn:nextbest:problem:invalid_request');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('events');
      }
    });
  });

  describe('attack replay', () => {
    const PUBLIC = 'public-key-0123456789';
    const SECRET = 'customer-token-secret-0123456789-abcdef';
    const token = (sub: string) => sign({ sub, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET, 'HS256');

    it('clicks and impressions naming invented or another customer’s decisions change neither learning nor reports', async () => {
      const site = await testApp({
        API_KEYS: `public:${PUBLIC},decide:${DECIDE},admin:${ADMIN}`,
        CUSTOMER_TOKEN_SECRET: SECRET,
      });
      const as = (key: string) => ({ authorization: `Bearer ${key}` });
      const report = async () => {
        const { generatedAt: _at, ...rest } = await (
          await site.app.request('/v1/reports/offers', { headers: as(ADMIN) })
        ).json();
        return rest;
      };
      const attacker = await token('C0000001');
      const mine: Decided = await (
        await site.post('/v1/decisions', { customerToken: attacker, channel: 'web' }, as(PUBLIC))
      ).json();
      const victim: Decided = await (
        await site.post('/v1/decisions', { customerId: 'C0000002', channel: 'web' }, as(DECIDE))
      ).json();
      const offerId = mine.offers[0]!.offerId;
      const learningBefore = [...learningOf(site).entries()].map(([k, c]) => [k, { ...c }]);
      const reportBefore = await report();
      let refused = 0;
      for (let i = 0; i < 10; i++) {
        const events = Array.from({ length: 100 }, (_, j) => ({
          offerId,
          channel: 'web',
          outcome: j % 2 ? 'click' : 'impression',
          decisionId: `forged-${i}-${j}`,
        }));
        const res = await site.post('/v1/responses', { customerToken: attacker, events }, as(PUBLIC));
        expect(res.status).toBe(422);
        expect((await res.json()).type).toBe('urn:nextbest:problem:decision_mismatch');
        refused += events.length;
      }
      expect(refused).toBe(1_000);
      for (const outcome of ['impression', 'click'])
        for (const offer of victim.offers) {
          const res = await site.post(
            '/v1/responses',
            { customerToken: attacker, offerId: offer.offerId, channel: 'web', outcome, decisionId: victim.decisionId },
            as(PUBLIC),
          );
          expect(res.status).toBe(422);
        }
      const learningAfter = [...learningOf(site).entries()].map(([k, c]) => [k, { ...c }]);
      expect(learningAfter).toEqual(learningBefore);
      expect(await report()).toEqual(reportBefore);
      // and the attacker's own decision still takes its impressions
      const own = await site.post(
        '/v1/responses',
        { customerToken: attacker, offerId, channel: 'web', outcome: 'impression', decisionId: mine.decisionId },
        as(PUBLIC),
      );
      expect(await own.json()).toMatchObject({ accepted: 1 });
      await site.services.close();
    });
  });

  describe('no input makes a 5xx', () => {
    const nearlyValid = fc.record(
      {
        customerId: fc.oneof(fc.constantFrom('C1', '', '__proto__'), fc.string(), fc.integer()),
        offerId: fc.oneof(fc.constantFrom('save-loyalty-discount', 'Bad'), fc.string()),
        outcome: fc.oneof(fc.constantFrom('impression', 'click', 'accept', 'reject', 'complaint'), fc.jsonValue()),
        channel: fc.oneof(fc.constantFrom('web', 'call-center'), fc.string()),
        eventId: fc.oneof(fc.string(), fc.integer()),
        at: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
          fc.integer(),
        ),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      nearlyValid,
      fc.record({ events: fc.oneof(fc.array(nearlyValid, { maxLength: 5 }), fc.jsonValue()) }),
    );

    it('random JSON posted to /v1/responses', async () => {
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const res = await t.post('/v1/responses', JSON.stringify(b));
          expect(res.status, JSON.stringify(b)).toBeLessThan(500);
          expect(res.headers.get('content-type')).toContain(res.status === 202 ? 'application/json' : PROBLEM);
        }),
        { numRuns: 400 },
      );
    });
  });
});
