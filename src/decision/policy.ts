import { DAY_MS, dayOf, type ContactState, type Presented } from '../feedback/contacts.js';
import type { CompiledPolicy, CompiledPolicyRule } from '../rules/policy.js';
import type { CompiledOffer } from '../rules/ruleset.js';

/** Contacts of `offerId` on `contactChannel`: do they count for `offer` decided on `channel` under this rule? */
function inScope(rule: CompiledPolicyRule, policy: CompiledPolicy, offer: CompiledOffer, channel: string, offerId: string, contactChannel: string): boolean {
  if (rule.channels !== undefined && !rule.channels.has(contactChannel)) return false;
  switch (rule.scope) {
    case 'offer':
      return offerId === offer.id;
    case 'group':
      return policy.groupOf.get(offerId) === offer.group;
    case 'channel':
      return contactChannel === channel;
    case 'all':
      return true;
  }
}

/** Contacts in the cap's window, with what this decision already presents. */
function counted(rule: CompiledPolicyRule & { type: 'frequencyCap' }, policy: CompiledPolicy, offer: CompiledOffer, channel: string, state: ContactState, pending: readonly Presented[], now: number): number {
  const since = dayOf(now) - rule.windowDays + 1;
  let n = 0;
  for (const c of state.counts) {
    if (c.outcome === rule.counts && c.day >= since && inScope(rule, policy, offer, channel, c.offerId, c.channel)) n += c.n;
  }
  if (rule.counts === 'impression') {
    for (const h of state.holds) if (h.expiresAt > now && inScope(rule, policy, offer, channel, h.offerId, h.channel)) n++;
  }
  for (const p of pending) {
    const adds = rule.counts === 'decision' ? p.decision : p.holdUntil !== undefined;
    if (adds && inScope(rule, policy, offer, channel, p.offerId, p.channel)) n++;
  }
  return n;
}

function recent(rule: CompiledPolicyRule & { type: 'suppressAfter' }, policy: CompiledPolicy, offer: CompiledOffer, channel: string, state: ContactState, now: number): boolean {
  const since = now - rule.days * DAY_MS;
  for (const l of state.last) {
    if (l.outcome === rule.outcome && l.at > since && inScope(rule, policy, offer, channel, l.offerId, l.channel)) return true;
  }
  return false;
}

/**
 * The name of the first contact-policy rule that suppresses this offer now, or null. `state`
 * undefined means the history could not be read: then each rule that applies suppresses or
 * not as its whenHistoryUnavailable says. `pending` is what this decision already presents.
 */
export function suppressedBy(policy: CompiledPolicy, offer: CompiledOffer, channel: string, state: ContactState | undefined, pending: readonly Presented[], now: number): string | null {
  const rules = policy.rulesFor.get(channel)?.get(offer.id);
  if (rules === undefined) return null;
  if (state === undefined) {
    const closed = rules.find((r) => r.failClosed);
    return closed ? `${closed.name} (contact history unavailable)` : null;
  }
  for (const rule of rules) {
    if (rule.type === 'frequencyCap' ? counted(rule, policy, offer, channel, state, pending, now) >= rule.max : recent(rule, policy, offer, channel, state, now)) return rule.name;
  }
  return null;
}

/** What presenting this offer adds to contact state, or undefined when no cap counts it. */
export function presentedAs(policy: CompiledPolicy, offer: CompiledOffer, channel: string, now: number): Presented | undefined {
  const as = policy.countedAs.get(channel)?.get(offer.id);
  if (as === undefined) return undefined;
  return { offerId: offer.id, channel, decision: as.decision, holdUntil: as.impression ? now + policy.holdMs : undefined };
}
