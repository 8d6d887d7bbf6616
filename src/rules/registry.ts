import type { RuleIssue } from './positions.js';
import type { RuleSet } from './ruleset.js';

/** What earlier versions may cost: the last `versions`, within `megabytes` together. */
export interface Keeping {
  readonly versions: number;
  readonly megabytes: number;
}

/** Versions kept loaded for rollback, besides the active one and any pinned (the challenger). */
export const DEFAULT_KEEPING: Keeping = { versions: 50, megabytes: 256 };

/**
 * Holds the active rule-set snapshot and the versions loaded before it. Activation is one
 * assignment, so a decision sees either the old snapshot or the new one, never a mix.
 */
export class RuleSetRegistry {
  private current: RuleSet | undefined;
  private readonly loaded = new Map<string, RuleSet>();
  private readonly pinned = new Set<string>();
  lastError: { readonly at: string; readonly errors: readonly RuleIssue[] } | null = null;

  constructor(private readonly keeping: Keeping = DEFAULT_KEEPING) {}

  get active(): RuleSet | undefined {
    return this.current;
  }

  activate(ruleset: RuleSet): void {
    // active first: the version it replaces is an earlier one now, kept only within the budget
    this.current = ruleset;
    this.load(ruleset);
  }

  /**
   * Keeps a version at hand without serving it (an earlier version). The oldest go while more
   * than `keeping.versions` are kept or they weigh more than `keeping.megabytes` together —
   * never the active one, the one just loaded, or a pinned one.
   */
  load(ruleset: RuleSet): void {
    this.loaded.delete(ruleset.version);
    this.loaded.set(ruleset.version, ruleset);
    this.known = undefined;
    const budget = this.keeping.megabytes * 1024 * 1024;
    let bytes = 0;
    for (const r of this.loaded.values()) bytes += r.bytes;
    for (const [version, r] of this.loaded) {
      if (this.loaded.size <= this.keeping.versions + this.pinned.size && bytes <= budget) break;
      if (version !== this.current?.version && version !== ruleset.version && !this.pinned.has(version)) {
        this.loaded.delete(version);
        bytes -= r.bytes;
      }
    }
  }

  /** Keeps a version loaded for good (the challenger): events may name its offers. */
  pin(ruleset: RuleSet): void {
    this.pinned.add(ruleset.version);
    this.load(ruleset);
  }

  get(version: string): RuleSet | undefined {
    return this.loaded.get(version);
  }

  refuse(errors: readonly RuleIssue[], at = new Date()): void {
    this.lastError = { at: at.toISOString(), errors };
  }

  /** Loaded versions, oldest first. */
  versions(): readonly RuleSet[] {
    return [...this.loaded.values()];
  }

  private known: ReturnType<RuleSetRegistry['knows']> | undefined;

  /** Offers and channels of every loaded version: what response events may name. */
  knows(): {
    readonly offers: ReadonlySet<string>;
    readonly channels: ReadonlySet<string>;
    /** `offerId|channel` for every offer with a treatment on that channel */
    readonly treated: ReadonlySet<string>;
    readonly retentionDays: number;
  } {
    const all = [...this.loaded.values()];
    this.known ??= {
      offers: new Set(all.flatMap((r) => r.offers.map((o) => o.id))),
      channels: new Set(all.flatMap((r) => [...r.manifest.channels, ...r.outbound.channels.keys()])),
      treated: new Set(
        all.flatMap((r) => r.offers.flatMap((o) => Object.keys(o.treatments).map((c) => `${o.id}|${c}`))),
      ),
      retentionDays: Math.max(
        1,
        ...all.flatMap((r) => r.policy.rules.map((rule) => (rule.type === 'frequencyCap' ? rule.windowDays : 1))),
      ),
    };
    return this.known;
  }

  /** Days of contact counts any loaded policy can look back over. */
  retentionDays(): number {
    return this.knows().retentionDays;
  }
}
