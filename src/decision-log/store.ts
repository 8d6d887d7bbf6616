/** A decision as the log records it: what the decision path hands over, read and never changed. */
export interface LoggedDecision {
  readonly decisionId: string;
  readonly customerId: string;
  readonly channel: string;
  readonly placement: string | null;
  readonly rulesetVersion: string;
  readonly profile: {
    readonly found: boolean;
    readonly valueSegment: string | null;
    readonly lifecyclePhase: string | null;
  };
  readonly offers: readonly {
    readonly rank: number;
    readonly offerId: string;
    readonly group: string;
    readonly score: number;
    readonly propensity: number;
  }[];
  readonly controlGroup: boolean;
  readonly arm: string;
  readonly degraded: boolean;
}

/** Where every decision is recorded for analytics and audits: who got what, when, from which rules. */
export interface DecisionLog {
  /** Called on the hot path: must not wait on anything. */
  append(decision: LoggedDecision, at: number): void;
  /** Writes out what is pending (at shutdown). */
  close(): Promise<void>;
}

/** The embedded default keeps no log. */
export const noDecisionLog: DecisionLog = {
  append() {},
  async close() {},
};
