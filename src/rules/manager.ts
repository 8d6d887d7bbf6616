import { type FSWatcher, watch } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { AuditEntry, AuditSink, AuditTrail } from './audit.js';
import { DEFAULT_RULE_LIMITS, isRuleFileName, RULE_FILES, type RuleLimits, type RuleSetSource } from './load.js';
import { DEFAULT_RELOAD_BUDGET, loadRuleSetInThread, type ReloadBudget } from './load-thread.js';
import { formatIssue, logWarnings, type RuleIssue } from './positions.js';
import type { RuleSetRegistry } from './registry.js';
import { compileRuleSetInSteps, type RuleSet } from './ruleset.js';
import { sameJson } from './same-json.js';

export interface ChangeResult {
  readonly changed: boolean;
  readonly version: string;
  readonly previous: string | null;
  readonly summary: string;
  /** the warnings of the version now active: valid, but almost certainly not meant */
  readonly warnings: readonly RuleIssue[];
}

/** Quiet time after the last file event before a reload: editors write in several steps. */
const DEBOUNCE_MS = 300;
/** However often files keep changing, a reload starts this long after the first change. */
const MAX_WAIT_MS = 2_000;
/** The safety net where file events do not arrive (network mounts, some containers). */
const POLL_MS = 3_000;

/** Who asked for a change, and the request that carried it when it came through the API. */
interface Origin {
  readonly who: string;
  readonly requestId?: string | undefined;
}

/** What changed between two rule sets, in a line for the audit log. */
export function summarize(before: RuleSetSource | undefined, after: RuleSetSource): string {
  if (!before) return `${after.offers.length} offers`;
  const old = new Map(before.offers.map((o) => [o.id, o] as const));
  const now = new Set(after.offers.map((o) => o.id));
  const added = after.offers.filter((o) => !old.has(o.id)).map((o) => o.id);
  const removed = before.offers.filter((o) => !now.has(o.id)).map((o) => o.id);
  const changed = after.offers.filter((o) => old.has(o.id) && !sameJson(old.get(o.id), o)).map((o) => o.id);
  const list = (sign: string, ids: string[]) =>
    ids.length ? `${sign}${ids.length} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})` : `${sign}0`;
  const parts = [`offers ${list('+', added)} ${list('-', removed)} ${list('~', changed)}`];
  if (!sameJson(before.manifest, after.manifest)) parts.push('manifest changed');
  if (!sameJson(before.arbitration, after.arbitration)) parts.push('arbitration changed');
  if (!sameJson(before.contactPolicy, after.contactPolicy)) parts.push('contact policy changed');
  if (!sameJson(before.journeys, after.journeys)) parts.push('journeys changed');
  return parts.join('; ');
}

/**
 * Changes the active rule set: reload from the folder (validated and compiled before the one
 * assignment that activates it; a bad folder is refused with every error while the last good
 * version keeps serving), switch to a loaded version, and pick up edits by themselves. Reloads
 * and activations run one at a time, in the order asked. Every activation, refusal and
 * rollback is audited and counted.
 */
export class RuleSetManager {
  private chain: Promise<unknown> = Promise.resolve();
  private watchers: FSWatcher[] = [];
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private firstEventAt = 0;
  /** the rule files as last read, so polling reloads only on a change */
  private seen = '';
  /** a watch reload is queued and has not started: later edits join it rather than queue another */
  private watchQueued = false;
  /** the content hash last read from the folder: what a watch reload compares with, so a rollback stays until the folder really changes */
  private folderHash: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly registry: RuleSetRegistry,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly trail: AuditTrail,
    private readonly sink: AuditSink = () => {},
    private readonly limits: RuleLimits = DEFAULT_RULE_LIMITS,
    private readonly budget: ReloadBudget = DEFAULT_RELOAD_BUDGET,
  ) {}

  private audit(entry: Omit<AuditEntry, 'at'>): void {
    const full = { at: new Date().toISOString(), ...entry };
    this.trail.add(full);
    this.metrics.rulesetChanges.slot(entry.result).n++;
    this.log[entry.result === 'refused' ? 'warn' : 'info'](
      { audit: full },
      `rule set ${entry.action}: ${entry.result} ${entry.version}`,
    );
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

  /** Audits the version the service started with, read from the folder. */
  started(): void {
    const active = this.registry.active;
    if (!active) return;
    this.folderHash = active.hash;
    this.audit({
      who: 'start',
      action: 'reload',
      result: 'activated',
      version: active.version,
      previous: null,
      hash: active.hash,
      summary: summarize(undefined, active.source),
    });
  }

  private queue<T>(work: () => Promise<T> | T): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Reads the folder and serves it. From the API this serves the folder's version even after a
   * rollback; from the watcher (`onlyIfChanged`) nothing happens unless the folder's content
   * changed since it was last read, so touching a file does not undo a rollback.
   */
  reload(
    who: string,
    options: { onlyIfChanged?: boolean; requestId?: string | undefined } = {},
  ): Promise<ChangeResult> {
    return this.queue(() => this.reloadNow({ who, requestId: options.requestId }, options.onlyIfChanged === true));
  }

  private refuse(by: Origin, previous: string | null, errors: readonly RuleIssue[]): never {
    this.registry.refuse(errors);
    this.audit({
      ...by,
      action: 'reload',
      result: 'refused',
      version: previous ?? '',
      previous,
      hash: null,
      summary: `${errors.length} error(s): ${errors.slice(0, 3).map(formatIssue).join('; ')}`,
    });
    throw new ApiError(
      'invalid_ruleset',
      `the rule set in ${this.dir} has ${errors.length} error(s); version ${previous} keeps serving`,
      errors.map((e) => ({ file: e.file, line: e.line, column: e.column, path: e.path, message: e.message })),
    );
  }

  private async reloadNow(by: Origin, onlyIfChanged: boolean): Promise<ChangeResult> {
    this.seen = await this.signature();
    // read, parsed, validated and compiled in a thread of its own: decisions go on meanwhile
    const loaded = await loadRuleSetInThread(this.dir, this.limits, this.budget);
    const before = this.registry.active;
    const previous = before?.version ?? null;
    /** Nothing served changes: the version before stays, with its warnings. */
    const unchanged = (summary: string): ChangeResult => ({
      changed: false,
      version: previous ?? '',
      previous,
      summary,
      warnings: before?.warnings ?? [],
    });
    if (!loaded.ok) {
      if (onlyIfChanged && this.registry.lastError && sameJson(this.registry.lastError.errors, loaded.errors))
        return unchanged('still refused');
      this.refuse(by, previous, loaded.errors);
    }
    // the folder is valid again: a refusal no longer describes it, even when its content is back to what it was
    this.registry.lastError = null;
    if (onlyIfChanged && loaded.source.hash === this.folderHash) return unchanged('no change in the folder');
    this.folderHash = loaded.source.hash;
    logWarnings(this.log, loaded.warnings, { requestId: by.requestId });
    if (before && loaded.source.hash === before.hash)
      return { changed: false, version: before.version, previous, summary: 'no change', warnings: loaded.warnings };
    let ruleset: RuleSet;
    try {
      // compiled in full before the one assignment that serves it, a step at a time
      ruleset = await compileRuleSetInSteps(loaded.source, { bytes: loaded.bytes, warnings: loaded.warnings });
    } catch (err) {
      this.refuse(by, previous, [
        {
          file: '.',
          path: '/',
          line: 1,
          column: 1,
          message: `cannot be compiled: ${(err as Error).message}`,
          severity: 'error',
        },
      ]);
    }
    const summary = summarize(before?.source, loaded.source);
    this.registry.activate(ruleset);
    this.show(ruleset.version);
    this.audit({
      ...by,
      action: 'reload',
      result: 'activated',
      version: ruleset.version,
      previous,
      hash: ruleset.hash,
      summary,
    });
    return { changed: true, version: ruleset.version, previous, summary, warnings: ruleset.warnings };
  }

  /** Serves a version loaded before (a rollback, or forward again). */
  activate(version: string, who: string, requestId?: string): Promise<ChangeResult> {
    return this.queue(() => {
      const target = this.registry.get(version);
      if (!target)
        throw new ApiError('not_found', `no loaded rule-set version "${version}"; GET /v1/rulesets lists them`);
      const before = this.registry.active;
      const previous = before?.version ?? null;
      if (before?.version === version)
        return { changed: false, version, previous, summary: 'already active', warnings: target.warnings };
      const summary = summarize(before?.source, target.source);
      this.registry.activate(target);
      this.show(version);
      this.audit({
        who,
        requestId,
        action: 'activate',
        result: 'rolled_back',
        version,
        previous,
        hash: target.hash,
        summary,
      });
      return { changed: true, version, previous, summary, warnings: target.warnings };
    });
  }

  /** Names, sizes and times of the rule files (not editors' dot-files): cheap to read every few seconds. */
  private async signature(): Promise<string> {
    const parts: string[] = [];
    const add = async (path: string) => {
      const s = await stat(path).catch(() => undefined);
      parts.push(`${path}:${s ? `${s.size}:${s.mtimeMs}` : '-'}`);
    };
    for (const name of [RULE_FILES.manifest, RULE_FILES.arbitration, RULE_FILES.contactPolicy])
      await add(join(this.dir, name));
    for (const folder of [RULE_FILES.offers, RULE_FILES.journeys]) {
      const names = await readdir(join(this.dir, folder)).catch(() => [] as string[]);
      for (const name of names.filter(isRuleFileName).sort()) await add(join(this.dir, folder, name));
    }
    return parts.join('\n');
  }

  /**
   * Reloads 300 ms after the last change, and no later than 2 s after the first; while a reload
   * runs, edits wait for it and then make one reload together, never a second one alongside.
   */
  private changed(): void {
    const now = Date.now();
    if (!this.debounce) this.firstEventAt = now;
    else clearTimeout(this.debounce);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, this.firstEventAt + MAX_WAIT_MS - now));
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (this.watchQueued) return;
      this.watchQueued = true;
      this.queue(() => {
        // from here on an edit needs a read of its own: this one may have missed it
        this.watchQueued = false;
        return this.reloadNow({ who: 'file watch' }, true);
      }).catch(() => {
        // refused: audited, and lastError says why; the next edit tries again
      });
    }, wait);
    this.debounce.unref();
  }

  /**
   * Picks up edits by themselves: events on the folder and on offers/ (children by name, so an
   * in-place write after a rename-save is seen too), debounced; a poll as a safety net; and one
   * look right away, for an edit made while the service was starting.
   */
  async watch(): Promise<void> {
    this.seen = await this.signature();
    const top = new Set<string>([
      RULE_FILES.manifest,
      RULE_FILES.arbitration,
      RULE_FILES.contactPolicy,
      RULE_FILES.offers,
      RULE_FILES.journeys,
    ]);
    const on = (path: string, relevant: (name: string) => boolean) => {
      try {
        const w = watch(path, { persistent: false }, (_event, name) => {
          if (name === null || relevant(String(name))) this.changed();
        });
        w.on('error', (err) =>
          this.log.warn({ err: err.message }, 'watching the rules folder failed; polling goes on'),
        );
        this.watchers.push(w);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, path }, 'cannot watch the rules folder; polling it');
      }
    };
    on(this.dir, (name) => top.has(name));
    on(join(this.dir, RULE_FILES.offers), isRuleFileName);
    // optional: a journeys/ folder made later is seen by the watch on the folder and by the poll
    if (await stat(join(this.dir, RULE_FILES.journeys)).catch(() => undefined))
      on(join(this.dir, RULE_FILES.journeys), isRuleFileName);
    this.poller = setInterval(() => {
      void this.signature().then((now) => {
        if (now !== this.seen) this.changed();
      });
    }, POLL_MS);
    this.poller.unref();
    await this.reload('file watch', { onlyIfChanged: true }).catch(() => undefined);
  }

  close(): void {
    for (const w of this.watchers) w.close();
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
