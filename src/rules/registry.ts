import type { RuleIssue } from './positions.js';
import type { RuleSet } from './ruleset.js';

/**
 * Holds the active rule-set snapshot and the versions loaded before it. Activation is one
 * assignment, so a decision sees either the old snapshot or the new one, never a mix.
 */
export class RuleSetRegistry {
  private current: RuleSet | undefined;
  private readonly loaded = new Map<string, RuleSet>();
  lastError: { readonly at: string; readonly errors: readonly RuleIssue[] } | null = null;

  get active(): RuleSet | undefined {
    return this.current;
  }

  activate(ruleset: RuleSet): void {
    this.load(ruleset);
    this.current = ruleset;
  }

  /** Keeps a version at hand without serving it (a challenger, an earlier version). */
  load(ruleset: RuleSet): void {
    this.loaded.set(ruleset.version, ruleset);
    this.known = undefined;
  }

  private known: { offers: ReadonlySet<string>; channels: ReadonlySet<string> } | undefined;

  /** Offers and channels of every loaded version: what response events may name. */
  knows(): { readonly offers: ReadonlySet<string>; readonly channels: ReadonlySet<string> } {
    this.known ??= {
      offers: new Set([...this.loaded.values()].flatMap((r) => r.offers.map((o) => o.id))),
      channels: new Set([...this.loaded.values()].flatMap((r) => r.manifest.channels)),
    };
    return this.known;
  }

  refuse(errors: readonly RuleIssue[], at = new Date()): void {
    this.lastError = { at: at.toISOString(), errors };
  }

  versions(): readonly RuleSet[] {
    return [...this.loaded.values()];
  }
}
