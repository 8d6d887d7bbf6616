import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LEARNED_SUCCESS, LEARNED_TRIAL, type ResponseEvent } from '../../src/contacts/store.js';
import { MemoryCounters } from '../../src/counters/memory.js';
import type { Decision } from '../../src/decision/types.js';
import { type DecisionRecord, toRecord } from '../../src/decision-log/store.js';
import { Kpis } from '../../src/feedback/kpis.js';
import { FeedbackLoop } from '../../src/feedback/loop.js';
import type { StoredResponse } from '../../src/feedback/service.js';
import { LearnedPropensity } from '../../src/learning/propensity.js';
import { cellKey, LearningState } from '../../src/learning/state.js';
import { Metrics } from '../../src/ops/metrics.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import { Profile } from '../../src/profiles/schema.js';
import { RuleSetRegistry } from '../../src/rules/registry.js';
import { shippedRuleSet } from '../support/rules.js';

const OFFER = 'save-loyalty-discount';
const decision = (decisionId: string, lifecyclePhase: 'retain' | 'loyalty'): Decision => ({
  decisionId,
  customerId: 'L-1',
  channel: 'call-center',
  placement: null,
  rulesetVersion: 'v',
  controlGroup: false,
  interactionId: null,
  arm: 'champion',
  degraded: false,
  profile: { found: true, valueSegment: 'top', lifecyclePhase },
  offers: [{ rank: 1, offerId: OFFER, name: 'n', group: 'save', score: 1, propensity: 0.1, treatment: {} }],
});
const logged = (d: Decision): DecisionRecord =>
  toRecord({ decision: d, at: Date.now(), preview: false, interactionId: null, clv: 1, churnScore: 0.5 });
let n = 0;
const event = (outcome: ResponseEvent['outcome'], decisionId?: string): ResponseEvent => ({
  eventId: `e${n++}`,
  customerId: 'L-1',
  offerId: OFFER,
  outcome,
  channel: 'call-center',
  decisionId,
  at: Date.now(),
});
/** An event as the store answers it: what it counted for learning, and its decision. */
const stored = (e: ResponseEvent, learned: number, d?: Decision): StoredResponse => ({
  event: e,
  learned,
  decision: d && logged(d),
  recordedAt: e.at,
  owed: true,
});

async function setup() {
  const rules = new RuleSetRegistry();
  rules.activate(await shippedRuleSet());
  const profiles = new MemoryProfileStore();
  // the customer has moved on to loyalty since the decisions below were made in retain
  await profiles.put(
    Profile.parse({ customerId: 'L-1', valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 1, churnScore: 0.1 }),
  );
  const learning = new LearningState();
  const loop = new FeedbackLoop({
    learning,
    shared: undefined,
    kpis: new Kpis(new MemoryCounters(), new Metrics({ defaultMetrics: false })),
    profiles,
    rules,
    arms: { of: () => 'champion' },
    log: pino({ level: 'silent' }),
  });
  return { loop, learning, rules };
}

const retainCell = cellKey(OFFER, 'call-center', { valueSegment: 'top', lifecyclePhase: 'retain' });
const loyaltyCell = cellKey(OFFER, 'call-center', { valueSegment: 'top', lifecyclePhase: 'loyalty' });

describe('the feedback loop', () => {
  it('credits the cell the decision was made in, even after the customer changed phase', async () => {
    const { loop, learning } = await setup();
    const d1 = decision('d1', 'retain');
    loop.decided(d1);
    loop.stored([
      stored(event('impression', 'd1'), LEARNED_TRIAL, d1),
      stored(event('accept', 'd1'), LEARNED_SUCCESS, d1),
    ]);
    expect(learning.get(retainCell)).toEqual({ trials: 1, successes: 1 });
    expect(learning.get(loyaltyCell)).toEqual({ trials: 0, successes: 0 });
  });

  it('counts for learning what the store settled, and nothing more', async () => {
    const { loop, learning } = await setup();
    const d2 = decision('d2', 'retain');
    const d3 = decision('d3', 'retain');
    loop.stored([
      stored(event('reject', 'd2'), LEARNED_TRIAL, d2),
      stored(event('accept', 'd3'), LEARNED_TRIAL | LEARNED_SUCCESS, d3),
      stored(event('impression', 'd3'), 0, d3),
      stored(event('accept', 'd3'), 0, d3),
    ]);
    expect(learning.get(retainCell)).toEqual({ trials: 2, successes: 1 });
  });

  it('without a decision: tallied, not learned from, unless the rule set learns from unattributed responses', async () => {
    const { loop, learning, rules } = await setup();
    loop.stored([stored(event('accept'), 0), stored(event('impression'), 0)]);
    await new Promise((r) => setTimeout(r, 10)); // the profile look-up is asynchronous
    expect(learning.size).toBe(0);
    const active = rules.active!;
    const learningOn = { ...active.source.arbitration.learning, unattributed: true };
    rules.activate({
      ...active,
      source: { ...active.source, arbitration: { ...active.source.arbitration, learning: learningOn } },
    });
    loop.stored([stored(event('accept'), 0), stored(event('accept'), 0), stored(event('impression'), 0)]);
    await new Promise((r) => setTimeout(r, 10));
    expect(learning.get(loyaltyCell)).toEqual({ trials: 1, successes: 2 });
    const offer = rules.active!.offers.find((o) => o.id === OFFER)!;
    const learningSettings = { ...learningOn, exploration: 'none' as const };
    const model = new LearnedPropensity(learning);
    const prior = offer.prior['call-center']!;
    const { propensity } = model.assess(
      offer,
      'call-center',
      Profile.parse({ customerId: 'L-1', valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 1, churnScore: 0.1 }),
      learningSettings,
    );
    // as if 1 success in 1 trial, not 2 in 1
    expect(propensity).toBeCloseTo((prior * 20 + 1) / (20 + 1), 6);
  });

  it('in memory, a duplicate is tallied nowhere: its tallies were made when this process recorded it', async () => {
    const { rules } = await setup();
    const learning = new LearningState();
    const counters = new MemoryCounters();
    const loop = new FeedbackLoop({
      learning,
      shared: undefined,
      kpis: new Kpis(counters, new Metrics({ defaultMetrics: false })),
      profiles: new MemoryProfileStore(),
      rules,
      arms: { of: () => 'champion' },
      log: pino({ level: 'silent' }),
    });
    const d = decision('d-dup', 'retain');
    const e = event('impression', 'd-dup');
    loop.stored([stored(e, LEARNED_TRIAL, d)]);
    const once = await counters.totals();
    loop.stored([{ ...stored(e, LEARNED_TRIAL, d), owed: false }]);
    await loop.settled();
    expect(await counters.totals()).toEqual(once);
    expect(learning.get(retainCell)).toEqual({ trials: 1, successes: 0 });
    expect([...once].filter(([field]) => field.endsWith('|impression'))).toEqual([
      [`*|call-center|retain|top|champion|impression`, 1],
      [`${OFFER}|call-center|retain|top|champion|impression`, 1],
    ]);
  });

  it('a model that has looked a cell up sees outcomes counted after, in a cell that did not exist yet', async () => {
    const { learning, rules } = await setup();
    const offer = rules.active!.offers.find((o) => o.id === OFFER)!;
    const settings = { ...rules.active!.source.arbitration.learning, exploration: 'none' as const };
    const model = new LearnedPropensity(learning);
    const profile = Profile.parse({
      customerId: 'L-1',
      valueSegment: 'top',
      lifecyclePhase: 'retain',
      clv: 1,
      churnScore: 0.5,
    });
    const before = model.assess(offer, 'call-center', profile, settings).propensity;
    // the row for top × retain on the call center is created by this outcome, after the look-up above
    learning.add(retainCell, 10, 10);
    const after = model.assess(offer, 'call-center', profile, settings).propensity;
    expect(after).toBeGreaterThan(before);
    learning.replace([[retainCell, { trials: 10, successes: 0 }]]);
    expect(model.assess(offer, 'call-center', profile, settings).propensity).toBeLessThan(before);
    expect([...learning.entries()]).toEqual([[retainCell, { trials: 10, successes: 0 }]]);
    expect(learning.size).toBe(1);
  });
});
