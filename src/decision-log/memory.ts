import type { DecisionFiles, FileLogStatus } from './file.js';
import { RecentDecisions } from './recent.js';
import {
  answerable,
  type DecisionEntry,
  type DecisionLog,
  type DecisionRecord,
  type IssuedDecision,
  recalled,
} from './store.js';

/** Decisions remembered for the responses that name them: the last twice this many, within the window. */
export const MEMORY_DECISIONS = 100_000;

/**
 * The embedded default: the recent decisions of this process, for the responses that name
 * them, and (when given) the NDJSON files every decision is appended to, where a decision is
 * found by id for as long as they are kept.
 */
export class MemoryDecisionLog implements DecisionLog {
  private readonly recent = new RecentDecisions(MEMORY_DECISIONS);

  /** `windowMs`: how long after a decision responses may name it */
  constructor(
    private readonly windowMs: number,
    private readonly files?: DecisionFiles,
  ) {}

  append(entry: DecisionEntry): void {
    this.recent.remember(entry);
    this.files?.append(entry);
  }

  status(): FileLogStatus | undefined {
    return this.files?.status();
  }

  async find(customerId: string, decisionIds: readonly string[]): Promise<ReadonlyMap<string, IssuedDecision>> {
    const found = new Map<string, IssuedDecision>();
    const now = Date.now();
    const since = now - this.windowMs;
    for (const id of decisionIds) {
      const r = this.recent.get(id);
      if (r && r.customerId === customerId && answerable(r, since, now)) found.set(id, recalled(id, r));
    }
    return found;
  }

  async get(decisionId: string): Promise<DecisionRecord | undefined> {
    const line = await this.files?.find(decisionId);
    return line === undefined ? undefined : (JSON.parse(line) as DecisionRecord);
  }

  async close(): Promise<void> {
    await this.files?.close();
  }
}
