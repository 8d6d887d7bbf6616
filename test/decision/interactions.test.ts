import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadRuleSet } from '../../src/rules/load.js';
import { testApp } from '../support/app.js';
import { atRisk } from '../support/profiles.js';
import { testPrefix, testRedis } from '../support/redis.js';
import { rulesCopy } from '../support/rules.js';

type Node = Awaited<ReturnType<typeof testApp>>;
interface Answer {
  decisionId: string;
  interactionId: string | null;
  offers: { rank: number; offerId: string; score: number; treatment: Record<string, string> }[];
}
const json = { 'content-type': 'application/json' };
const put = (n: Node, id: string) =>
  n.app.request(`/v1/profiles/${id}`, { method: 'PUT', body: JSON.stringify(atRisk(id)), headers: json });
const ask = async (n: Node, body: Record<string, unknown>) => {
  const res = await n.post('/v1/decisions', { channel: 'call-center', context: { intent: 'cancel' }, ...body });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
};
const decisionsTallied = async (n: Node) =>
  (await n.services.kpis.report()).offers.reduce((sum, o) => sum + o.control.decisions + o.treatment.decisions, 0);

// a rule set with a 1-minute interaction window, no control group and no exploration: the
// order is the rules' own, so a repeat that drew again would show
let rules: string;
beforeAll(async () => {
  rules = await rulesCopy({
    'manifest.json': (m) => {
      delete m.controlGroup;
      m.interactionMinutes = 1;
    },
  });
});
afterAll(() => rm(rules, { recursive: true, force: true }));
afterEach(() => void vi.restoreAllMocks());

describe('interactions on the embedded default', () => {
  let n: Node;
  beforeAll(async () => {
    n = await testApp({ RULES_DIR: rules });
    for (const id of ['I-1', 'I-2', 'I-3', 'I-4', 'I-5', 'I-6']) expect((await put(n, id)).status).toBe(200);
  });
  afterAll(() => n?.services.close());

  it('a repeated request of one interaction gets the same decision and presents nothing new', async () => {
    const first = await ask(n, { customerId: 'I-1', interactionId: 'call-1' });
    expect(first.interactionId).toBe('call-1');
    expect(first.offers.length).toBeGreaterThan(0);
    const state = n.services.contacts.read('I-1');
    const tallied = await decisionsTallied(n);
    // the call goes on: a look-up again, another reason, another limit — the call's decision stands
    for (const more of [{}, { context: { intent: 'billing' } }, { limit: 1 }]) {
      const again = await ask(n, { customerId: 'I-1', interactionId: 'call-1', ...more });
      expect(again).toEqual(first);
    }
    expect(n.services.contacts.read('I-1')).toEqual(state);
    expect(await decisionsTallied(n)).toBe(tallied);
    // without the interaction, or another one, or on another channel: a decision of its own
    const other = [
      await ask(n, { customerId: 'I-1' }),
      await ask(n, { customerId: 'I-1', interactionId: 'call-2' }),
      await ask(n, { customerId: 'I-1', interactionId: 'call-1', channel: 'web', context: {} }),
    ];
    for (const o of other) expect(o.decisionId).not.toBe(first.decisionId);
    // the reports count a decision once per offer it presented
    expect(await decisionsTallied(n)).toBe(tallied + other.reduce((sum, o) => sum + o.offers.length, 0));
  });

  it('another customer naming the same interaction gets a decision of their own', async () => {
    const mine = await ask(n, { customerId: 'I-2', interactionId: 'shared-1' });
    const theirs = await ask(n, { customerId: 'I-3', interactionId: 'shared-1' });
    expect(theirs.decisionId).not.toBe(mine.decisionId);
  });

  it('drops what was accepted or rejected in it since, and ranks the rest from 1', async () => {
    const first = await ask(n, { customerId: 'I-4', interactionId: 'call-4' });
    expect(first.offers.length).toBeGreaterThanOrEqual(2);
    const [taken, ...rest] = first.offers;
    const res = await n.post('/v1/responses', {
      customerId: 'I-4',
      offerId: taken!.offerId,
      outcome: 'accept',
      channel: 'call-center',
      decisionId: first.decisionId,
      interactionId: 'call-4',
    });
    expect(res.status).toBe(202);
    const again = await ask(n, { customerId: 'I-4', interactionId: 'call-4' });
    expect(again.decisionId).toBe(first.decisionId);
    expect(again.offers).toEqual(rest.map((o, i) => ({ ...o, rank: i + 1 })));
  });

  it('drops an offer complained about in it too', async () => {
    const first = await ask(n, { customerId: 'I-6', interactionId: 'call-6' });
    expect(first.offers.length).toBeGreaterThanOrEqual(2);
    const [complained, ...rest] = first.offers;
    const res = await n.post('/v1/responses', {
      customerId: 'I-6',
      offerId: complained!.offerId,
      outcome: 'complaint',
      channel: 'call-center',
      decisionId: first.decisionId,
    });
    expect(res.status).toBe(202);
    const again = await ask(n, { customerId: 'I-6', interactionId: 'call-6' });
    expect(again.decisionId).toBe(first.decisionId);
    expect(again.offers).toEqual(rest.map((o, i) => ({ ...o, rank: i + 1 })));
  });

  it('ends with the rule set’s interactionMinutes: then the next request decides anew', async () => {
    const first = await ask(n, { customerId: 'I-5', interactionId: 'call-5' });
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + 59_000);
    expect((await ask(n, { customerId: 'I-5', interactionId: 'call-5' })).decisionId).toBe(first.decisionId);
    vi.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    expect((await ask(n, { customerId: 'I-5', interactionId: 'call-5' })).decisionId).not.toBe(first.decisionId);
  });

  it('an explain neither repeats an interaction nor opens one', async () => {
    const first = await ask(n, { customerId: 'I-2', interactionId: 'call-x' });
    const explained = await ask(n, { customerId: 'I-2', interactionId: 'call-x', explain: true });
    expect(explained.decisionId).not.toBe(first.decisionId);
    const preview = await ask(n, { customerId: 'I-2', interactionId: 'call-y', explain: true });
    expect((await ask(n, { customerId: 'I-2', interactionId: 'call-y' })).decisionId).not.toBe(preview.decisionId);
  });

  it('refuses a malformed interactionId with a problem naming it', async () => {
    for (const interactionId of ['', 'a b', 'x'.repeat(65), 'é', 42]) {
      const res = await n.post('/v1/decisions', { customerId: 'I-1', channel: 'web', interactionId });
      expect(res.status, String(interactionId)).toBe(400);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toContain('/interactionId');
    }
    expect(
      (await n.post('/v1/decisions', { customerId: 'I-1', channel: 'web', interactionId: 'x'.repeat(64) })).status,
    ).toBe(200);
  });

  it('refuses a rule set whose interactionMinutes is out of range', async () => {
    const bad = await rulesCopy({ 'manifest.json': (m) => void (m.interactionMinutes = 0) }, rules);
    try {
      const loaded = await loadRuleSet(bad);
      expect(loaded.ok).toBe(false);
      if (!loaded.ok)
        expect(loaded.errors.map((e) => `${e.file} ${e.path}`)).toContain('manifest.json /interactionMinutes');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});

describe('interactions with Redis, across two nodes', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let a: Node;
  let b: Node;
  beforeAll(async () => {
    redis = await testRedis();
    const env = { PROFILE_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: testPrefix('ix'), RULES_DIR: rules };
    a = await testApp(env);
    b = await testApp(env);
    for (const id of ['R-1', 'R-2']) expect((await put(a, id)).status).toBe(200);
  });
  afterAll(async () => {
    await a?.services.close();
    await b?.services.close();
    await redis?.stop();
  });

  it('the other node answers a repeat with the first node’s decision, names and treatments included', async () => {
    const first = await ask(a, { customerId: 'R-1', interactionId: 'call-r1' });
    expect(first.offers.length).toBeGreaterThan(0);
    const state = await a.services.contacts.read('R-1');
    // the decision log reaches Redis in batches: b finds it there, or waits for it
    let again: Answer | undefined;
    for (let i = 0; i < 40 && again?.decisionId !== first.decisionId; i++) {
      again = await ask(b, { customerId: 'R-1', interactionId: 'call-r1' });
      if (again.decisionId !== first.decisionId) await new Promise((r) => setTimeout(r, 25));
    }
    expect(again).toEqual(first);
    expect(await b.services.contacts.read('R-1')).toEqual(state);
  });

  it('concurrent requests of one interaction get one decision', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => ask(i % 2 ? a : b, { customerId: 'R-2', interactionId: 'call-r2' })),
    );
    expect(new Set(answers.map((x) => x.decisionId)).size).toBe(1);
  });
});
