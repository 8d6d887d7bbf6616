import type { LifecyclePhase, Profile, ValueSegment } from '../profiles/schema.js';
import type { Treatment } from '../rules/schema.js';
import type { Arm } from './assign.js';

export type ContextValue = string | number | boolean;

/** A validated decision request. */
export interface DecisionRequest {
  readonly customerId: string;
  readonly channel: string;
  readonly placement?: string | undefined;
  readonly context?: Readonly<Record<string, ContextValue>> | undefined;
  readonly limit?: number | undefined;
  readonly explain?: boolean | undefined;
  /** a call, a page view, an email send: repeated requests of one interaction get one decision */
  readonly interactionId?: string | undefined;
}

export interface ScoreParts {
  /** the estimate (posterior mean) */
  readonly propensity: number;
  /** the propensity the score was built from: a posterior draw under Thompson sampling, else the estimate */
  readonly propensityDraw: number;
  readonly contextWeight: number;
  readonly value: number;
  readonly lever: number;
  readonly score: number;
}

/** Score parts as explain shows them: with the names of the weight entries applied. */
export interface ExplainedScoreParts extends ScoreParts {
  readonly contextWeightsApplied: readonly string[];
  readonly leversApplied: readonly string[];
}

export interface RankedOffer {
  readonly rank: number;
  readonly offerId: string;
  readonly name: string;
  readonly group: string;
  readonly score: number;
  readonly propensity: number;
  readonly treatment: Treatment;
}

export interface Decision {
  readonly decisionId: string;
  readonly customerId: string;
  readonly channel: string;
  readonly placement: string | null;
  readonly rulesetVersion: string;
  readonly profile: {
    readonly found: boolean;
    readonly valueSegment: ValueSegment | null;
    readonly lifecyclePhase: LifecyclePhase | null;
  };
  readonly offers: RankedOffer[];
  readonly controlGroup: boolean;
  /** control, champion (the active rule set) or challenger */
  readonly arm: Arm;
  readonly interactionId: string | null;
  readonly degraded: boolean;
}

/** What the decision saw: the profile when found, whether some input was unavailable. */
export interface DecisionInput {
  readonly request: DecisionRequest;
  readonly profile: Profile | undefined;
  readonly degraded: boolean;
}
