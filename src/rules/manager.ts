import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { AuditEntry, AuditSink, AuditTrail } from './audit.js';
import { loadRuleSet, RULE_FILES, type RuleSetSource } from './load.js';
import { formatIssue } from './positions.js';
import type { RuleSetRegistry } from './registry.js';
import { compileRuleSet } from './ruleset.js';

export interface ChangeResult {
  readonly changed: boolean;
  readonly version: string;
  readonly previous: string | null;
  readonly summary: string;
}

/** Quiet time after the last file event before a reload: editors write in several steps. */
const DEBOUNCE_MS = 300;
/** The safety net where file events do not arrive (network mounts, some containers). */
const POLL_MS = 3_000;

const stable = (v: unknown) => JSON.stringify(v);

/** What changed between two rule sets, in a line for the audit log. */
export function summarize(before: RuleSetSource | undefined, after: RuleSetSource): string {
  if (!before) return `${after.offers.length} offers`;
  const old = new Map(before.offers.map((o) => [o.id, stable(o)] as const));
  const now = new Map(after.offers.map((o) => [o.id, stable(o)] as const));
  const added = [...now.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const changed = [...now.keys()].filter((id) => old.has(id) && old.get(id) !== now.get(id));
  const list = (sign: string, ids: string[]) => (ids.length ? `${sign}${ids.length} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})` : `${sign}0`);
  const parts = [`offers ${list('+', added)} ${list('-', removed)} ${list('~', changed)}`];
  if (stable(before.manifest) !== stable(after.manifest)) parts.push('manifest changed');
  if (stable(before.arbitration) !== stable(after.arbitration)) parts.push('arbitration changed');
  if (stable(before.contactPolicy) !== stable(after.contactPolicy)) parts.push('contact policy changed');
  return parts.join('; ');
}

/**
 * Changes the active rule set: reload from the folder (validated and compiled before the one
 * assignment that activates it; a bad folder is refused with every error while the last good
 * version keeps serving), switch to a loaded version, and pick up edits by themselves. Every
 * activation, refusal and rollback is audited and counted.
 */
export class RuleSetManager {
  private chain: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** the files as last read, so polling reloads only on a change */
  private seen = '';

  constructor(
    private readonly dir: string,
    private readonly registry: RuleSetRegistry,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly trail: AuditTrail,
    private readonly sink: AuditSink = () => {},
  ) {}

  private audit(entry: Omit<AuditEntry, 'at'>): void {
    const full = { at: new Date().toISOString(), ...entry };
    this.trail.add(full);
    this.metrics.rulesetChanges.slot(entry.result).n++;
    this.log[entry.result === 'refused' ? 'warn' : 'info']({ audit: full }, `rule set ${entry.action}: ${entry.result} ${entry.version}`);
    try {
      this.sink(full);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'audit entry not written to the shared log');
    }
  }

  private show(version: string): void {
    this.metrics.rulesetInfo.reset();
    this.metrics.rulesetInfo.labels(version).set(1);
  }

  /** Audits the version the service started with. */
  started(): void {
    const active = this.registry.active;
    if (active) this.audit({ who: 'start', action: 'reload', result: 'activated', version: active.version, previous: null, hash: active.hash, summary: summarize(undefined, active.source) });
  }

  /** Reloads run one at a time, in the order asked. */
  reload(who: string): Promise<ChangeResult> {
    const next = this.chain.then(() => this.reloadNow(who));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(who: string): Promise<ChangeResult> {
    this.seen = await this.signature();
    const before = this.registry.active;
    const previous = before?.version ?? null;
    const loaded = await loadRuleSet(this.dir);
    if (!loaded.ok) {
      this.registry.refuse(loaded.errors);
      this.audit({ who, action: 'reload', result: 'refused', version: previous ?? '', previous, hash: null, summary: `${loaded.errors.length} error(s): ${loaded.errors.slice(0, 3).map(formatIssue).join('; ')}` });
      throw new ApiError(
        'invalid_ruleset',
        `the rule set in ${this.dir} has ${loaded.errors.length} error(s); version ${previous} keeps serving`,
        loaded.errors.map((e) => ({ file: e.file, line: e.line, column: e.column, path: e.path, message: e.message })),
      );
    }
    for (const w of loaded.warnings) this.log.warn(formatIssue(w));
    if (before && loaded.source.hash === before.hash) {
      this.registry.lastError = null;
      this.audit({ who, action: 'reload', result: 'unchanged', version: before.version, previous, hash: before.hash, summary: 'no change' });
      return { changed: false, version: before.version, previous, summary: 'no change' };
    }
    // compiled in full before the one assignment that serves it
    const ruleset = compileRuleSet(loaded.source);
    const summary = summarize(before?.source, loaded.source);
    this.registry.activate(ruleset);
    this.registry.lastError = null;
    this.show(ruleset.version);
    this.audit({ who, action: 'reload', result: 'activated', version: ruleset.version, previous, hash: ruleset.hash, summary });
    return { changed: true, version: ruleset.version, previous, summary };
  }

  /** Serves a version loaded before (a rollback, or forward again). */
  activate(version: string, who: string): ChangeResult {
    const target = this.registry.get(version);
    if (!target) throw new ApiError('not_found', `no loaded rule-set version "${version}"; GET /v1/rulesets lists them`);
    const before = this.registry.active;
    const previous = before?.version ?? null;
    if (before?.version === version) {
      this.audit({ who, action: 'activate', result: 'unchanged', version, previous, hash: target.hash, summary: 'already active' });
      return { changed: false, version, previous, summary: 'already active' };
    }
    const summary = summarize(before?.source, target.source);
    this.registry.activate(target);
    this.show(version);
    this.audit({ who, action: 'activate', result: 'rolled_back', version, previous, hash: target.hash, summary });
    return { changed: true, version, previous, summary };
  }

  /** Names, sizes and times of the rule files: cheap to read every few seconds. */
  private async signature(): Promise<string> {
    const parts: string[] = [];
    const add = async (path: string) => {
      const s = await stat(path).catch(() => undefined);
      parts.push(`${path}:${s ? `${s.size}:${s.mtimeMs}` : '-'}`);
    };
    for (const name of [RULE_FILES.manifest, RULE_FILES.arbitration, RULE_FILES.contactPolicy]) await add(join(this.dir, name));
    const offers = await readdir(join(this.dir, RULE_FILES.offers)).catch(() => [] as string[]);
    for (const name of offers.sort()) await add(join(this.dir, RULE_FILES.offers, name));
    return parts.join('\n');
  }

  private changed(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.reload('file watch').catch(() => {
        // refused: audited, and lastError says why; the next edit tries again
      });
    }, DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** Picks up edits by themselves: file events, debounced, and a poll as a safety net. */
  async watch(): Promise<void> {
    this.seen = await this.signature();
    try {
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.changed());
      this.watcher.on('error', (err) => this.log.warn({ err: err.message }, 'watching the rules folder failed; polling goes on'));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch the rules folder; polling it');
    }
    this.poller = setInterval(() => {
      void this.signature().then((now) => {
        if (now !== this.seen) this.changed();
      });
    }, POLL_MS);
    this.poller.unref();
  }

  close(): void {
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
