import type { Logger } from 'pino';
import type { ResponseEvent } from '../contacts/store.js';
import type { Counters } from '../counters/store.js';
import type { Arms } from '../decision/arms.js';
import type { Decision } from '../decision/types.js';
import type { Counts } from '../learning/posterior.js';
import { cellKey, type LearningState, positiveOutcome } from '../learning/state.js';
import type { Profile } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { Kpis } from './kpis.js';

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

/** A decision this node made, for the outcomes that name it. */
interface Recent {
  /** the customer's segment and phase when decided; undefined for an unknown customer */
  readonly cell: Cell | undefined;
  /** offers an outcome has already counted a trial for (made at the first outcome) */
  tried: Set<string> | undefined;
}

/** Decisions remembered for their outcomes (a few minutes of traffic on a busy node): at least this many, at most twice. */
const RECENT_DECISIONS = 100_000;

/**
 * The latest decisions by ID, in two generations: when the newer is full it becomes the older
 * and the older is dropped whole. A decision is set once and read by its outcomes, so a
 * recency list (an LRU) would be work on every decision for no gain.
 */
class Generations<V> {
  private newer = new Map<string, V>();
  private older = new Map<string, V>();
  constructor(private readonly size: number) {}
  set(key: string, value: V): void {
    if (this.newer.size >= this.size) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(key, value);
  }
  get(key: string): V | undefined {
    return this.newer.get(key) ?? this.older.get(key);
  }
}

/**
 * Closes the loop: every decision and every newly stored outcome is tallied for the reports,
 * and outcomes update the learned propensity of the offer's cell. An outcome that names a
 * decision this node made counts for the segment and phase the customer had then, so an
 * accept after a phase change still credits the cell that chose the offer; otherwise for
 * the customer's current profile. A trial is an impression, or, for a known decision whose
 * impression was not reported, the first accept, click or reject of the offer.
 */
export class FeedbackLoop {
  private readonly recent = new Generations<Recent>(RECENT_DECISIONS);
  /** one Cell per segment × phase, shared by the decisions remembered */
  private readonly cells = new Map<string, Map<string, Cell>>();

  private cellOf(valueSegment: Cell['valueSegment'], lifecyclePhase: Cell['lifecyclePhase']): Cell {
    let byPhase = this.cells.get(valueSegment);
    if (!byPhase) this.cells.set(valueSegment, (byPhase = new Map()));
    let cell = byPhase.get(lifecyclePhase);
    if (!cell) byPhase.set(lifecyclePhase, (cell = Object.freeze({ valueSegment, lifecyclePhase })));
    return cell;
  }

  constructor(private readonly d: FeedbackDeps) {}

  decided(decision: Decision): void {
    this.d.kpis.decision(decision);
    const p = decision.profile;
    if (decision.offers.length === 0) return;
    const cell = p.valueSegment && p.lifecyclePhase ? this.cellOf(p.valueSegment, p.lifecyclePhase) : undefined;
    this.recent.set(decision.decisionId, { cell, tried: undefined });
  }

  stored(events: readonly ResponseEvent[]): void {
    for (const e of events) {
      const recent = e.decisionId === undefined ? undefined : this.recent.get(e.decisionId);
      if (recent) {
        this.learn(e, recent.cell, recent);
        continue;
      }
      const cached = this.d.profiles.peek?.(e.customerId);
      if (cached !== undefined) this.learn(e, cached ?? undefined, undefined);
      else {
        this.d.profiles.get(e.customerId).then(
          (p) => this.learn(e, p, undefined),
          // without the profile the outcome still counts, in the unknown customers' cell
          () => this.learn(e, undefined, undefined),
        );
      }
    }
  }

  private learn(e: ResponseEvent, profile: Cell | undefined, recent: Recent | undefined): void {
    const ruleset = this.d.rules.active;
    if (!ruleset) return;
    const positive = positiveOutcome(ruleset.source.arbitration.learning, e.channel);
    const cell = cellKey(e.offerId, e.channel, profile);
    // for a known decision the first outcome of an offer is its trial (an answer proves it was seen)
    if (recent ? !recent.tried?.has(e.offerId) : e.outcome === 'impression') {
      this.count(cell, 't');
      if (recent) (recent.tried ??= new Set()).add(e.offerId);
    }
    if (e.outcome === positive) this.count(cell, 's');
    this.d.kpis.outcome(e.offerId, profile, this.d.arms.of(e.customerId), e.outcome);
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
