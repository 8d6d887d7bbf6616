/**
 * A world to measure the decisions in (`demo-data --world`): the demo population, 180 days of
 * decisions made by the engine under a rule set, and the customers' transactions before and
 * after, in which the decisions have a known effect.
 *
 * For N = `customers` and a seed:
 * - profiles: the demo population (profiles.ts), C0000001…C{N}, as they stand all along.
 * - decisions: each customer gets 2–5 decisions at seeded moments of the WORLD_DECISION_DAYS
 *   from WORLD_START, 65 % on the web, the rest on the call center (each call an interaction);
 *   decided by `decide()` over the rule set with the offers' prior propensities, the customer's
 *   own contact history carried from one decision to the next, the arm drawn by `Arms` (the
 *   rule set's sticky hash). The records are the decision log's, oldest first.
 * - transactions: a customer's first decision is t0. Their spending level is their profile's
 *   `annualRevenue` ÷ 365 a day. In each of the four spans of WORLD_WINDOW_DAYS (90) days
 *   around t0 — two before, two after — they buy with the probability WORLD_ACTIVE gives their
 *   lifecycle phase (`before` for the spans before t0, `after` for those after), plus for a
 *   treated customer (champion or challenger, not control) after t0 the effect
 *   WORLD_EFFECT_POINTS of their phase × segment, in points. Buying is a habit: a span's
 *   uniform draw, compared with that probability, is the customer's own one (drawn once) 85 %
 *   of the time, a fresh one otherwise, so who bought before mostly buys after while each
 *   span's probability stays exactly the one given. A customer who buys in a span
 *   spends their level × 90 × g, g ~ Gamma(25) / 25 (mean 1, 20 % spread) drawn afresh per
 *   span, in 1–4 purchases at seeded moments of it. So a treated customer spends on average
 *   effect × level × 90 more after t0 than a held-out one, and a customer's spending before t0
 *   predicts it after.
 * Everything is drawn from the seed: the same seed and N give the same files, byte for byte.
 */
import { type ContactState, EMPTY_CONTACTS, withPresented } from '../../contacts/state.js';
import { Arms } from '../../decision/arms.js';
import { decide } from '../../decision/decide.js';
import { recordLine } from '../../decision-log/store.js';
import { priorPropensity } from '../../learning/model.js';
import { mixSeed } from '../../math/random.js';
import type { LifecyclePhase, Profile, ValueSegment } from '../../profiles/schema.js';
import type { RuleSetSource } from '../../rules/load.js';
import { RuleSetRegistry } from '../../rules/registry.js';
import { compileRuleSet, type RuleSet } from '../../rules/ruleset.js';
import { DAY_MS } from '../analytics/timestamps.js';
import { iterateProfiles } from './profiles.js';
import { Random } from './random.js';

/** The first day of decisions, UTC midnight. */
export const WORLD_START = Date.parse('2026-01-05T00:00:00.000Z');
export const WORLD_DECISION_DAYS = 180;
/** The span the effect is put into after t0, and the span before it: `impact`'s default --outcome-days. */
export const WORLD_WINDOW_DAYS = 90;
/** The share of customers held out: the shipped rule set's control group, made larger for a clearer measurement. */
export const WORLD_CONTROL_SHARE = 0.1;
/** Share of decisions on the web; the others are calls. */
const WEB_SHARE = 0.65;
/** The spread of a span's spending around the customer's level: Gamma(SHAPE) / SHAPE, coefficient of variation 1 / √SHAPE. */
const SPEND_SHAPE = 25;

/**
 * How habitual buying is: a span's draw is the customer's own (drawn once, uniform) with this
 * probability, else a fresh uniform; either way uniform, so the probability of buying in a span
 * is exactly WORLD_ACTIVE's, and who bought before mostly buys after.
 */
const HABIT = 0.85;

/** The probability of buying in a span of 90 days, without the decisions, by lifecycle phase. */
export const WORLD_ACTIVE: Readonly<Record<LifecyclePhase, { readonly before: number; readonly after: number }>> =
  Object.freeze({
    new: { before: 0.6, after: 0.85 },
    loyalty: { before: 0.92, after: 0.9 },
    retain: { before: 0.8, after: 0.55 },
    regain: { before: 0.3, after: 0.25 },
  });

/** What the decisions add to that probability after t0, in points, by phase × segment. */
export const WORLD_EFFECT_POINTS: Readonly<Record<LifecyclePhase, Readonly<Record<ValueSegment, number>>>> =
  Object.freeze({
    new: { super: 0, top: 0, middle: 0, bottom: 0 },
    loyalty: { super: 0, top: 0, middle: 0, bottom: 0 },
    retain: { super: 6, top: 6, middle: 6, bottom: 6 },
    regain: { super: 0, top: 0, middle: 4, bottom: 4 },
  });

/** The true effect on a customer of `impact`'s 90-day outcome: on the chance of buying, and on net revenue. */
export function worldEffect(profile: Pick<Profile, 'lifecyclePhase' | 'valueSegment' | 'annualRevenue'>): {
  readonly activeRate: number;
  readonly revenue: number;
} {
  const points = WORLD_EFFECT_POINTS[profile.lifecyclePhase][profile.valueSegment];
  const level = (profile.annualRevenue ?? 0) / 365;
  return { activeRate: points / 100, revenue: (points / 100) * level * WORLD_WINDOW_DAYS };
}

/** The rule set the world is decided by: `source` with a control group of WORLD_CONTROL_SHARE. */
export function worldRuleSet(source: RuleSetSource): RuleSet {
  const control = source.manifest.controlGroup;
  const manifest = {
    ...source.manifest,
    controlGroup: { ...control, share: WORLD_CONTROL_SHARE, experiment: control?.experiment ?? 'world' },
  };
  return compileRuleSet({ ...source, manifest } as RuleSetSource);
}

export interface WorldOptions {
  readonly customers: number;
  readonly seed: number;
  readonly ruleset: RuleSet;
}

/** One customer's share of the world's files. */
export interface WorldCustomer {
  readonly profile: Profile;
  readonly profileLine: string;
  /** oldest first */
  readonly decisions: readonly { readonly at: number; readonly line: string }[];
  /** in time order */
  readonly transactions: readonly string[];
}

const hex = (rng: Random, digits: number): string => {
  let s = '';
  for (let i = 0; i < digits; i++) s += '0123456789abcdef'[rng.int(0, 15)];
  return s;
};

/** A version-4-shaped UUID drawn from the seeded stream, so decision IDs repeat with the seed. */
function seededUuid(rng: Random): string {
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${'89ab'[rng.int(0, 3)]}${hex(rng, 3)}-${hex(rng, 12)}`;
}

const isoSeconds = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/**
 * A span's purchases: when the span's draw (the customer's own habit, or by chance a fresh one)
 * is below `p`, 1–4 purchases summing to level × days × g, dated inside [from, to).
 */
function spanLines(
  rng: Random,
  habit: number,
  customerId: string,
  from: number,
  to: number,
  p: number,
  dailyLevel: number,
  out: { at: number; line: string }[],
): void {
  const draw = rng.chance(HABIT) ? habit : rng.next();
  if (draw >= p) return;
  const g = rng.gamma(SPEND_SHAPE) / SPEND_SHAPE;
  const k = rng.int(1, 4);
  const cents = Math.max(k, Math.round(100 * dailyLevel * WORLD_WINDOW_DAYS * g));
  const weights = Array.from({ length: k }, () => 0.6 + 0.8 * rng.next());
  const total = weights.reduce((a, b) => a + b, 0);
  let left = cents;
  for (let j = 0; j < k; j++) {
    const amount = j === k - 1 ? left : Math.floor((cents * weights[j]!) / total);
    left -= amount;
    // whole seconds strictly inside the span, so the date-time stays in it
    const at = Math.floor((from + 1000 + rng.next() * (to - from - 2000)) / 1000) * 1000;
    if (amount > 0)
      out.push({ at, line: `{"customerId":"${customerId}","at":"${isoSeconds(at)}","amount":${amount / 100}}` });
  }
}

/** The world, customer by customer (profiles in id order); decisions are to be merged by time by the caller. */
export function* iterateWorld(options: WorldOptions): Generator<WorldCustomer, void, undefined> {
  const { ruleset } = options;
  const registry = new RuleSetRegistry();
  registry.activate(ruleset);
  const arms = new Arms(registry);
  const channels = ruleset.manifest.channels;
  const web = channels.includes('web') ? 'web' : channels[0]!;
  const call = channels.includes('call-center') ? 'call-center' : channels[channels.length - 1]!;
  const worldSeed = mixSeed(options.seed, 0x3017d);
  let index = 0;
  for (const profile of iterateProfiles({ customers: options.customers, seed: options.seed })) {
    const rng = new Random(mixSeed(worldSeed, index++));
    const id = profile.customerId;
    const arm = arms.of(id);
    const moments = Array.from({ length: rng.int(2, 5) }, () =>
      Math.floor(WORLD_START + rng.next() * WORLD_DECISION_DAYS * DAY_MS),
    ).sort((a, b) => a - b);
    let contacts: ContactState = EMPTY_CONTACTS;
    const decisions: { at: number; line: string }[] = [];
    for (const now of moments) {
      const channel = rng.chance(WEB_SHARE) ? web : call;
      const interactionId = channel === call ? `call-${hex(rng, 12)}` : undefined;
      const request = { customerId: id, channel, ...(interactionId && { interactionId }) };
      const outcome = decide(ruleset, { request, profile, degraded: false }, priorPropensity, {
        contacts,
        now,
        arm,
        random: () => rng.next(),
      });
      const decision = { ...outcome.decision, decisionId: seededUuid(rng) };
      const interaction = interactionId
        ? { channel, interactionId, expiresAt: now + ruleset.manifest.interactionMinutes * 60_000 }
        : undefined;
      contacts = withPresented(contacts, decision.decisionId, outcome.presented, now, interaction);
      decisions.push({
        at: now,
        line: recordLine({
          decision,
          at: now,
          preview: false,
          interactionId: decision.interactionId,
          clv: profile.clv,
          churnScore: profile.churnScore,
        }),
      });
    }
    const t0 = moments[0]!;
    const span = WORLD_WINDOW_DAYS * DAY_MS;
    const active = WORLD_ACTIVE[profile.lifecyclePhase];
    const lift = arm === 'control' ? 0 : worldEffect(profile).activeRate;
    const level = (profile.annualRevenue ?? 0) / 365;
    const purchases: { at: number; line: string }[] = [];
    const habit = rng.next();
    spanLines(rng, habit, id, t0 - 2 * span, t0 - span, active.before, level, purchases);
    spanLines(rng, habit, id, t0 - span, t0, active.before, level, purchases);
    spanLines(rng, habit, id, t0, t0 + span, active.after + lift, level, purchases);
    spanLines(rng, habit, id, t0 + span, t0 + 2 * span, active.after + lift, level, purchases);
    purchases.sort((a, b) => a.at - b.at);
    yield {
      profile,
      profileLine: JSON.stringify(profile),
      decisions,
      transactions: purchases.map((p) => p.line),
    };
  }
}
