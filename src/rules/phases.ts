import { LIFECYCLE_PHASES, type LifecyclePhase } from '../profiles/schema.js';
import type { Condition, TopCondition } from './schema.js';

/**
 * The lifecycle phases a condition can be true in, read from its lifecyclePhase tests:
 * sound by construction (true ⇒ phase in the set), undefined when it cannot tell.
 * Lets the hot path evaluate only the offers a customer's phase can reach.
 */
export function reachablePhases(condition: Condition | TopCondition): ReadonlySet<string> | undefined {
  if ('all' in condition) {
    let phases: Set<string> | undefined;
    for (const c of condition.all) {
      const inner = reachablePhases(c);
      if (inner) phases = phases ? new Set([...phases].filter((p) => inner.has(p))) : new Set(inner);
    }
    return phases;
  }
  if ('any' in condition) {
    const union = new Set<string>();
    for (const c of condition.any) {
      const inner = reachablePhases(c);
      if (!inner) return undefined;
      for (const p of inner) union.add(p);
    }
    return condition.any.length > 0 ? union : undefined;
  }
  if ('not' in condition || condition.fact !== 'lifecyclePhase' || condition.path !== undefined) return undefined;
  if (condition.operator === 'equal' && typeof condition.value === 'string') return new Set([condition.value]);
  if (condition.operator === 'in' && Array.isArray(condition.value)) return new Set(condition.value.filter((v): v is string => typeof v === 'string'));
  return undefined;
}

/** For each phase, the offers (in their order) whose eligibility can hold in it. */
export function indexByPhase<T>(offers: readonly T[], phasesOf: (offer: T) => ReadonlySet<string> | undefined): ReadonlyMap<LifecyclePhase, readonly T[]> {
  const index = new Map<LifecyclePhase, T[]>(LIFECYCLE_PHASES.map((p) => [p, []]));
  for (const offer of offers) {
    const phases = phasesOf(offer);
    for (const p of LIFECYCLE_PHASES) if (!phases || phases.has(p)) index.get(p)!.push(offer);
  }
  return index;
}
