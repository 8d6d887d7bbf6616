import { type ContactState, DAY_MS, dayOf, type Presented } from '../contacts/state.js';
import type { CompiledPolicy, CompiledPolicyRule, SuppressionTrigger } from '../rules/policy.js';
import type { CompiledOffer } from '../rules/ruleset.js';

type Cap = CompiledPolicyRule & { type: 'frequencyCap' };
type After = CompiledPolicyRule & { type: 'suppressAfter' };

/** The key contacts are grouped by under a rule's scope, for a contact or for the offer decided. */
function scopeKey(
  rule: CompiledPolicyRule,
  policy: CompiledPolicy,
  offerId: string,
  channel: string,
): string | undefined {
  switch (rule.scope) {
    case 'offer':
      return offerId;
    case 'group':
      return policy.groupOf.get(offerId);
    case 'channel':
      return channel;
    case 'all':
      return '';
  }
}

const counts = (rule: CompiledPolicyRule, channel: string) => rule.channels === undefined || rule.channels.has(channel);

/** Is this offer one whose outcome starts the suppression (a rule's `of`)? */
function triggers(of: SuppressionTrigger, policy: CompiledPolicy, offerId: string): boolean {
  if (of.offers && !of.offers.has(offerId)) return false;
  return of.groups === undefined || of.groups.has(policy.groupOf.get(offerId) ?? '');
}

const NONE: ReadonlyMap<string, number> = new Map();

/**
 * Contact policy over one customer's contact state, for one decision. Each rule's contacts are
 * summed once, by scope key (offer, group, channel or all), the first time the rule is asked
 * about; every candidate offer after that costs a look-up.
 */
export class PolicyView {
  // made when first needed: a customer without contacts or outcomes needs none
  private capTotals: Map<Cap, Map<string, number>> | undefined;
  private latest: Map<After, Map<string, number>> | undefined;
  /** the channel's rules, by offer */
  private readonly rulesFor: ReadonlyMap<string, readonly CompiledPolicyRule[]> | undefined;
  /** a rule had to answer without the history: the answer is a guess */
  guessed = false;

  constructor(
    private readonly policy: CompiledPolicy,
    /** undefined: the history could not be read */
    private readonly state: ContactState | undefined,
    private readonly channel: string,
    private readonly now: number,
  ) {
    this.rulesFor = policy.rulesFor.get(channel);
  }

  private totals(rule: Cap): ReadonlyMap<string, number> {
    const state = this.state!;
    if (state.counts.length === 0 && (rule.counts !== 'impression' || state.holds.length === 0)) return NONE;
    this.capTotals ??= new Map();
    let totals = this.capTotals.get(rule);
    if (totals) return totals;
    totals = new Map();
    const since = dayOf(this.now) - rule.windowDays + 1;
    for (const c of state.counts)
      if (c.outcome === rule.counts && c.day >= since) this.add(totals, rule, c.offerId, c.channel, c.n);
    if (rule.counts === 'impression')
      for (const h of state.holds) if (h.expiresAt > this.now) this.add(totals, rule, h.offerId, h.channel, 1);
    this.capTotals.set(rule, totals);
    return totals;
  }

  private add(totals: Map<string, number>, rule: Cap, offerId: string, channel: string, n: number): void {
    if (!counts(rule, channel)) return;
    const key = scopeKey(rule, this.policy, offerId, channel);
    if (key !== undefined) totals.set(key, (totals.get(key) ?? 0) + n);
  }

  private last(rule: After): ReadonlyMap<string, number> {
    // no outcome yet (most customers): no rule's map to build
    if (this.state!.last.length === 0) return NONE;
    this.latest ??= new Map();
    let last = this.latest.get(rule);
    if (last) return last;
    last = new Map();
    for (const l of this.state!.last) {
      if (l.outcome !== rule.outcome || !counts(rule, l.channel)) continue;
      if (rule.of !== undefined && !triggers(rule.of, this.policy, l.offerId)) continue;
      const key = scopeKey(rule, this.policy, l.offerId, l.channel);
      if (key !== undefined && l.at > (last.get(key) ?? -Infinity)) last.set(key, l.at);
    }
    this.latest.set(rule, last);
    return last;
  }

  private over(rule: Cap, offer: CompiledOffer, pending: readonly Presented[]): boolean {
    const key = scopeKey(rule, this.policy, offer.id, this.channel)!;
    let n = this.totals(rule).get(key) ?? 0;
    for (const p of pending) {
      const adds = rule.counts === 'decision' ? p.decision : p.holdUntil !== undefined;
      if (adds && counts(rule, p.channel) && scopeKey(rule, this.policy, p.offerId, p.channel) === key) n++;
    }
    return n >= rule.max;
  }

  private recent(rule: After, offer: CompiledOffer): boolean {
    const at = this.last(rule).get(scopeKey(rule, this.policy, offer.id, this.channel)!);
    return at !== undefined && at > this.now - rule.days * DAY_MS;
  }

  /**
   * The name of the first rule that suppresses this offer now, or null. Without the history
   * each rule that applies suppresses or not as its whenHistoryUnavailable says. `pending` is
   * what this decision already presents.
   */
  suppressedBy(offer: CompiledOffer, pending: readonly Presented[]): string | null {
    const rules = this.rulesFor?.get(offer.id);
    if (rules === undefined) return null;
    if (this.state === undefined) {
      this.guessed = true;
      const closed = rules.find((r) => r.failClosed);
      return closed ? `${closed.name} (contact history unavailable)` : null;
    }
    for (const rule of rules) {
      if (rule.type === 'frequencyCap' ? this.over(rule, offer, pending) : this.recent(rule, offer)) return rule.name;
    }
    return null;
  }
}

/** One offer's suppression, for callers outside a decision. */
export function suppressedBy(
  policy: CompiledPolicy,
  offer: CompiledOffer,
  channel: string,
  state: ContactState | undefined,
  pending: readonly Presented[],
  now: number,
): string | null {
  return new PolicyView(policy, state, channel, now).suppressedBy(offer, pending);
}

/** The name of the first cap that counts this offer, if any. */
export function cappedBy(policy: CompiledPolicy, offer: CompiledOffer, channel: string): string | undefined {
  return policy.countedAs.get(channel)?.get(offer.id)?.by;
}

/** What presenting this offer adds to contact state, or undefined when no cap counts it. */
export function presentedAs(
  policy: CompiledPolicy,
  offer: CompiledOffer,
  channel: string,
  now: number,
): Presented | undefined {
  const as = policy.countedAs.get(channel)?.get(offer.id);
  if (as === undefined) return undefined;
  return {
    offerId: offer.id,
    channel,
    decision: as.decision,
    holdUntil: as.impression ? now + policy.holdMs : undefined,
  };
}
