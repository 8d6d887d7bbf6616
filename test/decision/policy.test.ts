import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyEvent,
  applyPresented,
  type ContactEvent,
  type ContactState,
  DAY_MS,
  EMPTY_CONTACTS,
  type Presented,
  parseContacts,
} from '../../src/contacts/state.js';
import { decide } from '../../src/decision/decide.js';
import { explain } from '../../src/decision/explain.js';
import { presentedAs, suppressedBy } from '../../src/decision/policy.js';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import type { Profile } from '../../src/profiles/schema.js';
import { type CompiledOffer, compileRuleSet, loadRuleSet, type RuleSet } from '../../src/rules/index.js';
import { SHIPPED_RULES } from '../support/rules.js';

// 01:00 UTC, so a window of calendar days and a rolling 7 × 24 h one disagree on most of a day
const NOW = Date.UTC(2026, 5, 10, 1, 0);
const HOUR = 3_600_000;
let dir: string;

/** The shipped offers under a contact policy of the test's own, through the real loader and compiler. */
async function withPolicy(rules: object[], extra: object = {}): Promise<RuleSet> {
  const policy = { channels: { web: { maxOffers: 20 }, 'call-center': { maxOffers: 20 } }, ...extra, rules };
  await writeFile(join(dir, 'contact-policy.json'), JSON.stringify(policy));
  const loaded = await loadRuleSet(dir);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return compileRuleSet(loaded.source);
}

type Op = { event: Partial<ContactEvent> & { offerId: string } } | { presented: Presented[]; decisionId: string };
const ev = (outcome: string, offerId: string, at = NOW, extra: Partial<ContactEvent> = {}): Op => ({
  event: { outcome, offerId, at, ...extra },
});
const shown = (decisionId: string, ...presented: Presented[]): Op => ({ presented, decisionId });
const decided = (offerId: string, channel = 'web'): Presented => ({
  offerId,
  channel,
  decision: true,
  holdUntil: undefined,
});
const held = (offerId: string, until: number, channel = 'web'): Presented => ({
  offerId,
  channel,
  decision: false,
  holdUntil: until,
});

/** Contact state as the stores build it: the same field writers, then the one parser. */
function contacts(...ops: Op[]): ContactState {
  const fields = new Map<string, number>();
  for (const op of ops) {
    if ('event' in op)
      applyEvent(
        fields,
        { outcome: 'impression', channel: 'web', decisionId: undefined, at: NOW, ...op.event },
        NOW,
        30,
      );
    else applyPresented(fields, op.decisionId, op.presented, NOW, 30);
  }
  return parseContacts(fields);
}

const cap = (over: object = {}) => ({
  type: 'frequencyCap',
  name: 'cap',
  counts: 'impression',
  max: 1,
  windowDays: 7,
  ...over,
});
const rest = (over: object = {}) => ({ type: 'suppressAfter', name: 'rest', outcome: 'reject', days: 30, ...over });

let rs: RuleSet;
let A: CompiledOffer; // two offers of one group, and one of another, all on both channels
let B: CompiledOffer;
let D: CompiledOffer;
const check = (offer: CompiledOffer, state: ContactState | undefined, channel = 'web', now = NOW) =>
  suppressedBy(rs.policy, offer, channel, state, [], now);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nextbest-policy-'));
  await cp(SHIPPED_RULES, dir, { recursive: true });
  const both = (await withPolicy([])).offers.filter((o) => 'web' in o.treatments && 'call-center' in o.treatments);
  const service = both.filter((o) => o.group === 'service');
  [A, B] = [service[0]!, service[1]!];
  D = both.find((o) => o.group === 'develop')!;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('frequencyCap', () => {
  it('counting impressions sees impressions, not decisions; counting decisions the reverse', async () => {
    const twoImpressions = contacts(ev('impression', A.id), ev('impression', A.id));
    const twoDecisions = contacts(shown('d1', decided(A.id)), shown('d2', decided(A.id)));
    rs = await withPolicy([cap({ counts: 'impression', max: 2 })]);
    expect(check(A, contacts(ev('impression', A.id)))).toBeNull();
    expect(check(A, twoImpressions)).toBe('cap');
    expect(check(A, twoDecisions)).toBeNull();
    rs = await withPolicy([cap({ counts: 'decision', max: 2 })]);
    expect(check(A, twoDecisions)).toBe('cap');
    expect(check(A, twoImpressions)).toBeNull();
    expect(check(A, contacts(shown('d1', held(A.id, NOW + HOUR)), shown('d2', held(A.id, NOW + HOUR))))).toBeNull();
  });

  it('counts whole UTC days, today included: 6 days ago counts for windowDays 7, 7 days ago does not', async () => {
    rs = await withPolicy([
      cap({ windowDays: 7, offers: [A.id] }),
      cap({ name: 'today', windowDays: 1, offers: [B.id] }),
    ]);
    const day = (n: number, hours = 0) => Date.UTC(2026, 5, 10 - n) + hours * HOUR;
    expect(check(A, contacts(ev('impression', A.id, day(6))))).toBe('cap'); // 6 days and 1 hour ago
    expect(check(A, contacts(ev('impression', A.id, day(7, 23))))).toBeNull(); // 6 days 2 hours ago, but 7 calendar days back
    expect(check(B, contacts(ev('impression', B.id, day(0))))).toBe('today');
    expect(check(B, contacts(ev('impression', B.id, day(1, 23.99))))).toBeNull(); // 61 minutes ago, yesterday
  });

  it.each([
    // scope, offer decided, channel decided, contact (offer B on web) counts?
    ['offer', 'A', 'web', false],
    ['offer', 'B', 'call-center', true],
    ['group', 'A', 'call-center', true],
    ['group', 'D', 'web', false],
    ['channel', 'D', 'web', true],
    ['channel', 'A', 'call-center', false],
    ['all', 'D', 'call-center', true],
  ] as const)('scope %s: a contact with B on web counts for %s on %s: %s', async (scope, which, channel, counts) => {
    rs = await withPolicy([cap({ scope })]);
    const offer = { A, B, D }[which];
    expect(check(offer, contacts(ev('impression', B.id, NOW, { channel: 'web' })), channel)).toBe(
      counts ? 'cap' : null,
    );
    expect(check(offer, EMPTY_CONTACTS, channel)).toBeNull();
  });

  it("the rule's channel says both where it applies and which contacts count", async () => {
    rs = await withPolicy([cap({ channel: 'call-center', scope: 'group' })]);
    const onWeb = contacts(ev('impression', B.id, NOW, { channel: 'web' }));
    const onCall = contacts(ev('impression', B.id, NOW, { channel: 'call-center' }));
    expect(check(A, onCall, 'call-center')).toBe('cap');
    expect(check(A, onWeb, 'call-center')).toBeNull(); // web contacts do not count
    expect(check(A, onCall, 'web')).toBeNull(); // web decisions are not governed
    rs = await withPolicy([cap({ channel: ['web', 'call-center'], scope: 'group' })]);
    expect(check(A, onWeb, 'call-center')).toBe('cap');
    expect(check(A, onCall, 'web')).toBe('cap');
  });

  it('offers and groups filters limit what a rule governs, not what counts', async () => {
    const both = contacts(ev('impression', A.id), ev('impression', D.id));
    rs = await withPolicy([cap({ offers: [A.id] })]);
    expect([check(A, both), check(D, both)]).toEqual(['cap', null]);
    rs = await withPolicy([cap({ groups: ['develop'] })]);
    expect([check(A, both), check(D, both)]).toEqual([null, 'cap']);
    rs = await withPolicy([cap({ groups: ['develop'], scope: 'all' })]);
    expect(check(D, contacts(ev('impression', A.id)))).toBe('cap');
  });

  it('a hold counts for impression caps until it expires or its impression arrives', async () => {
    rs = await withPolicy([cap({ max: 2 })], { holdMinutes: 10 });
    const hold = presentedAs(rs.policy, A, 'web', NOW)!;
    expect(hold).toEqual({ offerId: A.id, channel: 'web', decision: false, holdUntil: NOW + 10 * 60_000 });
    const pending = [shown('d1', hold), shown('d2', hold)];
    expect(check(A, contacts(...pending))).toBe('cap');
    expect(check(A, contacts(...pending), 'web', NOW + 10 * 60_000)).toBeNull(); // expired
    expect(check(A, contacts(...pending, ev('impression', A.id, NOW, { decisionId: 'd1' })))).toBe('cap'); // 1 impression + 1 hold
    expect(check(A, contacts(shown('d1', hold), ev('impression', A.id, NOW, { decisionId: 'd1' })))).toBeNull(); // settled, not 2
    expect(check(A, contacts(shown('d1', hold), ev('impression', A.id)))).toBe('cap'); // no decisionId: hold and impression
    // only an impression of the same offer on the same channel settles it: not a click, not another channel
    expect(
      check(
        A,
        contacts(
          shown('d1', hold),
          ev('click', A.id, NOW, { decisionId: 'd1' }),
          ev('impression', A.id, NOW, { decisionId: 'd1', channel: 'call-center' }),
        ),
      ),
    ).toBe('cap');
  });

  it('presenting adds what the caps count: a decision, a hold, or nothing', async () => {
    rs = await withPolicy([cap({ counts: 'decision', channel: 'web', offers: [A.id] })]);
    expect(presentedAs(rs.policy, A, 'web', NOW)).toEqual({
      offerId: A.id,
      channel: 'web',
      decision: true,
      holdUntil: undefined,
    });
    expect(presentedAs(rs.policy, A, 'call-center', NOW)).toBeUndefined();
    expect(presentedAs(rs.policy, B, 'web', NOW)).toBeUndefined();
    rs = await withPolicy([cap({ scope: 'group', offers: [A.id] })]);
    expect(presentedAs(rs.policy, B, 'call-center', NOW)?.holdUntil).toBe(NOW + 30 * 60_000); // B counts toward A's group cap
  });
});

describe('suppressAfter', () => {
  it.each([
    ['reject', 30, 29 * DAY_MS, true],
    ['reject', 30, 31 * DAY_MS, false],
    ['accept', 180, 179 * DAY_MS, true],
    ['accept', 180, 181 * DAY_MS, false],
    ['reject', 0.5, 11 * HOUR, true],
    ['reject', 0.5, 13 * HOUR, false],
  ] as const)('%s for %s days: an outcome %s ms ago suppresses: %s', async (outcome, days, ago, suppresses) => {
    rs = await withPolicy([rest({ outcome, days })]);
    expect(check(A, contacts(ev(outcome, A.id, NOW - ago)))).toBe(suppresses ? 'rest' : null);
    expect(check(A, contacts(ev(outcome === 'reject' ? 'accept' : 'reject', A.id, NOW - ago)))).toBeNull();
  });
});

describe('rule order and unavailable history', () => {
  it('the first rule in file order names the suppression', async () => {
    const state = contacts(ev('reject', A.id), ev('impression', A.id));
    rs = await withPolicy([rest(), cap()]);
    expect(check(A, state)).toBe('rest');
    rs = await withPolicy([cap(), rest()]);
    expect(check(A, state)).toBe('cap');
  });

  it('defaults: caps suppress and suppressAfter allows; each can be overridden', async () => {
    rs = await withPolicy([rest()]);
    expect(check(A, undefined)).toBeNull();
    rs = await withPolicy([rest(), cap()]);
    expect(check(A, undefined)).toBe('cap (contact history unavailable)');
    rs = await withPolicy([
      cap({ whenHistoryUnavailable: 'allow' }),
      rest({ name: 'rest 2', whenHistoryUnavailable: 'suppress' }),
    ]);
    expect(check(A, undefined)).toBe('rest 2 (contact history unavailable)');
    rs = await withPolicy([cap({ whenHistoryUnavailable: 'allow' })]);
    expect(check(A, undefined)).toBeNull();
  });
});

describe('within one decision', () => {
  let profile: Profile;
  const run = (state: ContactState | undefined) =>
    decide(
      rs,
      { request: { customerId: profile.customerId, channel: 'web', limit: 20 }, profile, degraded: false },
      priorPropensity,
      { contacts: state, now: NOW },
    );
  const develop = (o: ReturnType<typeof run>) =>
    o.decision.offers.filter((x) => x.group === 'develop').map((x) => x.offerId);

  beforeAll(async () => {
    rs = await withPolicy([]);
    // a demo customer with at least three develop offers eligible on web
    for (const p of generateProfiles({ customers: 500, seed: 7 })) {
      profile = p;
      if (develop(run(EMPTY_CONTACTS)).length >= 3) return;
    }
    throw new Error('no demo customer with three develop offers on web');
  });

  it.each(['impression', 'decision'] as const)(
    'a presented offer counts toward the group cap of the offers after it (%s)',
    async (counts) => {
      rs = await withPolicy([cap({ name: 'two develop', counts, scope: 'group', groups: ['develop'], max: 2 })]);
      const fresh = run(EMPTY_CONTACTS);
      expect(develop(fresh)).toHaveLength(2);
      const eligible = fresh.ranked.filter((s) => s.offer.group === 'develop').map((s) => s.offer.id);
      expect([...fresh.suppressed]).toEqual(eligible.slice(2).map((id) => [id, 'two develop']));
      const earlier = counts === 'impression' ? ev('impression', D.id) : shown('d0', decided(D.id));
      const after = run(contacts(earlier));
      expect(develop(after)).toEqual(develop(fresh).slice(0, 1));
      expect(after.decision.degraded).toBe(false);
    },
  );

  it("explain's suppressedBy names the rule that held an eligible offer back", async () => {
    rs = await withPolicy([cap({ name: 'two develop', scope: 'group', groups: ['develop'], max: 2 })]);
    const input = {
      request: { customerId: profile.customerId, channel: 'web', limit: 20, explain: true },
      profile,
      degraded: false,
    };
    const outcome = decide(rs, input, priorPropensity, { contacts: EMPTY_CONTACTS, now: NOW });
    const third = outcome.ranked.filter((s) => s.offer.group === 'develop')[2]!.offer.id;
    const [entry] = (await explain(rs, input, outcome, EMPTY_CONTACTS, NOW)).filter((e) => e.offerId === third);
    expect(entry).toMatchObject({ eligible: true, selected: false, rank: null, suppressedBy: 'two develop' });
  });

  it('without the history, capped offers are held back and the answer is degraded', async () => {
    rs = await withPolicy([cap({ groups: ['develop'] })]);
    const blind = run(undefined);
    expect(develop(blind)).toEqual([]);
    expect(blind.decision.offers.length).toBeGreaterThan(0);
    expect(blind.decision.degraded).toBe(true);
    expect(run(EMPTY_CONTACTS).decision.degraded).toBe(false);
  });

  // an offer let through by suppressAfter's default `allow` may be one the customer just rejected
  it('an answer allowed by suppressAfter without the history is degraded too', async () => {
    rs = await withPolicy([rest()]);
    const blind = run(undefined);
    expect(blind.decision.offers.length).toBeGreaterThan(0);
    expect(blind.decision.degraded).toBe(true);
  });
});
