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
import type { EventTally, Kpis } from './kpis.js';
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
 * Closes the loop: every decision and every stored outcome (once per event) is tallied for the
 * reports, and outcomes update the learned propensity of the offer's cell. An outcome that names its
 * decision counts for the segment and phase the customer had then, under the decision's arm,
 * so an accept after a phase change still credits the cell that chose the offer; what it
 * counts for learning the store has settled (a trial and a success at most once per decision
 * × offer, a success only after the trial). An outcome that names no decision is tallied for
 * the customer's current profile and arm, and learned from (an impression a trial, the
 * channel's success outcome a success) only where the rule set's learning says `unattributed`.
 */
export class FeedbackLoop {
  /** profile look-ups of unattributed outcomes not yet tallied */
  private readonly looking = new Set<Promise<void>>();

  constructor(private readonly d: FeedbackDeps) {}

  decided(decision: Decision): void {
    this.d.kpis.decision(decision);
  }

  /**
   * Each event is tallied once, in the reports and for learning, however often it is told: a
   * duplicate is told too, since its first recording may have been by a write whose answer was
   * lost, and the shared counters make its tallies only where none was made. This process's
   * learning copy and /metrics count the owed ones (recorded by this process).
   */
  stored(responses: readonly StoredResponse[]): void {
    for (const r of responses) {
      // in this process only (no shared counts), a duplicate's tallies were made when it was recorded here
      if (!r.owed && !this.d.shared) continue;
      const { event: e, learned, decision } = r;
      const tally: EventTally = { id: `${e.customerId}|${e.eventId}`, recordedAt: r.recordedAt, owed: r.owed };
      if (decision) {
        const p = decision.profile;
        const cell = p.valueSegment && p.lifecyclePhase ? (p as Cell) : undefined;
        this.learn(
          cellKey(e.offerId, e.channel, cell),
          (learned & LEARNED_TRIAL) > 0,
          (learned & LEARNED_SUCCESS) > 0,
          tally,
        );
        this.d.kpis.outcome(e.offerId, e.channel, cell, decision.arm, e.outcome, true, tally);
        continue;
      }
      const cached = this.d.profiles.peek?.(e.customerId);
      if (cached !== undefined) this.unattributed(e, cached ?? undefined, tally);
      else {
        const looked: Promise<void> = this.d.profiles
          .get(e.customerId)
          .then(
            (p) => this.unattributed(e, p, tally),
            // without the profile the outcome still counts, in the unknown customers' cell
            () => this.unattributed(e, undefined, tally),
          )
          .catch((err: unknown) => this.d.log.error({ err }, 'could not tally a response event'))
          .finally(() => this.looking.delete(looked));
        this.looking.add(looked);
      }
    }
  }

  /** Resolves once the outcomes told so far are tallied (some wait for a profile look-up). */
  async settled(): Promise<void> {
    while (this.looking.size > 0) await Promise.allSettled([...this.looking]);
  }

  private unattributed(e: ResponseEvent, profile: Cell | undefined, tally: EventTally): void {
    const learning = this.d.rules.active?.source.arbitration.learning;
    if (learning?.unattributed) {
      const key = cellKey(e.offerId, e.channel, profile);
      this.learn(key, e.outcome === 'impression', e.outcome === positiveOutcome(learning, e.channel), tally);
    }
    this.d.kpis.outcome(e.offerId, e.channel, profile, this.d.arms.of(e.customerId), e.outcome, false, tally);
  }

  /** A trial and/or a success for a cell: in this process's copy when owed, in the shared counts once per event. */
  private learn(cell: string, trial: boolean, success: boolean, tally: EventTally): void {
    if (!trial && !success) return;
    if (tally.owed) this.d.learning.add(cell, trial ? 1 : 0, success ? 1 : 0);
    const fields: string[] = [];
    if (trial) fields.push(`${cell}|t`);
    if (success) fields.push(`${cell}|s`);
    this.d.shared?.tally({ ...tally, fields });
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
