import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

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
});
