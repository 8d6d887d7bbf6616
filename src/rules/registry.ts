import type { RuleIssue } from './positions.js';
import type { RuleSet } from './ruleset.js';

/** Versions kept loaded for rollback, besides the active one and any pinned (the challenger). */
const KEEP_VERSIONS = 50;

/**
 * Holds the active rule-set snapshot and the versions loaded before it. Activation is one
 * assignment, so a decision sees either the old snapshot or the new one, never a mix.
 */
export class RuleSetRegistry {
  private current: RuleSet | undefined;
  private readonly loaded = new Map<string, RuleSet>();
  private readonly pinned = new Set<string>();
  lastError: { readonly at: string; readonly errors: readonly RuleIssue[] } | null = null;

  get active(): RuleSet | undefined {
    return this.current;
  }

  activate(ruleset: RuleSet): void {
    this.load(ruleset);
    this.current = ruleset;
  }

  /** Keeps a version at hand without serving it (an earlier version); the oldest beyond KEEP_VERSIONS go. */
  load(ruleset: RuleSet): void {
    this.loaded.delete(ruleset.version);
    this.loaded.set(ruleset.version, ruleset);
    this.known = undefined;
    for (const [version] of this.loaded) {
      if (this.loaded.size <= KEEP_VERSIONS + this.pinned.size) break;
      if (version !== this.current?.version && version !== ruleset.version && !this.pinned.has(version))
        this.loaded.delete(version);
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
      channels: new Set(all.flatMap((r) => r.manifest.channels)),
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
