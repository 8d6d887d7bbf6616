import type { Decision } from './types.js';

/** Where every decision is recorded for analytics and audits: who got what, when, from which rules. */
export interface DecisionLog {
  /** Called on the hot path: must not wait on anything. */
  append(decision: Decision, at: number): void;
  /** Writes out what is pending (at shutdown). */
  close(): Promise<void>;
}

/** The embedded default keeps no log. */
export const noDecisionLog: DecisionLog = {
  append() {},
  async close() {},
};
