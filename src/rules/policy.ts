import type { ContactPolicy, ContactScope, OfferGroup, PolicyRule } from './schema.js';
import { runSteps, type Steps } from './steps.js';

interface RuleBase {
  readonly name: string;
  /** without the contact history: hold the governed offers back, or let them through */
  readonly failClosed: boolean;
  readonly scope: ContactScope;
  /** channels whose contacts count (and whose decisions the rule applies to); undefined: all */
  readonly channels: ReadonlySet<string> | undefined;
}

export type CompiledPolicyRule =
  | (RuleBase & {
      readonly type: 'frequencyCap';
      readonly counts: 'impression' | 'decision';
      readonly max: number;
      readonly windowDays: number;
    })
  | (RuleBase & {
      readonly type: 'suppressAfter';
      readonly outcome: string;
      readonly days: number;
      /** only outcomes of these offers start the suppression; undefined: those the scope groups with the offer */
      readonly of: SuppressionTrigger | undefined;
    });

/** The offers whose outcomes start a suppression: each list given must hold the offer (or its group). */
export interface SuppressionTrigger {
  readonly offers: ReadonlySet<string> | undefined;
  readonly groups: ReadonlySet<string> | undefined;
}

/** What a presented offer must add to contact state so that the caps counting it hold. */
export interface CountedAs {
  readonly decision: boolean;
  readonly impression: boolean;
  /** the first cap that counts it, named when it must be held back unreserved */
  readonly by: string;
}

export interface CompiledPolicy {
  readonly rules: readonly CompiledPolicyRule[];
  /** per channel and offer: the rules that apply, in file order */
  readonly rulesFor: ReadonlyMap<string, ReadonlyMap<string, readonly CompiledPolicyRule[]>>;
  /** per channel and offer: which caps count it when it is presented; absent when none does */
  readonly countedAs: ReadonlyMap<string, ReadonlyMap<string, CountedAs>>;
  readonly groupOf: ReadonlyMap<string, string>;
  readonly holdMs: number;
}

interface OfferRef {
  readonly id: string;
  readonly group: OfferGroup;
  readonly channels: readonly string[];
}

const setOf = (v: string | string[] | undefined) => (v === undefined ? undefined : new Set([v].flat()));

function compileRule(r: PolicyRule): CompiledPolicyRule {
  const base = {
    name: r.name,
    scope: r.scope,
    channels: setOf(r.channel),
    failClosed: r.whenHistoryUnavailable === 'suppress',
  };
  return r.type === 'frequencyCap'
    ? { ...base, type: r.type, counts: r.counts, max: r.max, windowDays: r.windowDays }
    : {
        ...base,
        type: r.type,
        outcome: r.outcome,
        days: r.days,
        of: r.of && { offers: setOf(r.of.offers), groups: setOf(r.of.groups) },
      };
}

/** A rule's offers, groups and channel filters as sets: asked once per offer and channel. */
interface Filter {
  readonly offers: ReadonlySet<string> | undefined;
  readonly groups: ReadonlySet<string> | undefined;
  readonly channels: ReadonlySet<string> | undefined;
}

const filterOf = (r: PolicyRule): Filter => ({
  offers: setOf(r.offers),
  groups: setOf(r.groups),
  channels: setOf(r.channel),
});

/** Does the rule govern this offer on this channel (its offers, groups and channel filters)? */
function governs(f: Filter, offer: OfferRef, channel: string): boolean {
  if (f.offers && !f.offers.has(offer.id)) return false;
  if (f.groups && !f.groups.has(offer.group)) return false;
  return f.channels === undefined || f.channels.has(channel);
}

/** What a rule governs across every offer and channel: the offers, groups and channels a contact counts for. */
interface Governed {
  readonly offers: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly channels: ReadonlySet<string>;
}

function governedBy(f: Filter, offers: readonly OfferRef[]): Governed {
  const governed = { offers: new Set<string>(), groups: new Set<string>(), channels: new Set<string>() };
  for (const o of offers)
    for (const c of o.channels)
      if (governs(f, o, c)) {
        governed.offers.add(o.id);
        governed.groups.add(o.group);
        governed.channels.add(c);
      }
  return governed;
}

/**
 * Would a contact with `offer` on `channel` count toward this cap for some offer it governs,
 * on any channel? Such a contact, when a decision presents it, is what the cap must see.
 */
function countsToward(r: PolicyRule, f: Filter, governed: Governed, offer: OfferRef, channel: string): boolean {
  if (f.channels && !f.channels.has(channel)) return false;
  switch (r.scope) {
    case 'offer':
      return governed.offers.has(offer.id);
    case 'group':
      return governed.groups.has(offer.group);
    case 'channel':
      return governed.channels.has(channel);
    case 'all':
      return governed.offers.size > 0;
  }
}

/** Offers looked at between two steps. */
const OFFERS_PER_STEP = 500;

export const compilePolicy = (
  policy: ContactPolicy,
  offers: readonly OfferRef[],
  channels: readonly string[],
): CompiledPolicy => runSteps(policySteps(policy, offers, channels));

export function* policySteps(
  policy: ContactPolicy,
  offers: readonly OfferRef[],
  channels: readonly string[],
): Steps<CompiledPolicy> {
  const rules = policy.rules.map(compileRule);
  const filters = policy.rules.map(filterOf);
  const governed = filters.map((f) => governedBy(f, offers));
  const rulesFor = new Map<string, Map<string, CompiledPolicyRule[]>>();
  const countedAs = new Map<string, Map<string, CountedAs>>();
  for (const channel of channels) {
    const applying = new Map<string, CompiledPolicyRule[]>();
    const counted = new Map<string, CountedAs>();
    let seen = 0;
    for (const offer of offers) {
      if (++seen % OFFERS_PER_STEP === 0) yield;
      if (!offer.channels.includes(channel)) continue;
      const mine = policy.rules.flatMap((_r, i) => (governs(filters[i]!, offer, channel) ? [rules[i]!] : []));
      if (mine.length > 0) applying.set(offer.id, mine);
      const caps = policy.rules.filter(
        (r, i) => r.type === 'frequencyCap' && countsToward(r, filters[i]!, governed[i]!, offer, channel),
      );
      if (caps.length > 0) {
        counted.set(offer.id, {
          decision: caps.some((r) => r.type === 'frequencyCap' && r.counts === 'decision'),
          impression: caps.some((r) => r.type === 'frequencyCap' && r.counts === 'impression'),
          by: caps[0]!.name,
        });
      }
    }
    rulesFor.set(channel, applying);
    countedAs.set(channel, counted);
  }
  return {
    rules,
    rulesFor,
    countedAs,
    groupOf: new Map(offers.map((o) => [o.id, o.group])),
    holdMs: policy.holdMinutes * 60_000,
  };
}
