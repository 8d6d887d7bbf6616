import { LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../profiles/schema.js';
import type { RuleIssue, SourceFile } from './positions.js';
import type { Condition, TopCondition } from './schema.js';
import { oneOf, suggestion } from './suggest.js';

export interface Known {
  readonly values: readonly (string | boolean)[];
  /** what a value is, in words: "a value segment" */
  readonly what: string;
}

/** Facts whose every value is known: a condition comparing one with anything else can only be a slip. */
export const knownValues = (channels: readonly string[]): Readonly<Record<string, Known>> => ({
  lifecyclePhase: { values: LIFECYCLE_PHASES, what: 'a lifecycle phase' },
  valueSegment: { values: VALUE_SEGMENTS, what: 'a value segment' },
  channel: { values: channels, what: 'a channel of this rule set' },
  channelConsent: { values: [true, false], what: 'true or false' },
});

/** Each value a condition compares a fact of known values with that is none of them, as an error at the value. */
export function unknownValues(
  condition: Condition | TopCondition,
  at: readonly (string | number)[],
  known: Readonly<Record<string, Known>>,
  src: SourceFile,
  errors: RuleIssue[],
): void {
  if ('all' in condition || 'any' in condition) {
    const group = 'all' in condition ? 'all' : 'any';
    const items: readonly Condition[] = 'all' in condition ? condition.all : condition.any;
    for (const [i, c] of items.entries()) unknownValues(c, [...at, group, i], known, src, errors);
  } else if ('not' in condition) unknownValues(condition.not, [...at, 'not'], known, src, errors);
  else {
    const fact = Object.hasOwn(known, condition.fact) ? known[condition.fact] : undefined;
    if (!fact || condition.path !== undefined) return;
    if (!['equal', 'notEqual', 'in', 'notIn'].includes(condition.operator)) return;
    const values = Array.isArray(condition.value)
      ? condition.value.map((v, i) => [v, [...at, 'value', i]] as const)
      : [[condition.value, [...at, 'value']] as const];
    const names = fact.values.filter((v): v is string => typeof v === 'string');
    for (const [value, path] of values) {
      if (fact.values.includes(value as string | boolean)) continue;
      const near = typeof value === 'string' ? suggestion(value, names) : '';
      errors.push(
        src.issue(
          path,
          `${JSON.stringify(value)} is not ${fact.what}: ${condition.fact} is ${oneOf(fact.values)}${near}`,
        ),
      );
    }
  }
}
