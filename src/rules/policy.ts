import type { ContactPolicy, ContactScope, OfferGroup, PolicyRule } from './schema.js';

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
  | (RuleBase & { readonly type: 'suppressAfter'; readonly outcome: string; readonly days: number });

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
    : { ...base, type: r.type, outcome: r.outcome, days: r.days };
}

/** Does the rule govern this offer on this channel (its offers, groups and channel filters)? */
function governs(r: PolicyRule, offer: OfferRef, channel: string): boolean {
  if (r.offers && !r.offers.includes(offer.id)) return false;
  if (r.groups && !r.groups.includes(offer.group)) return false;
  return r.channel === undefined || [r.channel].flat().includes(channel);
}

/**
 * Would a contact with `offer` on `channel` count toward this cap for some offer it governs,
 * on any channel? Such a contact, when a decision presents it, is what the cap must see.
 */
function countsToward(r: PolicyRule, offer: OfferRef, channel: string, offers: readonly OfferRef[]): boolean {
  if (r.channel !== undefined && ![r.channel].flat().includes(channel)) return false;
  const governed = offers.flatMap((o) => o.channels.filter((c) => governs(r, o, c)).map((c) => ({ o, c })));
  switch (r.scope) {
    case 'offer':
      return governed.some(({ o }) => o.id === offer.id);
    case 'group':
      return governed.some(({ o }) => o.group === offer.group);
    case 'channel':
      return governed.some(({ c }) => c === channel);
    case 'all':
      return governed.length > 0;
  }
}

export function compilePolicy(
  policy: ContactPolicy,
  offers: readonly OfferRef[],
  channels: readonly string[],
): CompiledPolicy {
  const rules = policy.rules.map(compileRule);
  const rulesFor = new Map<string, Map<string, CompiledPolicyRule[]>>();
  const countedAs = new Map<string, Map<string, CountedAs>>();
  for (const channel of channels) {
    const applying = new Map<string, CompiledPolicyRule[]>();
    const counted = new Map<string, CountedAs>();
    for (const offer of offers) {
      if (!offer.channels.includes(channel)) continue;
      const mine = policy.rules.flatMap((r, i) => (governs(r, offer, channel) ? [rules[i]!] : []));
      if (mine.length > 0) applying.set(offer.id, mine);
      const caps = policy.rules.filter((r) => r.type === 'frequencyCap' && countsToward(r, offer, channel, offers));
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
