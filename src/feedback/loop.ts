import type { Logger } from 'pino';
import type { Arm } from '../decision/assign.js';
import type { Decision } from '../decision/types.js';
import type { Profile } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { Counts } from './bandit.js';
import type { Counters } from './counters.js';
import type { Kpis } from './kpis.js';
import { cellKey, positiveOutcome, type LearningState } from './learning.js';
import type { ResponseEvent } from './schema.js';

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
  readonly armOf: (customerId: string) => Arm;
  readonly log: Logger;
}

/**
 * Closes the loop: every decision and every newly stored outcome is tallied for the reports,
 * and impressions and successes update the learned propensity of the offer's cell (the
 * customer's current value segment and lifecycle phase).
 */
export class FeedbackLoop {
  constructor(private readonly d: FeedbackDeps) {}

  decided(decision: Decision): void {
    this.d.kpis.decision(decision);
  }

  stored(events: readonly ResponseEvent[]): void {
    for (const e of events) {
      const cached = this.d.profiles.peek?.(e.customerId);
      if (cached !== undefined) this.learn(e, cached ?? undefined);
      else {
        this.d.profiles.get(e.customerId).then(
          (p) => this.learn(e, p),
          // without the profile the outcome still counts, in the unknown customers' cell
          () => this.learn(e, undefined),
        );
      }
    }
  }

  private learn(e: ResponseEvent, profile: Profile | undefined): void {
    const ruleset = this.d.rules.active;
    if (!ruleset) return;
    const positive = positiveOutcome(ruleset.source.arbitration.learning, e.channel);
    const cell = cellKey(e.offerId, e.channel, profile);
    if (e.outcome === 'impression') this.count(cell, 't');
    if (e.outcome === positive) this.count(cell, 's');
    this.d.kpis.outcome(e.offerId, profile, this.d.armOf(e.customerId), e.outcome);
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
