import type { DecisionFiles, FileLogStatus } from './file.js';
import {
  type DecisionEntry,
  type DecisionLog,
  type DecisionRecord,
  Generations,
  type LoggedLine,
  loggedLine,
} from './store.js';

/** Decisions remembered for the responses that name them: at least this many (at most twice), within the window. */
export const MEMORY_DECISIONS = 250_000;

/**
 * The embedded default: the recent decisions of this process, for the responses that name
 * them, and (when given) the NDJSON files every decision is appended to.
 */
export class MemoryDecisionLog implements DecisionLog {
  private readonly recent = new Generations<LoggedLine>(MEMORY_DECISIONS);

  /** `windowMs`: how long after a decision responses may name it */
  constructor(
    private readonly windowMs: number,
    private readonly files?: DecisionFiles,
  ) {}

  append(entry: DecisionEntry): void {
    const logged = loggedLine(entry);
    this.recent.set(logged.decisionId, logged);
    this.files?.append(logged);
  }

  status(): FileLogStatus | undefined {
    return this.files?.status();
  }

  async find(customerId: string, decisionIds: readonly string[]): Promise<ReadonlyMap<string, DecisionRecord>> {
    const found = new Map<string, DecisionRecord>();
    const since = Date.now() - this.windowMs;
    for (const id of decisionIds) {
      const l = this.recent.get(id);
      if (l && l.customerId === customerId && l.at >= since) found.set(id, JSON.parse(l.line) as DecisionRecord);
    }
    return found;
  }

  async get(decisionId: string): Promise<DecisionRecord | undefined> {
    const line = this.recent.get(decisionId)?.line ?? (await this.files?.find(decisionId));
    return line === undefined ? undefined : (JSON.parse(line) as DecisionRecord);
  }

  async close(): Promise<void> {
    await this.files?.close();
  }
}
