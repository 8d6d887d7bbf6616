import { Engine } from 'json-rules-engine';
import { type Facts, pathResolver } from './compile.js';
import type { TopCondition } from './schema.js';

export interface ConditionTrace {
  readonly fact?: string;
  readonly path?: string;
  readonly operator?: string;
  readonly value?: unknown;
  readonly factValue?: unknown;
  readonly result?: boolean;
  readonly all?: readonly ConditionTrace[];
  readonly any?: readonly ConditionTrace[];
  readonly not?: ConditionTrace;
}

export interface ReferenceResult {
  readonly eligible: boolean;
  readonly conditions: ConditionTrace;
}

interface EngineCondition {
  fact?: string;
  path?: string;
  operator?: string;
  value?: unknown;
  factResult?: unknown;
  result?: boolean;
  all?: EngineCondition[];
  any?: EngineCondition[];
  not?: EngineCondition;
}

function trace(c: EngineCondition): ConditionTrace {
  if (c.all) return { all: c.all.map(trace) };
  if (c.any) return { any: c.any.map(trace) };
  if (c.not) return { not: trace(c.not) };
  const out: { -readonly [K in keyof ConditionTrace]: ConditionTrace[K] } = {
    fact: c.fact,
    operator: c.operator,
    value: c.value,
  };
  if (c.path !== undefined) out.path = c.path;
  // json-rules-engine stops at the first deciding condition: the rest were never evaluated
  if (c.result !== undefined) {
    out.factValue = c.factResult ?? null;
    out.result = c.result;
  }
  return out;
}

/**
 * Evaluates eligibility with json-rules-engine itself: the reference semantics, used for
 * `explain` and as the oracle the compiled predicates are tested against. A fresh engine
 * per call, because a running engine's state is shared between concurrent runs.
 */
export async function evaluateReference(
  conditions: TopCondition,
  facts: Facts,
  paths: 'service' | 'jsonpath' = 'service',
): Promise<ReferenceResult> {
  // The service resolves a condition's `path` with its own plain dotted-path reader, never a
  // JSONPath engine on marketer input; the tests run the library's JSONPath as the oracle
  // that reader is held to.
  const engine = new Engine([], {
    allowUndefinedFacts: true,
    allowUndefinedConditions: false,
    ...(paths === 'service' ? { pathResolver: (value: unknown, path: string) => pathResolver(path)(value) } : {}),
  });
  engine.addRule({ conditions: structuredClone(conditions) as never, event: { type: 'eligible' } });
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(facts)) if (value !== undefined) plain[key] = value;
  const { results, failureResults } = await engine.run(plain);
  const ruleResult = results[0] ?? failureResults[0];
  const json = ruleResult!.toJSON(false) as unknown as { conditions: EngineCondition };
  return { eligible: results.length > 0, conditions: trace(json.conditions) };
}
