import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../src/math/random.js';
import { testApp } from '../support/app.js';
import { eventually, testPrefix, testRedis } from '../support/redis.js';
import { SHIPPED_RULES } from '../support/rules.js';

/*
 * The learning loop proves itself through the HTTP API: simulated web visitors, all in one
 * learning cell (loyalty × middle), click the offer the rules rank last with p 0.45 and every
 * other offer with p 0.02. The clicks come from a seeded generator; the decisions draw from
 * Math.random (Thompson sampling), so each assertion below has a margin that makes a failure of
 * working code practically impossible:
 * - before learning the good offer tops a decision with p ≈ 0.12 (its prior Beta(1, 19) × value 15
 *   against the others', 2·10⁶ draws): 25 or more of 50 has p ≈ 6·10⁻¹¹;
 * - after 1500 decisions the good offer has > 1000 impressions, so its posterior mean sits near
 *   0.45 ± 0.015, far from 0.25. Another offer's mean above 0.2 needs ≥ 4 clicks in ≤ 10 of its
 *   impressions at p 0.02 (or worse odds for more impressions): p < 10⁻⁶ per offer;
 * - after learning another offer tops a decision with p ≤ 0.008 (the worst of 60 runs of
 *   bench/learning.js, each final posterior scored by 10⁵ draws), and p ≈ 0.024 even if all three
 *   were never shown (still at their priors): 11 or more of 50 has p < 4·10⁻⁹, and more than 50 of
 *   the last 500 training decisions p < 10⁻²⁰.
 * The exact checks (reported propensity = the posterior mean of what this test sent) are
 * deterministic. Without learning the good offer would top few decisions, so every check can fail.
 */

const GOOD_CLICK = 0.45;
const OTHER_CLICK = 0.02;
const TRAINING_DECISIONS = 1500;
const TRAINING_CUSTOMERS = 300;
const EVALUATIONS = 50;
const PROFILE = {
  valueSegment: 'middle',
  lifecyclePhase: 'loyalty',
  clv: 1200,
  churnScore: 0.1,
  tenureDays: 900,
  consents: ['web'],
};

type Node = Awaited<ReturnType<typeof testApp>>;
interface Tally {
  impressions: number;
  clicks: number;
}
interface Eligible {
  offerId: string;
  propensity: number;
  expectedScore: number;
}

/** A copy of the shipped rules without contact-policy rules (caps would cut the good offer) and without a control group. */
async function learningRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-learning-'));
  await cp(SHIPPED_RULES, dir, { recursive: true });
  const edit = async (file: string, change: (json: Record<string, unknown>) => unknown) =>
    writeFile(join(dir, file), JSON.stringify(change(JSON.parse(await readFile(join(dir, file), 'utf8'))), null, 2));
  await edit('contact-policy.json', (policy) => ({ ...policy, rules: [] }));
  await edit('manifest.json', ({ controlGroup: _, ...manifest }) => manifest);
  return dir;
}

function api(node: Node) {
  const ok = async (res: Response) => {
    if (res.status >= 300) throw new Error(`${res.status}: ${await res.text()}`);
    return res.json();
  };
  const put = async (customerId: string) =>
    ok(
      await node.app.request(`/v1/profiles/${customerId}`, {
        method: 'PUT',
        body: JSON.stringify({ customerId, ...PROFILE }),
        headers: { 'content-type': 'application/json' },
      }),
    );
  const decide = async (customerId: string, explain = false) =>
    ok(await node.post('/v1/decisions', { customerId, channel: 'web', limit: 1, explain }));
  const respond = async (events: unknown[]) => ok(await node.post('/v1/responses', { events }));
  /** A new customer's eligible offers with their reported propensity and expected score, best first (an explain preview teaches nothing). */
  const eligible = async (customerId: string): Promise<Eligible[]> => {
    await put(customerId);
    const { explanation } = await decide(customerId, true);
    return (explanation as { offerId: string; eligible: boolean; scoreParts: Record<string, number> }[])
      .filter((e) => e.eligible)
      .map(({ offerId, scoreParts: p }) => ({
        offerId,
        propensity: p.propensity!,
        expectedScore: p.propensity! * p.contextWeight! * p.value! * p.lever!,
      }))
      .sort((a, b) => b.expectedScore - a.expectedScore || (a.offerId < b.offerId ? -1 : 1));
  };
  /** How many of `n` new customers get `offerId` as their top offer. */
  const topCount = async (offerId: string, n: number, tag: string) => {
    let top = 0;
    for (let i = 0; i < n; i++) {
      await put(`${tag}-${i}`);
      if ((await decide(`${tag}-${i}`)).offers[0]?.offerId === offerId) top++;
    }
    return top;
  };
  return { put, decide, respond, eligible, topCount };
}
type Api = ReturnType<typeof api>;

/** Decisions with limit 1: an impression for the one offer shown, then a click with the offer's probability. */
async function train(
  a: Api,
  good: string,
  tag: string,
): Promise<{ tally: Map<string, Tally>; goodShownLast500: number }> {
  const rng = seededRng(20261125);
  const tally = new Map<string, Tally>();
  let goodShownLast500 = 0;
  for (let i = 0; i < TRAINING_CUSTOMERS; i++) await a.put(`${tag}-${i}`);
  for (let i = 0; i < TRAINING_DECISIONS; i++) {
    const customerId = `${tag}-${i % TRAINING_CUSTOMERS}`;
    const { decisionId, offers } = await a.decide(customerId);
    expect(offers).toHaveLength(1);
    const offerId: string = offers[0].offerId;
    const t = tally.get(offerId) ?? { impressions: 0, clicks: 0 };
    tally.set(offerId, t);
    t.impressions++;
    const events = [
      { customerId, offerId, outcome: 'impression', channel: 'web', decisionId, eventId: `${tag}-i${i}` },
    ];
    if (rng() < (offerId === good ? GOOD_CLICK : OTHER_CLICK)) {
      t.clicks++;
      events.push({ customerId, offerId, outcome: 'click', channel: 'web', decisionId, eventId: `${tag}-c${i}` });
    }
    expect(await a.respond(events)).toEqual({ accepted: events.length, duplicates: 0, buffered: 0 });
    if (offerId === good && i >= TRAINING_DECISIONS - 500) goodShownLast500++;
  }
  return { tally, goodShownLast500 };
}

describe('the learning loop, through the HTTP API', () => {
  let rules: string;
  let priors: Map<string, number>;
  let priorStrength: number;
  beforeAll(async () => {
    rules = await learningRules();
    priorStrength = JSON.parse(await readFile(join(rules, 'arbitration.json'), 'utf8')).learning.priorStrength;
    priors = new Map();
    for (const file of await readdir(join(rules, 'offers'))) {
      const offer = JSON.parse(await readFile(join(rules, 'offers', file), 'utf8'));
      if (offer.propensity?.web !== undefined) priors.set(offer.id, offer.propensity.web);
    }
  });
  afterAll(async () => {
    await rm(rules, { recursive: true, force: true });
  });

  /** The Beta posterior mean of what was reported, as the README defines it. */
  const posteriorMean = (offerId: string, t: Tally = { impressions: 0, clicks: 0 }) =>
    (priors.get(offerId)! * priorStrength + t.clicks) / (priorStrength + t.impressions);
  /** The API reports 6 decimals. */
  const reportsMean = (o: Eligible, t?: Tally) => Math.abs(o.propensity - posteriorMean(o.offerId, t)) <= 5e-7;

  /** Picks the offer the rules rank last as the good one, and checks it rarely tops a decision before learning. */
  async function chooseGood(a: Api): Promise<{ good: string; before: Eligible[] }> {
    const before = await a.eligible('probe-before');
    expect(before.length).toBeGreaterThanOrEqual(3);
    for (const o of before) expect(o.propensity, o.offerId).toBeCloseTo(posteriorMean(o.offerId), 6);
    const good = before.at(-1)!.offerId;
    expect(await a.topCount(good, EVALUATIONS, 'new-before')).toBeLessThan(EVALUATIONS / 2);
    return { good, before };
  }

  /** After learning: the reported propensities are the posterior means of what was sent, the good one far above its prior. */
  function checkLearned(after: Eligible[], before: Eligible[], good: string, tally: Map<string, Tally>): void {
    expect(after.map((o) => o.offerId).sort()).toEqual(before.map((o) => o.offerId).sort());
    for (const o of after)
      expect(o.propensity, o.offerId).toBeCloseTo(posteriorMean(o.offerId, tally.get(o.offerId)), 6);
    expect(tally.get(good)!.impressions).toBeGreaterThan(1000);
    expect(after.find((o) => o.offerId === good)!.propensity).toBeGreaterThan(0.25);
    for (const o of after.filter((o) => o.offerId !== good)) expect(o.propensity, o.offerId).toBeLessThan(0.2);
  }

  it('in memory: the offer customers click rises from last to first, for customers it has never seen', async () => {
    const node = await testApp({ RULES_DIR: rules });
    try {
      const a = api(node);
      const { good, before } = await chooseGood(a);
      const { tally, goodShownLast500 } = await train(a, good, 'mem');
      expect(goodShownLast500).toBeGreaterThan(450);
      checkLearned(await a.eligible('probe-after'), before, good, tally);
      expect(await a.topCount(good, EVALUATIONS, 'new-after')).toBeGreaterThanOrEqual(40);
    } finally {
      await node.services.close();
    }
  });

  describe('with Redis', () => {
    let redis: Awaited<ReturnType<typeof testRedis>>;
    beforeAll(async () => {
      redis = await testRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('two nodes: one learns from the outcomes, the other, which decided none of them, ranks the same after a sync', async () => {
      const prefix = testPrefix('learning');
      const env = {
        PROFILE_STORE: 'redis',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        LEARNING_SYNC_MS: '200',
        RULES_DIR: rules,
      };
      const [trainer, other] = await Promise.all([testApp(env), testApp(env)]);
      const r = redis.client();
      try {
        const a = api(trainer);
        const b = api(other);
        const { good, before } = await chooseGood(a);
        const { tally, goodShownLast500 } = await train(a, good, 'redis');
        expect(goodShownLast500).toBeGreaterThan(450);
        // the shared hash holds every impression and click once (written within a second, the write-behind)
        const field = `${good}|web|middle|loyalty`;
        // generous bounds: the write-behind is 1 s and the sync 200 ms, but CI runs other test files beside this one
        await eventually(
          'the learning hash holds every impression',
          async () => Number(await r.hget(`${prefix}{learning}`, `${field}|t`)) === tally.get(good)!.impressions,
          15_000,
        );
        expect(Number(await r.hget(`${prefix}{learning}`, `${field}|s`))).toBe(tally.get(good)!.clicks);
        // both nodes take the totals within a sync; the other has none of its own to add
        for (const [name, n] of [
          ['trainer', a],
          ['other', b],
        ] as const) {
          await eventually(
            `${name} reports the posterior of every outcome`,
            async () => (await n.eligible(`probe-${name}`)).every((o) => reportsMean(o, tally.get(o.offerId))),
            15_000,
          );
          checkLearned(await n.eligible(`probe-${name}-after`), before, good, tally);
        }
        // the two nodes decide alternately for new customers; each ranks the good offer first
        const tops = { trainer: 0, other: 0 };
        for (let i = 0; i < EVALUATIONS; i++) {
          for (const [name, n] of [
            ['trainer', a],
            ['other', b],
          ] as const) {
            const customerId = `new-after-${name}-${i}`;
            await n.put(customerId);
            if ((await n.decide(customerId)).offers[0]?.offerId === good) tops[name]++;
          }
        }
        expect(tops.trainer).toBeGreaterThanOrEqual(40);
        expect(tops.other).toBeGreaterThanOrEqual(40);
      } finally {
        r.disconnect();
        await Promise.all([trainer.services.close(), other.services.close()]);
      }
    });
  });
});
