import { LIFECYCLE_PHASES, type LifecyclePhase, VALUE_SEGMENTS, type ValueSegment } from '../profiles/schema.js';
import type { Condition, TopCondition } from './schema.js';

/** The profile fields offers are indexed by. */
export type IndexedFact = 'lifecyclePhase' | 'valueSegment';

/**
 * The values of a profile field (lifecycle phase or value segment) a condition can be true
 * with, read from its tests of that field: sound by construction (true ⇒ value in the set),
 * undefined when it cannot tell. Lets the hot path evaluate only the offers a customer's
 * phase and segment can reach.
 */
export function reachableValues(
  condition: Condition | TopCondition,
  fact: IndexedFact,
): ReadonlySet<string> | undefined {
  if ('all' in condition) {
    let phases: Set<string> | undefined;
    for (const c of condition.all) {
      const inner = reachableValues(c, fact);
      if (inner) phases = phases ? new Set([...phases].filter((p) => inner.has(p))) : new Set(inner);
    }
    return phases;
  }
  if ('any' in condition) {
    const union = new Set<string>();
    for (const c of condition.any) {
      const inner = reachableValues(c, fact);
      if (!inner) return undefined;
      for (const p of inner) union.add(p);
    }
    return condition.any.length > 0 ? union : undefined;
  }
  if ('not' in condition || condition.fact !== fact || condition.path !== undefined) return undefined;
  if (condition.operator === 'equal' && typeof condition.value === 'string') return new Set([condition.value]);
  if (condition.operator === 'in' && Array.isArray(condition.value))
    return new Set(condition.value.filter((v): v is string => typeof v === 'string'));
  return undefined;
}

export const reachablePhases = (condition: Condition | TopCondition) => reachableValues(condition, 'lifecyclePhase');
export const reachableSegments = (condition: Condition | TopCondition) => reachableValues(condition, 'valueSegment');

/** For each phase and segment, the offers (in their order) whose eligibility can hold for both. */
export function indexByCell<T>(
  offers: readonly T[],
  phasesOf: (offer: T) => ReadonlySet<string> | undefined,
  segmentsOf: (offer: T) => ReadonlySet<string> | undefined,
): ReadonlyMap<LifecyclePhase, ReadonlyMap<ValueSegment, readonly T[]>> {
  const byPhase = indexByPhase(offers, phasesOf);
  return new Map(
    LIFECYCLE_PHASES.map((p) => [
      p,
      new Map(VALUE_SEGMENTS.map((s) => [s, byPhase.get(p)!.filter((o) => segmentsOf(o)?.has(s) ?? true)])),
    ]),
  );
}

/** For each phase, the offers (in their order) whose eligibility can hold in it. */
export function indexByPhase<T>(
  offers: readonly T[],
  phasesOf: (offer: T) => ReadonlySet<string> | undefined,
): ReadonlyMap<LifecyclePhase, readonly T[]> {
  const index = new Map<LifecyclePhase, T[]>(LIFECYCLE_PHASES.map((p) => [p, []]));
  for (const offer of offers) {
    const phases = phasesOf(offer);
    for (const p of LIFECYCLE_PHASES) if (!phases || phases.has(p)) index.get(p)!.push(offer);
  }
  return index;
}
