import type { Logger } from 'pino';
import { LEARNED_SUCCESS, LEARNED_TRIAL, type ResponseEvent } from '../contacts/store.js';
import type { Counters } from '../counters/store.js';
import type { Arms } from '../decision/arms.js';
import type { Decision } from '../decision/types.js';
import type { Counts } from '../learning/posterior.js';
import { cellKey, type LearningState, positiveOutcome } from '../learning/state.js';
import type { Profile } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { Kpis } from './kpis.js';
import type { StoredResponse } from './service.js';

/** Learning counts in shared counters: `<cell>|t` trials (impressions), `<cell>|s` successes. */
export function cellsFromTotals(totals: ReadonlyMap<string, number>): Map<string, Counts> {
  const cells = new Map<string, { trials: number; successes: number }>();
  for (const [field, n] of totals) {
    const cut = field.lastIndexOf('|');
    const kind = field.slice(cut + 1);
    if (kind !== 't' && kind !== 's') continue;
    const key = field.slice(0, cut);
    let c = cells.get(key);
    if (!c) cells.set(key, (c = { trials: 0, successes: 0 }));
    if (kind === 't') c.trials += n;
    else c.successes += n;
  }
  return cells;
}

export interface FeedbackDeps {
  readonly learning: LearningState;
  /** shared learning counts (Redis); absent when the state lives in this process only */
  readonly shared: Counters | undefined;
  readonly kpis: Kpis;
  readonly profiles: ProfileStore;
  readonly rules: RuleSetRegistry;
  readonly arms: Pick<Arms, 'of'>;
  readonly log: Logger;
}

type Cell = Pick<Profile, 'valueSegment' | 'lifecyclePhase'>;

/**
 * Closes the loop: every decision and every newly stored outcome is tallied for the reports,
 * and outcomes update the learned propensity of the offer's cell. An outcome that names its
 * decision counts for the segment and phase the customer had then, under the decision's arm,
 * so an accept after a phase change still credits the cell that chose the offer; what it
 * counts for learning the store has settled (a trial and a success at most once per decision
 * × offer, a success only after the trial). An outcome that names no decision is tallied for
 * the customer's current profile and arm, and learned from (an impression a trial, the
 * channel's success outcome a success) only where the rule set's learning says `unattributed`.
 */
export class FeedbackLoop {
  constructor(private readonly d: FeedbackDeps) {}

  decided(decision: Decision): void {
    this.d.kpis.decision(decision);
  }

  stored(responses: readonly StoredResponse[]): void {
    for (const { event: e, learned, decision } of responses) {
      if (decision) {
        const p = decision.profile;
        const cell = p.valueSegment && p.lifecyclePhase ? (p as Cell) : undefined;
        const key = cellKey(e.offerId, e.channel, cell);
        if (learned & LEARNED_TRIAL) this.count(key, 't');
        if (learned & LEARNED_SUCCESS) this.count(key, 's');
        this.d.kpis.outcome(e.offerId, e.channel, cell, decision.arm, e.outcome, true);
        continue;
      }
      const cached = this.d.profiles.peek?.(e.customerId);
      if (cached !== undefined) this.unattributed(e, cached ?? undefined);
      else {
        this.d.profiles.get(e.customerId).then(
          (p) => this.unattributed(e, p),
          // without the profile the outcome still counts, in the unknown customers' cell
          () => this.unattributed(e, undefined),
        );
      }
    }
  }

  private unattributed(e: ResponseEvent, profile: Cell | undefined): void {
    const learning = this.d.rules.active?.source.arbitration.learning;
    if (learning?.unattributed) {
      const key = cellKey(e.offerId, e.channel, profile);
      if (e.outcome === 'impression') this.count(key, 't');
      if (e.outcome === positiveOutcome(learning, e.channel)) this.count(key, 's');
    }
    this.d.kpis.outcome(e.offerId, e.channel, profile, this.d.arms.of(e.customerId), e.outcome, false);
  }

  private count(cell: string, kind: 't' | 's'): void {
    this.d.learning.add(cell, kind === 't' ? 1 : 0, kind === 's' ? 1 : 0);
    this.d.shared?.add(`${cell}|${kind}`);
  }

  /** Takes every node's learning counts from the shared store (Redis), in the background. */
  async sync(): Promise<void> {
    if (!this.d.shared) return;
    try {
      this.d.learning.replace(cellsFromTotals(await this.d.shared.totals()));
    } catch (err) {
      this.d.log.debug({ err: (err as Error).message }, 'learning state sync failed; keeping the local copy');
    }
  }
}
