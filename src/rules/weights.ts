import type { LifecyclePhase, ValueSegment } from '../profiles/schema.js';
import type { Arbitration, WeightEntry } from './schema.js';

/** What a weight entry may look at: the request and, when known, the customer's segment and phase. */
export interface WeightSubject {
  readonly channel: string;
  readonly placement: string;
  readonly context: Readonly<Record<string, string | number | boolean>>;
  readonly valueSegment?: ValueSegment;
  readonly lifecyclePhase?: LifecyclePhase;
}

export interface CompiledWeight {
  readonly name: string;
  readonly matches: (s: WeightSubject) => boolean;
  readonly groups: ReadonlyMap<string, number>;
  readonly offers: ReadonlyMap<string, number>;
}

export interface CompiledArbitration {
  readonly contextWeights: readonly CompiledWeight[];
  readonly levers: readonly CompiledWeight[];
}

type Scalar = string | number | boolean;
const oneOf = (expected: Scalar | readonly Scalar[]): ((v: Scalar | undefined) => boolean) => {
  const list: readonly Scalar[] = Array.isArray(expected) ? expected : [expected];
  return (v) => v !== undefined && list.includes(v);
};

function compileEntry(entry: WeightEntry): CompiledWeight {
  const when = (entry.when ?? {}) as Record<string, unknown>;
  const tests: ((s: WeightSubject) => boolean)[] = [];
  for (const key of ['channel', 'placement', 'valueSegment', 'lifecyclePhase'] as const) {
    if (when[key] === undefined) continue;
    const test = oneOf(when[key] as Scalar | Scalar[]);
    tests.push((s) => test(s[key]));
  }
  const context = (when.context ?? {}) as Record<string, Scalar | Scalar[]>;
  for (const [key, expected] of Object.entries(context)) {
    const test = oneOf(expected);
    tests.push((s) => Object.hasOwn(s.context, key) && test(s.context[key]));
  }
  return {
    name: entry.name,
    matches: (s) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i]!(s)) return false;
      return true;
    },
    groups: new Map(Object.entries(entry.groups ?? {})),
    offers: new Map(Object.entries(entry.offers ?? {})),
  };
}

export function compileArbitration(arbitration: Arbitration): CompiledArbitration {
  return {
    contextWeights: arbitration.contextWeights.map(compileEntry),
    levers: arbitration.levers.map(compileEntry),
  };
}
