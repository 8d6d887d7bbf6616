import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';
import { atRisk } from '../support/profiles.js';
import { rulesCopy } from '../support/rules.js';

type App = Awaited<ReturnType<typeof testApp>>;
const PROBLEM = 'application/problem+json';

describe('GET /v1/decisions/{decisionId}', () => {
  let dir: string;
  let t: App;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-decision-get-'));
    t = await testApp({ DECISION_LOG_DIR: dir });
  });
  afterAll(async () => {
    await t?.services.close();
    await rm(dir, { recursive: true, force: true });
  });
  const get = (id: string) => t.app.request(`/v1/decisions/${id}`);

  it('answers the logged record with the responses received for it, oldest first', async () => {
    const d = await (await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' })).json();
    const offerId = d.offers[0].offerId;
    for (const outcome of ['impression', 'click'])
      await t.post('/v1/responses', {
        customerId: 'C0000001',
        offerId,
        channel: 'web',
        outcome,
        decisionId: d.decisionId,
      });
    await t.post('/v1/responses', { customerId: 'C0000001', offerId, channel: 'web', outcome: 'impression' }); // names none
    const res = await get(d.decisionId);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      decisionId: d.decisionId,
      customerId: 'C0000001',
      channel: 'web',
      arm: d.arm,
      rulesetVersion: d.rulesetVersion,
      preview: false,
      interactionId: null,
      profile: { found: true, valueSegment: d.profile.valueSegment, lifecyclePhase: d.profile.lifecyclePhase },
    });
    expect(body.offers).toEqual(
      d.offers.map((o: Record<string, unknown>) => ({
        offerId: o.offerId,
        group: o.group,
        rank: o.rank,
        score: o.score,
        propensity: o.propensity,
      })),
    );
    expect(body.responses.map((r: { outcome: string }) => r.outcome)).toEqual(['impression', 'click']);
    expect(body.responses[0]).toMatchObject({ offerId, channel: 'web', eventId: expect.any(String) });
  });

  it('finds an explain preview, marked as one', async () => {
    const d = await (await t.post('/v1/decisions', { customerId: 'C0000002', channel: 'web', explain: true })).json();
    expect(await (await get(d.decisionId)).json()).toMatchObject({
      decisionId: d.decisionId,
      preview: true,
      responses: [],
    });
  });

  it('finds, after a restart, a decision in the files of the log', async () => {
    const d = await (await t.post('/v1/decisions', { customerId: 'C0000003', channel: 'call-center' })).json();
    await t.services.decisionLog.close(); // written out
    const restarted = await testApp({ DECISION_LOG_DIR: dir });
    try {
      const body = await (await restarted.app.request(`/v1/decisions/${d.decisionId}`)).json();
      expect(body).toMatchObject({ decisionId: d.decisionId, customerId: 'C0000003', channel: 'call-center' });
    } finally {
      await restarted.services.close();
    }
  });

  it('answers 404 for a decision not in the log and 400 for what is no decision ID', async () => {
    const missing = await get('never-made-1');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain(PROBLEM);
    expect((await missing.json()).type).toBe('urn:nextbest:problem:not_found');
    const bad = await get('a%20b');
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0].path).toBe('/decisionId');
  });

  describe('?explain=true', () => {
    // an app of its own: the tests above close the log of theirs
    let dir: string;
    let t: App;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nextbest-explain-past-'));
      t = await testApp({ DECISION_LOG_DIR: dir });
    });
    afterAll(async () => {
      await t?.services.close();
      await rm(dir, { recursive: true, force: true });
    });
    type Past = {
      offerId: string;
      group: string;
      presented: boolean;
      rank: number | null;
      score: number | null;
      propensity: number | null;
      eligible: boolean;
      note?: string;
    };
    const explained = async (id: string) => {
      const res = await t.app.request(`/v1/decisions/${id}?explain=true`);
      expect(res.status).toBe(200);
      return (await res.json()) as { explanation: { rulesetVersion: string; basis: string; offers: Past[] } };
    };
    const retain = atRisk('X-1');
    const put = (body: Record<string, unknown>) =>
      t.app.request(`/v1/profiles/${body.customerId}`, {
        method: 'PUT',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });

    it('judges every offer of the channel again under the logged version and profile fields, with the logged scores', async () => {
      expect((await put(retain)).status).toBe(200);
      const d = await (await t.post('/v1/decisions', { customerId: 'X-1', channel: 'call-center' })).json();
      expect(d.arm).not.toBe('control');
      const live = await (
        await t.post('/v1/decisions', { customerId: 'X-1', channel: 'call-center', explain: true })
      ).json();
      const { explanation } = await explained(d.decisionId);
      expect(explanation.rulesetVersion).toBe(d.rulesetVersion);
      // every offer of the channel, eligible exactly when the engine's compiled rules found it so
      const eligibleNow = new Map(live.explanation.map((e: Past) => [e.offerId, e.eligible]));
      expect(explanation.offers.map((o) => o.offerId).sort()).toEqual([...eligibleNow.keys()].sort());
      for (const o of explanation.offers) expect(o.eligible, o.offerId).toBe(eligibleNow.get(o.offerId));
      // the presented ones with the scores logged, not drawn again
      const presented = explanation.offers.filter((o) => o.presented).sort((a, b) => a.rank! - b.rank!);
      expect(presented.map(({ offerId, rank, score, propensity }) => ({ offerId, rank, score, propensity }))).toEqual(
        d.offers.map(({ offerId, rank, score, propensity }: Past) => ({ offerId, rank, score, propensity })),
      );
      expect((await explained(d.decisionId)).explanation).toEqual(explanation);
      for (const o of explanation.offers.filter((x) => !x.presented)) expect(o.score).toBeNull();
      expect(explanation.basis).toMatch(/context and placement are not logged/);
    });

    it('reads the segment and phase the decision saw, not the profile of today', async () => {
      const d = await (await t.post('/v1/decisions', { customerId: 'X-1', channel: 'call-center' })).json();
      const before = (await explained(d.decisionId)).explanation.offers.filter((o) => o.eligible).map((o) => o.offerId);
      expect((await put({ ...retain, lifecyclePhase: 'loyalty', churnScore: 0.05 })).status).toBe(200);
      const live = await (
        await t.post('/v1/decisions', { customerId: 'X-1', channel: 'call-center', explain: true })
      ).json();
      const today = live.explanation.filter((e: Past) => e.eligible).map((e: Past) => e.offerId);
      expect(today).not.toEqual(before);
      const after = (await explained(d.decisionId)).explanation.offers.filter((o) => o.eligible).map((o) => o.offerId);
      expect(after).toEqual(before);
    });

    it('answers 409 when the version that decided is no longer loaded', async () => {
      const d = await (await t.post('/v1/decisions', { customerId: 'C0000009', channel: 'web' })).json();
      await t.services.decisionLog.close();
      const rules = await rulesCopy({ 'manifest.json': (m) => void (m.version = '2099.1.0') });
      const other = await testApp({ DECISION_LOG_DIR: dir, RULES_DIR: rules });
      try {
        expect((await other.app.request(`/v1/decisions/${d.decisionId}`)).status).toBe(200);
        const res = await other.app.request(`/v1/decisions/${d.decisionId}?explain=true`);
        expect(res.status).toBe(409);
        const problem = await res.json();
        expect(problem.type).toBe('urn:nextbest:problem:ruleset_unavailable');
        expect(problem.detail).toContain(d.rulesetVersion);
        expect((await other.app.request(`/v1/decisions/${d.decisionId}?explain=maybe`)).status).toBe(400);
      } finally {
        await other.services.close();
        await rm(rules, { recursive: true, force: true });
      }
    });
  });
});
