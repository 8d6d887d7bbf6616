import type { Condition, FactName, LeafCondition, OperatorName, TopCondition } from './schema.js';

/** Plain facts of one decision: profile fields, derived values and the request. */
export type Facts = Readonly<Partial<Record<FactName, unknown>>>;
export type Predicate = (facts: Facts) => boolean;

/**
 * Operators with json-rules-engine's exact semantics (engine-default-operators.js):
 * a fact that fails the operator's type check makes the condition false.
 */
// parseFloat(v).toString() !== 'NaN' in json-rules-engine, without the string (and, for numbers, the parse)
const isNumeric = (v: unknown): boolean =>
  typeof v === 'number' ? !Number.isNaN(v) : !Number.isNaN(Number.parseFloat(v as string));
// biome-ignore lint/suspicious/noExplicitAny: the operators compare whatever JSON holds, as json-rules-engine's do
type Op = (fact: any, value: any) => boolean;
const OPERATOR_FNS: Readonly<Record<OperatorName, Op>> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  in: (a, b) => b.indexOf(a) > -1,
  notIn: (a, b) => b.indexOf(a) === -1,
  contains: (a, b) => Array.isArray(a) && a.indexOf(b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
  lessThan: (a, b) => isNumeric(a) && a < b,
  lessThanInclusive: (a, b) => isNumeric(a) && a <= b,
  greaterThan: (a, b) => isNumeric(a) && a > b,
  greaterThanInclusive: (a, b) => isNumeric(a) && a >= b,
};

export function evaluateOperator(operator: OperatorName, factValue: unknown, value: unknown): boolean {
  return OPERATOR_FNS[operator](factValue, value);
}

/**
 * Resolves "$.a.b" the way json-rules-engine's JSONPath resolver does for plain dotted paths:
 * a non-object fact is returned as it is, a missing own property gives undefined.
 */
export function pathResolver(path: string | undefined): (value: unknown) => unknown {
  if (path === undefined) return (value) => value;
  const parts = path.split('.').slice(1);
  if (parts.length === 1) {
    const key = parts[0]!;
    return (value) =>
      value === null || typeof value !== 'object'
        ? value
        : Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined;
  }
  return (value) => {
    if (value === null || typeof value !== 'object') return value;
    let current: unknown = value;
    for (const part of parts) {
      // JSONPath-plus stops at any falsy value (an empty string has no .length for it)
      if (!current || !Object.hasOwn(Object(current), part)) return undefined;
      current = (current as Record<string, unknown>)[part];
    }
    return current;
  };
}

/** A leaf reading a fact without a path: the common case, specialised per operator. */
// biome-ignore lint/suspicious/noExplicitAny: a condition's value, compared as json-rules-engine compares it
function compileDirectLeaf(fact: FactName, operator: OperatorName, value: any): Predicate | undefined {
  switch (operator) {
    case 'equal':
      return (f) => f[fact] === value;
    case 'notEqual':
      return (f) => f[fact] !== value;
    case 'in':
      return (f) => value.indexOf(f[fact]) > -1;
    case 'notIn':
      return (f) => value.indexOf(f[fact]) === -1;
    case 'contains':
      return (f) => {
        const a = f[fact];
        return Array.isArray(a) && a.indexOf(value) > -1;
      };
    case 'doesNotContain':
      return (f) => {
        const a = f[fact];
        return Array.isArray(a) && a.indexOf(value) === -1;
      };
    default:
      return undefined;
  }
}

function compileLeaf(leaf: LeafCondition): Predicate {
  const { fact, value } = leaf;
  if (leaf.path === undefined) {
    const direct = compileDirectLeaf(fact, leaf.operator, value);
    if (direct) return direct;
    const op = OPERATOR_FNS[leaf.operator];
    return (facts) => op(facts[fact], value);
  }
  const op = OPERATOR_FNS[leaf.operator];
  const resolve = pathResolver(leaf.path);
  return (facts) => op(resolve(facts[fact]), value);
}

/** json-rules-engine treats an empty all/any as true. */
export function compileCondition(condition: Condition | TopCondition): Predicate {
  if ('all' in condition) {
    const parts = condition.all.map(compileCondition);
    if (parts.length === 1) return parts[0]!;
    return (facts) => {
      for (let i = 0; i < parts.length; i++) if (!parts[i]!(facts)) return false;
      return true;
    };
  }
  if ('any' in condition) {
    const parts = condition.any.map(compileCondition);
    if (parts.length === 0) return () => true;
    if (parts.length === 1) return parts[0]!;
    return (facts) => {
      for (let i = 0; i < parts.length; i++) if (parts[i]!(facts)) return true;
      return false;
    };
  }
  if ('not' in condition) {
    const inner = compileCondition(condition.not);
    return (facts) => !inner(facts);
  }
  return compileLeaf(condition);
}
