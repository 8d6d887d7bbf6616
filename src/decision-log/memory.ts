import type { DecisionFiles, FileLogStatus } from './file.js';
import { type DecisionEntry, type DecisionLog, type DecisionRecord, Generations, toRecord } from './store.js';

/** Decisions remembered for the responses that name them: at least this many (at most twice), within the window. */
export const MEMORY_DECISIONS = 250_000;

/**
 * The embedded default: the recent decisions of this process, for the responses that name
 * them, and (when given) the NDJSON files every decision is appended to.
 */
export class MemoryDecisionLog implements DecisionLog {
  private readonly recent = new Generations<DecisionEntry>(MEMORY_DECISIONS);

  /** `windowMs`: how long after a decision responses may name it */
  constructor(
    private readonly windowMs: number,
    private readonly files?: DecisionFiles,
  ) {}

  append(entry: DecisionEntry): void {
    this.recent.set(entry.decision.decisionId, entry);
    this.files?.append(entry);
  }

  status(): FileLogStatus | undefined {
    return this.files?.status();
  }

  async find(customerId: string, decisionIds: readonly string[]): Promise<ReadonlyMap<string, DecisionRecord>> {
    const found = new Map<string, DecisionRecord>();
    const since = Date.now() - this.windowMs;
    for (const id of decisionIds) {
      const e = this.recent.get(id);
      if (e && e.decision.customerId === customerId && e.at >= since) found.set(id, toRecord(e));
    }
    return found;
  }

  async close(): Promise<void> {
    await this.files?.close();
  }
}
