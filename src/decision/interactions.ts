import type { ContactState } from '../contacts/state.js';
import { type DecisionLog, type DecisionRecord, Generations } from '../decision-log/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { Decision, DecisionRequest, RankedOffer } from './types.js';

/** Interactions' answers this process keeps at hand (at most twice as many); older ones are looked up in the log. */
const KEPT_ANSWERS = 50_000;

/** How long a repeat waits for a decision another node made just now to reach the log. */
const LATE_LOG_MS = 50;

/**
 * A response's `at` is the caller's clock: an accept stamped up to this long before the
 * decision still counts as made in it.
 */
export const CLOCK_SLACK_MS = 60_000;

interface Answered {
  readonly decision: Decision;
  /** epoch ms */
  readonly at: number;
}

/**
 * The answers of open interactions (a call, a page view): a repeated request of one gets its
 * decision again, less the offers accepted or rejected since, and presents nothing new. The
 * customer's contact state says which decision an interaction stands by (shared by every node
 * with Redis); the answer itself comes from this process when it made it, else from the
 * decision log, with names and treatments from the rule-set version that decided.
 */
export class Interactions {
  private readonly answers = new Generations<Answered>(KEPT_ANSWERS);

  constructor(
    private readonly log: DecisionLog,
    private readonly rules: RuleSetRegistry,
  ) {}

  /** Keeps an interaction's answer for its repeats. */
  remember(decision: Decision, at: number): void {
    this.answers.set(decision.decisionId, { decision, at });
  }

  /**
   * The interaction's decision `decisionId` as a repeated `request` gets it, or undefined when
   * it cannot be found for this customer and channel (the caller then decides anew).
   */
  async again(decisionId: string, request: DecisionRequest, contacts: ContactState): Promise<Decision | undefined> {
    let answered = this.answers.get(decisionId);
    if (answered === undefined) {
      let record: DecisionRecord | undefined;
      try {
        record = await this.log.get(decisionId);
        // another node's decision may be on its way to the log (sent within a turn of its event loop)
        if (record === undefined) {
          await new Promise((resolve) => setTimeout(resolve, LATE_LOG_MS));
          record = await this.log.get(decisionId);
        }
      } catch {
        return undefined;
      }
      if (record === undefined || record.preview) return undefined;
      answered = { decision: this.fromRecord(record, request), at: Date.parse(record.at) };
      this.answers.set(decisionId, answered);
    }
    const { decision, at } = answered;
    if (decision.customerId !== request.customerId || decision.channel !== request.channel) return undefined;
    return withoutAnswered(decision, contacts, at);
  }

  /** A logged decision as it was answered: names and treatments from its rule-set version (or the active one). */
  private fromRecord(r: DecisionRecord, request: DecisionRequest): Decision {
    const ruleset = this.rules.get(r.rulesetVersion) ?? this.rules.active;
    const offers: RankedOffer[] = [];
    for (const o of r.offers) {
      const offer = ruleset?.offers.find((c) => c.id === o.offerId);
      const treatment = offer?.treatments[r.channel];
      // an offer the rule sets at hand no longer have cannot be shown again
      if (offer === undefined || treatment === undefined) continue;
      offers.push({ ...o, name: offer.name, treatment });
    }
    return {
      decisionId: r.decisionId,
      customerId: r.customerId,
      channel: r.channel,
      placement: request.placement ?? null,
      rulesetVersion: r.rulesetVersion,
      profile: {
        found: r.profile.found,
        valueSegment: r.profile.valueSegment as Decision['profile']['valueSegment'],
        lifecyclePhase: r.profile.lifecyclePhase as Decision['profile']['lifecyclePhase'],
      },
      offers,
      controlGroup: r.arm === 'control',
      arm: r.arm,
      interactionId: r.interactionId,
      degraded: r.degraded,
    };
  }
}

/** Outcomes that answer an offer: a repeated request of the interaction does not show it again. */
const ANSWERS: ReadonlySet<string> = new Set(['accept', 'reject', 'complaint']);

/** The decision less the offers accepted, rejected or complained about on its channel since it was made, ranked again from 1. */
export function withoutAnswered(decision: Decision, contacts: ContactState, at: number): Decision {
  const since = at - CLOCK_SLACK_MS;
  const answered = new Set<string>();
  for (const l of contacts.last)
    if (ANSWERS.has(l.outcome) && l.channel === decision.channel && l.at >= since) answered.add(l.offerId);
  if (!decision.offers.some((o) => answered.has(o.offerId))) return decision;
  const offers = decision.offers.filter((o) => !answered.has(o.offerId)).map((o, i) => ({ ...o, rank: i + 1 }));
  return { ...decision, offers };
}
