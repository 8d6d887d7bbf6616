import type { z } from 'zod';
import { suggestion } from './suggest.js';

type Issue = z.core.$ZodIssue;

/** An issue that says the value has another shape altogether: the branch was not what was meant. */
const offShape = (i: Issue) =>
  i.code === 'unrecognized_keys' || (i.code === 'invalid_type' && /received undefined/.test(i.message));

/** "did you mean …" for a misspelt name among the allowed ones. */
function suggestionFor(issue: Issue, input: unknown): string {
  if (issue.code !== 'invalid_value' || typeof input !== 'string') return issue.message;
  const options = issue.values.filter((v): v is string => typeof v === 'string');
  return `"${input}" is not one of ${options.map((o) => `"${o}"`).join(', ')}${suggestion(input, options)}`;
}

/** The keys that tell which kind of condition an object means to be. */
const CONDITION_KEYS = ['fact', 'operator', 'all', 'any', 'not'];
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const at = (data: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (v, k) =>
      v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<PropertyKey, unknown>)[k] : undefined,
    data,
  );

/**
 * zod's issues, made precise for a marketer: a union (a condition can be a leaf, all, any or
 * not) that failed is replaced by the issues of the branch the value was meant to be — the one
 * whose shape it matches best — recursively, with full paths; a misspelt name gets a suggestion.
 */
export function preciseIssues(
  issues: readonly Issue[],
  data: unknown,
  prefix: readonly PropertyKey[] = [],
): { path: PropertyKey[]; issue: Issue; message: string }[] {
  const out: { path: PropertyKey[]; issue: Issue; message: string }[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const value = at(data, path);
    if (
      issue.code === 'invalid_union' &&
      isPlainObject(value) &&
      !CONDITION_KEYS.some((k) => Object.hasOwn(value, k))
    ) {
      // none of the shapes is even begun: say what a condition is, not what one branch missed
      const keys = Object.keys(value);
      out.push({
        path,
        issue,
        message: `a condition needs "fact", "operator" and "value" (a test) or "all", "any" or "not" (a group)${keys.length ? `; found ${keys.map((k) => `"${k}"`).join(', ')}` : ''}`,
      });
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = [...issue.errors].sort(
        (a, b) => a.filter(offShape).length - b.filter(offShape).length || a.length - b.length,
      )[0]!;
      out.push(...preciseIssues(best, data, path));
      continue;
    }
    out.push({ path, issue, message: suggestionFor(issue, at(data, path)) });
  }
  return out;
}
