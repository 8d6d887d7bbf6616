import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../ops/threads.js';
import type { RuleLimits, RuleSetSource } from './load.js';
import type { RuleIssue } from './positions.js';
import type { Offer } from './schema.js';

/** What a reload may spend off the serving thread. */
export interface ReloadBudget {
  /** reading, parsing, validating and compiling together (RULES_RELOAD_TIMEOUT_MS) */
  readonly timeoutMs: number;
  /** the loading thread's heap (RULES_RELOAD_HEAP_MB) */
  readonly heapMb: number;
}

export const DEFAULT_RELOAD_BUDGET: ReloadBudget = { timeoutMs: 10_000, heapMb: 512 };

/** A rule set read and checked in a thread: its source, with its size, or every error. */
export type ThreadLoadResult =
  | {
      readonly ok: true;
      readonly source: RuleSetSource;
      readonly warnings: readonly RuleIssue[];
      readonly bytes: number;
    }
  | { readonly ok: false; readonly errors: readonly RuleIssue[]; readonly warnings: readonly RuleIssue[] };

export type FromLoader =
  | { readonly t: 'offers'; readonly offers: readonly Offer[] }
  | {
      readonly t: 'done';
      readonly ok: true;
      readonly source: Omit<RuleSetSource, 'offers'>;
      readonly warnings: readonly RuleIssue[];
      readonly bytes: number;
    }
  | {
      readonly t: 'done';
      readonly ok: false;
      readonly errors: readonly RuleIssue[];
      readonly warnings: readonly RuleIssue[];
    };

const LOADER = compiledWorker('rules/load-worker.js');

const refused = (message: string): ThreadLoadResult => ({
  ok: false,
  errors: [{ file: '.', path: '/', line: 1, column: 1, message, severity: 'error' }],
  warnings: [],
});

/**
 * Reads, parses, validates and compiles a rule-set folder in a worker thread, so the thread
 * that answers decisions only takes in the finished source, a few hundred offers at a time,
 * asking for each when it has answered what waited.
 * Past the budget's time or memory the thread is stopped and the set refused, saying which.
 */
export function loadRuleSetInThread(
  dir: string,
  limits: RuleLimits,
  budget: ReloadBudget = DEFAULT_RELOAD_BUDGET,
): Promise<ThreadLoadResult> {
  return new Promise((resolve) => {
    const offers: Offer[] = [];
    let settled = false;
    const worker = new Worker(LOADER, {
      workerData: { dir, limits },
      resourceLimits: { maxOldGenerationSizeMb: budget.heapMb },
    });
    const finish = (result: ThreadLoadResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        finish(
          refused(
            `reading and checking the rule set took longer than ${budget.timeoutMs / 1000} s and was stopped (RULES_RELOAD_TIMEOUT_MS)`,
          ),
        ),
      budget.timeoutMs,
    );
    worker.on('message', (m: FromLoader) => {
      if (m.t === 'offers') {
        for (const offer of m.offers) offers.push(offer);
        // the next message once decisions waiting behind this one are answered
        setImmediate(() => settled || worker.postMessage('next'));
      } else if (m.ok) finish({ ok: true, source: { ...m.source, offers }, warnings: m.warnings, bytes: m.bytes });
      else finish({ ok: false, errors: m.errors, warnings: m.warnings });
    });
    worker.once('error', (err: Error & { code?: string }) =>
      finish(
        refused(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `reading and checking the rule set needed more than ${budget.heapMb} MB and was stopped (RULES_RELOAD_HEAP_MB)`
            : `cannot be read: ${err.message}`,
        ),
      ),
    );
    worker.once('exit', (code) => finish(refused(`the thread reading the rule set stopped (code ${code})`)));
  });
}
