import { rm } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ContactState, DAY_MS, parseContacts } from '../../src/contacts/state.js';
import { HELD_OUT_OFFER, type JourneyMoves, journeyMoves, sendFields } from '../../src/outbound/journeys.js';
import { parseWeek, type Week, weekAt, weekOf } from '../../src/outbound/week.js';
import type { Profile } from '../../src/profiles/schema.js';
import type { RuleSet } from '../../src/rules/index.js';
import { rulesCopy, shippedRuleSet } from '../support/rules.js';

// journeyMoves over hand-made profiles and contact states, with the shipped journeys:
//   onboarding (phase new, 15 weeks, no re-entry): welcome w0 email, app w1 sms, vip-welcome w1 call (super/top),
//     first-bill w4, wifi w6, checkin-call w13 (super/top), checkin-email w13 (middle/bottom)
//   anti-churn (retain and churnScore ≥ 0.3, 12 weeks, re-entry after 26): wave-1 w0 email; wave-2-call (super/top)
//     and wave-2-sms (middle/bottom) 14 days after wave-1 without a response; wave-3-* 21 days after them, by letter
//   loyalty (phase loyalty, 52 weeks, re-entry after 0): monthly-email w0 every 4 (middle), digital-tips w0 every 8
//     (bottom), vip-call w2 every 13 (super/top), vip-letter w20 every 26 (super/top)
//   winback (phase regain, 26 weeks)

let rs: RuleSet;
beforeAll(async () => {
  rs = await shippedRuleSet();
});

const W0 = parseWeek('2026-W40')!;
const wk = (k: number): Week => weekAt(W0.index + k);

const profile = (over: Partial<Profile> = {}): Profile => ({
  customerId: 'C-1',
  valueSegment: 'middle',
  lifecyclePhase: 'new',
  clv: 900,
  churnScore: 0.1,
  tenureDays: 10,
  annualRevenue: 600,
  productsHeld: ['mobile', 'broadband'],
  consents: ['email', 'sms', 'call-center', 'web'],
  attributes: {},
  ...over,
});

const stateOf = (fields: Record<string, number>): ContactState => parseContacts(Object.entries(fields));
const dueOf = (m: JourneyMoves) => m.due.map((d) => `${d.journey.id}/${d.step.id}`).sort();

/** The customer's contact-state fields, moved on by a week's moves and the sends of its due steps (as a run writes them). */
class Customer {
  readonly fields = new Map<string, number>();
  constructor(public profile: Profile) {}
  get state(): ContactState {
    return parseContacts(this.fields);
  }
  /** this week's moves, applied with every due step sent (its named offer, or `offer`) */
  week(week: Week, offer: (journey: string, step: string) => string = () => 'x'): JourneyMoves {
    const state = this.state;
    const m = journeyMoves(rs, this.profile, state, week);
    const set = new Map(m.set);
    const drop = new Set(m.drop);
    for (const d of m.due) {
      const f = sendFields(state, d.journey.id, d.step.id, d.step.offer ?? offer(d.journey.id, d.step.id), week.start);
      for (const k of f.drop) drop.add(k);
      set.set(f.set[0], f.set[1]);
    }
    for (const k of set.keys()) drop.delete(k);
    for (const [k, v] of set) this.fields.set(`J|${k}`, v);
    for (const k of drop) this.fields.delete(`J|${k}`);
    return m;
  }
  respond(outcome: string, channel: string, offerId: string, at: number): void {
    this.fields.set(`t|${outcome}|${channel}|${offerId}`, at);
  }
}

/** Week offsets (from W0) at which each step of `journey` was due, over `weeks` weeks. */
function schedule(c: Customer, weeks: number, journey: string) {
  const due: Record<string, number[]> = {};
  const exits: { week: number; reason: string }[] = [];
  const entries: number[] = [];
  for (let k = 0; k < weeks; k++) {
    const m = c.week(wk(k));
    for (const d of m.due) if (d.journey.id === journey) (due[d.step.id] ??= []).push(k);
    for (const x of m.exited) if (x.journey === journey) exits.push({ week: k, reason: x.reason });
    if (m.entered.includes(journey)) entries.push(k);
  }
  return { due, exits, entries };
}

describe('journeyMoves: entry', () => {
  it('enters the journeys whose entry condition the profile meets, in its phase, with the week-0 steps due', () => {
    const m = journeyMoves(rs, profile({ lifecyclePhase: 'new' }), stateOf({}), W0);
    expect(m.entered).toEqual(['onboarding']);
    expect([...m.set]).toEqual([['onboarding|in|new', W0.index]]);
    expect(m.drop).toEqual([]);
    expect(m.exited).toEqual([]);
    expect(dueOf(m)).toEqual(['onboarding/welcome']);

    const loyal = journeyMoves(rs, profile({ lifecyclePhase: 'loyalty' }), stateOf({}), W0);
    expect(loyal.entered).toEqual(['loyalty']);
    expect(dueOf(loyal)).toEqual(['loyalty/monthly-email']);
    expect(journeyMoves(rs, profile({ lifecyclePhase: 'regain' }), stateOf({}), W0).entered).toEqual(['winback']);
  });

  it('every condition of the entry counts: a retain customer below the churn threshold does not enter anti-churn', () => {
    expect(journeyMoves(rs, profile({ lifecyclePhase: 'retain', churnScore: 0.29 }), stateOf({}), W0).entered).toEqual(
      [],
    );
    const m = journeyMoves(rs, profile({ lifecyclePhase: 'retain', churnScore: 0.3 }), stateOf({}), W0);
    expect(m.entered).toEqual(['anti-churn']);
    expect(dueOf(m)).toEqual(['anti-churn/wave-1']);
  });

  it('a customer in a journey is not entered again while in it', () => {
    const c = new Customer(profile({ lifecyclePhase: 'new' }));
    c.week(wk(0));
    for (let k = 1; k < 15; k++) expect(c.week(wk(k)).entered, `week ${k}`).toEqual([]);
  });
});

describe('journeyMoves: week steps, every, segments', () => {
  it('onboarding: each step once, at its week from entry, only for its segments; complete after lengthWeeks', () => {
    const top = schedule(new Customer(profile({ valueSegment: 'top', tenureDays: 5 })), 20, 'onboarding');
    expect(top.entries).toEqual([0]);
    expect(top.due).toEqual({
      welcome: [0],
      app: [1],
      'vip-welcome': [1],
      'first-bill': [4],
      wifi: [6],
      'checkin-call': [13],
    });
    expect(top.exits).toEqual([{ week: 15, reason: 'complete' }]);

    const bottom = schedule(new Customer(profile({ valueSegment: 'bottom' })), 20, 'onboarding');
    expect(bottom.due).toEqual({ welcome: [0], app: [1], 'first-bill': [4], wifi: [6], 'checkin-email': [13] });
    // no re-entry for onboarding: never again, however long the customer stays new
    expect(bottom.entries).toEqual([0]);
  });

  it('loyalty: `every` repeats a step within lengthWeeks, counted from its week', () => {
    const middle = schedule(
      new Customer(profile({ lifecyclePhase: 'loyalty', valueSegment: 'middle' })),
      52,
      'loyalty',
    );
    expect(middle.due).toEqual({ 'monthly-email': [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48] });
    const bottom = schedule(
      new Customer(profile({ lifecyclePhase: 'loyalty', valueSegment: 'bottom' })),
      52,
      'loyalty',
    );
    expect(bottom.due).toEqual({ 'digital-tips': [0, 8, 16, 24, 32, 40, 48] });
    const superb = schedule(new Customer(profile({ lifecyclePhase: 'loyalty', valueSegment: 'super' })), 52, 'loyalty');
    expect(superb.due).toEqual({ 'vip-call': [2, 15, 28, 41], 'vip-letter': [20, 46] });
    expect(superb.exits).toEqual([]);
  });

  it('a step already sent this week is not due again (a re-evaluation of a week whose writes are in)', () => {
    const c = new Customer(profile({ lifecyclePhase: 'new' }));
    c.week(wk(0));
    // evaluated again, the same week: entered already, the welcome sent already
    const again = journeyMoves(rs, c.profile, c.state, wk(0));
    expect(again.due).toEqual([]);
    expect(again.entered).toEqual([]);
  });
});

describe('journeyMoves: consent', () => {
  it('a due step on a channel whose consent the profile lacks is skipped and counted in noConsent', () => {
    const c = new Customer(profile({ valueSegment: 'top', consents: ['email', 'web'] }));
    c.week(wk(0));
    const m = c.week(wk(1));
    // app is by sms, vip-welcome by outbound-call (consent call-center): neither is held
    expect(dueOf(m)).toEqual([]);
    expect(m.noConsent).toBe(2);
    const none = journeyMoves(rs, profile({ consents: [] }), stateOf({}), W0);
    expect(none.entered).toEqual(['onboarding']);
    expect(none.due).toEqual([]);
    expect(none.noConsent).toBe(1);
  });

  it('a channel with no consent of its own (letters) needs none', () => {
    // anti-churn wave 3 is a letter: due for a customer without any consent once the wave before went out
    const since = wk(0);
    const fields = {
      'J|anti-churn|in|retain': since.index,
      'J|anti-churn|s|wave-1|anti-churn-speed-boost': since.start,
      'J|anti-churn|s|wave-2-sms|anti-churn-speed-boost': wk(2).start,
    };
    const m = journeyMoves(
      rs,
      profile({ lifecyclePhase: 'retain', churnScore: 0.6, consents: [] }),
      stateOf(fields),
      wk(5),
    );
    expect(dueOf(m)).toEqual(['anti-churn/wave-3-after-sms']);
    expect(m.noConsent).toBe(0);
  });
});

describe('journeyMoves: waves', () => {
  const risky = (over: Partial<Profile> = {}) =>
    profile({ lifecyclePhase: 'retain', churnScore: 0.6, clv: 3000, valueSegment: 'middle', ...over });
  const sentWave1 = (offer = 'anti-churn-speed-boost') => {
    const c = new Customer(risky());
    expect(dueOf(c.week(wk(0), () => offer))).toEqual(['anti-churn/wave-1']);
    return c;
  };

  it('a wave is due only noResponseDays after the step it follows, once', () => {
    const c = sentWave1();
    expect(dueOf(c.week(wk(1)))).toEqual([]); // 7 days: too soon
    expect(dueOf(c.week(wk(2)))).toEqual(['anti-churn/wave-2-sms']); // 14 days
    expect(dueOf(c.week(wk(3)))).toEqual([]); // sent: not again
    expect(dueOf(c.week(wk(4)))).toEqual([]); // wave 3 is 21 days after wave 2
    expect(dueOf(c.week(wk(5)))).toEqual(['anti-churn/wave-3-after-sms']);
    for (let k = 6; k < 12; k++) expect(dueOf(c.week(wk(k))), `week ${k}`).toEqual([]);
  });

  it('segments pick the wave: a call for super/top customers, a text for the others', () => {
    const c = new Customer(risky({ valueSegment: 'top' }));
    c.week(wk(0), () => 'anti-churn-speed-boost');
    c.week(wk(1));
    expect(dueOf(c.week(wk(2)))).toEqual(['anti-churn/wave-2-call']);
  });

  for (const outcome of ['click', 'accept', 'reject']) {
    it(`a ${outcome} of the wave's offer after it went out (any channel) stops the next wave`, () => {
      const c = sentWave1();
      c.respond(outcome, 'web', 'anti-churn-speed-boost', wk(0).start + 3 * DAY_MS);
      expect(dueOf(c.week(wk(2)))).toEqual([]);
      expect(dueOf(c.week(wk(3)))).toEqual([]);
    });
  }

  it('a response to another offer, or one from before the send, or a mere impression, does not stop it', () => {
    const c = sentWave1();
    c.respond('click', 'web', 'anti-churn-early-renewal', wk(0).start + DAY_MS);
    c.respond('reject', 'email', 'anti-churn-speed-boost', wk(0).start - DAY_MS);
    c.respond('impression', 'email', 'anti-churn-speed-boost', wk(0).start + DAY_MS);
    expect(dueOf(c.week(wk(2)))).toEqual(['anti-churn/wave-2-sms']);
  });

  it('a held-out wave (control group: offer "-") is followed as if it had gone out unanswered', () => {
    const c = new Customer(risky());
    c.week(wk(0), () => HELD_OUT_OFFER);
    expect(c.fields.get(`J|anti-churn|s|wave-1|${HELD_OUT_OFFER}`)).toBe(wk(0).start);
    expect(dueOf(c.week(wk(2)))).toEqual(['anti-churn/wave-2-sms']);
  });

  it('no wave without the step it follows', () => {
    const state = stateOf({ 'J|anti-churn|in|retain': wk(0).index });
    for (let k = 1; k < 12; k++) expect(dueOf(journeyMoves(rs, risky(), state, wk(k))), `week ${k}`).toEqual([]);
  });
});

describe('journeyMoves: exits and re-entry', () => {
  it('a change of lifecycle phase ends the journey: its fields dropped, the week it left kept', () => {
    const c = new Customer(profile({ lifecyclePhase: 'retain', churnScore: 0.6, clv: 3000 }));
    c.week(wk(0), () => 'anti-churn-speed-boost');
    c.profile = { ...c.profile, lifecyclePhase: 'loyalty' };
    const m = journeyMoves(rs, c.profile, c.state, wk(1));
    expect(m.exited).toEqual([{ journey: 'anti-churn', reason: 'phase' }]);
    expect(m.drop.sort()).toEqual(['anti-churn|in|retain', 'anti-churn|s|wave-1|anti-churn-speed-boost']);
    expect(m.set.get('anti-churn|left')).toBe(wk(1).index);
    // and the new phase's journey is entered the same week
    expect(m.entered).toEqual(['loyalty']);
    expect(dueOf(m)).toEqual(['loyalty/monthly-email']);
  });

  it('an accept on an inbound channel of an offer the journey could send ends it; of another offer, or before entry, does not', () => {
    const base = () => {
      const c = new Customer(profile({ lifecyclePhase: 'retain', churnScore: 0.6, clv: 3000, valueSegment: 'top' }));
      c.week(wk(0), () => 'anti-churn-vip-retention-gift');
      return c;
    };
    // save-loyalty-discount: an offer of a bestOf group ("save") of wave-2-call with an outbound-call treatment
    const a = base();
    a.respond('accept', 'call-center', 'save-loyalty-discount', wk(0).start + 2 * DAY_MS);
    expect(journeyMoves(rs, a.profile, a.state, wk(1)).exited).toEqual([{ journey: 'anti-churn', reason: 'accept' }]);
    // accepted on the web, the offer of the first wave
    const b = base();
    b.respond('accept', 'web', 'anti-churn-vip-retention-gift', wk(0).start + DAY_MS);
    const mb = journeyMoves(rs, b.profile, b.state, wk(1));
    expect(mb.exited).toEqual([{ journey: 'anti-churn', reason: 'accept' }]);
    expect(mb.due).toEqual([]);
    // save-plan-right-size is a save offer without an outbound-call treatment: the journey could not send it
    const c = base();
    c.respond('accept', 'web', 'save-plan-right-size', wk(0).start + DAY_MS);
    expect(journeyMoves(rs, c.profile, c.state, wk(1)).exited).toEqual([]);
    // an accept from before the journey began
    const d = base();
    d.respond('accept', 'web', 'anti-churn-vip-retention-gift', wk(0).start - 3 * DAY_MS);
    expect(journeyMoves(rs, d.profile, d.state, wk(1)).exited).toEqual([]);
  });

  it('after leaving, no further steps; the journey is entered again reenterAfterWeeks later, not before', () => {
    const c = new Customer(profile({ lifecyclePhase: 'retain', churnScore: 0.6, clv: 3000 }));
    const s = schedule(c, 12 + 26 + 3, 'anti-churn');
    expect(s.exits).toEqual([{ week: 12, reason: 'complete' }]);
    expect(c.fields.get('J|anti-churn|left')).toBeUndefined(); // dropped again on re-entry
    expect(s.entries).toEqual([0, 12 + 26]);
    expect(s.due['wave-1']).toEqual([0, 38]);
    expect(s.due['wave-2-sms']).toEqual([2, 40]);
  });

  it('left after an accept: nothing due until the re-entry', () => {
    const c = new Customer(profile({ lifecyclePhase: 'retain', churnScore: 0.6, clv: 3000 }));
    c.week(wk(0), () => 'anti-churn-speed-boost');
    c.respond('accept', 'email', 'anti-churn-speed-boost', wk(0).start + DAY_MS);
    expect(c.week(wk(1)).exited).toEqual([{ journey: 'anti-churn', reason: 'accept' }]);
    expect([...c.fields.keys()].filter((k) => k.startsWith('J|'))).toEqual(['J|anti-churn|left']);
    for (let k = 2; k < 27; k++) {
      const m = c.week(wk(k));
      expect(m.due, `week ${k}`).toEqual([]);
      expect(m.entered, `week ${k}`).toEqual([]);
    }
    expect(c.week(wk(27)).entered).toEqual(['anti-churn']);
  });

  it('a journey without reenterAfterWeeks is never entered again', () => {
    const c = new Customer(profile({ lifecyclePhase: 'regain' }));
    const s = schedule(c, 80, 'winback');
    expect(s.entries).toEqual([0]);
    expect(s.exits).toEqual([{ week: 26, reason: 'complete' }]);
  });

  it('loyalty (re-entry after 0 weeks) starts again the week it completes: a 52-week cycle, its rhythm from the new entry', () => {
    const c = new Customer(profile({ lifecyclePhase: 'loyalty', valueSegment: 'middle' }));
    const s = schedule(c, 60, 'loyalty');
    expect(s.exits).toEqual([{ week: 52, reason: 'complete' }]);
    expect(s.entries[0]).toBe(0);
    expect(s.entries.length).toBe(2);
    const again = s.entries[1]!;
    expect(again).toBe(52);
    expect(s.due['monthly-email']!.filter((k) => k >= 52)).toEqual([again, again + 4]);
  });

  it('exits set to false keep the customer in through a phase change and an accept', async () => {
    const dir = await rulesCopy({
      'journeys/anti-churn.json': (j) => {
        j.exits = { phaseChange: false, accept: false };
      },
    });
    try {
      const custom = await shippedRuleSet(dir);
      const fields = {
        'J|anti-churn|in|retain': wk(0).index,
        'J|anti-churn|s|wave-1|anti-churn-speed-boost': wk(0).start,
        'J|anti-churn|s|wave-2-sms|anti-churn-speed-boost': wk(2).start,
        't|accept|web|save-loyalty-discount': wk(1).start,
      };
      const m = journeyMoves(custom, profile({ lifecyclePhase: 'loyalty' }), stateOf(fields), wk(5));
      expect(m.exited).toEqual([]);
      expect(dueOf(m)).toEqual(['anti-churn/wave-3-after-sms', 'loyalty/monthly-email']);
      // still complete after lengthWeeks
      expect(journeyMoves(custom, profile({ lifecyclePhase: 'loyalty' }), stateOf(fields), wk(12)).exited).toEqual([
        { journey: 'anti-churn', reason: 'complete' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a rule set without journeys moves nobody', async () => {
    const none: RuleSet = { ...rs, journeys: [] };
    const m = journeyMoves(none, profile(), stateOf({}), W0);
    expect(m).toEqual({ due: [], set: new Map(), drop: [], entered: [], exited: [], noConsent: 0 });
  });
});

/** The ISO week of a Monday, computed the textbook way: the week of its Thursday, counted from 1 January of that year. */
function isoWeekOf(monday: number): string {
  const thursday = new Date(monday + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const n = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${year}-W${String(n).padStart(2, '0')}`;
}

describe('ISO weeks', () => {
  it('weekAt and parseWeek agree with the textbook ISO week for every week from 1971 to 2200', () => {
    const first = parseWeek('1971-W01')!;
    expect(new Date(first.start).toISOString()).toBe('1971-01-04T00:00:00.000Z');
    let count53 = 0;
    for (let i = first.index; ; i++) {
      const w = weekAt(i);
      if (w.key.startsWith('2201')) break;
      expect(new Date(w.start).getUTCDay()).toBe(1);
      expect(w.key).toBe(isoWeekOf(w.start));
      expect(w.sendDate).toBe(new Date(w.start).toISOString().slice(0, 10));
      const back = parseWeek(w.key);
      expect(back).toEqual(w);
      expect(weekOf(w.start)).toEqual(w);
      expect(weekOf(w.start + 7 * DAY_MS - 1)).toEqual(w);
      if (w.key.endsWith('-W53')) count53++;
    }
    // 71 of every 400 years have 53 ISO weeks
    expect(count53).toBeGreaterThan(35);
  });

  it('53-week years: 2020-W53 and 2026-W53 exist, 2025-W53 and 2021-W53 do not', () => {
    const w2020 = parseWeek('2020-W53')!;
    expect(w2020.sendDate).toBe('2020-12-28');
    expect(weekAt(w2020.index + 1).key).toBe('2021-W01');
    expect(weekAt(w2020.index + 1).sendDate).toBe('2021-01-04');
    const w2026 = parseWeek('2026-W53')!;
    expect(w2026.sendDate).toBe('2026-12-28');
    expect(weekAt(w2026.index + 1).key).toBe('2027-W01');
    expect(parseWeek('2025-W53')).toBeUndefined();
    expect(parseWeek('2021-W53')).toBeUndefined();
    expect(weekAt(parseWeek('2025-W52')!.index + 1).key).toBe('2026-W01');
    // 2026-W01 starts in 2025: 29 December
    expect(parseWeek('2026-W01')!.sendDate).toBe('2025-12-29');
    expect(parseWeek('2026-W50')!.sendDate).toBe('2026-12-07');
  });

  it('refuses what is not a week', () => {
    for (const bad of [
      '2026-W00',
      '2026-W54',
      '2026-W5',
      '2026W50',
      '26-W50',
      '2026-w50',
      ' 2026-W50',
      '2026-W50 ',
      '1970-W10',
      '',
    ])
      expect(parseWeek(bad), bad).toBeUndefined();
  });
});
