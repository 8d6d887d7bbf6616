import type { RuleSetRegistry } from '../rules/registry.js';
import type { RuleSet } from '../rules/ruleset.js';
import { type Arm, assignArm } from './assign.js';

/** A customer's arm under a rule set's control group and a challenger split, drawn afresh. */
export function armOf(customerId: string, champion: RuleSet | undefined, challenger?: Challenger): Arm {
  const control = champion?.manifest.controlGroup;
  return assignArm(customerId, {
    controlShare: control?.share ?? 0,
    controlExperiment: `control:${control?.experiment ?? 'control'}`,
    challengerShare: challenger?.share ?? 0,
    challengerExperiment: `challenger:${challenger?.ruleset.manifest.version ?? ''}`,
  });
}

/** A rule set on trial: a share of the non-control customers is decided by it. */
export interface Challenger {
  readonly ruleset: RuleSet;
  readonly share: number;
}

/** Customers whose arm is remembered; the memory starts over past this (a clear is cheaper than an LRU's upkeep). */
const ARM_CACHE_MAX = 200_000;

/**
 * Each customer's sticky arm under the active rule set's control group and the challenger
 * split: what decisions are made under, and what their outcomes are tallied under.
 */
export class Arms {
  /** Arms already drawn, for the splits they were drawn under (a hash per decision is most of an arm's cost). */
  private arms = new Map<string, Arm>();
  private armsFor: RuleSet | undefined;

  constructor(
    private readonly rules: RuleSetRegistry,
    readonly challenger?: Challenger | undefined,
  ) {}

  of(customerId: string, champion = this.rules.active): Arm {
    if (champion !== this.armsFor || this.arms.size >= ARM_CACHE_MAX) {
      this.arms = new Map();
      this.armsFor = champion;
    }
    let arm = this.arms.get(customerId);
    if (arm !== undefined) return arm;
    arm = armOf(customerId, champion, this.challenger);
    this.arms.set(customerId, arm);
    return arm;
  }
}
