import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

/** An issue that says the value has another shape altogether: the branch was not what was meant. */
const offShape = (i: Issue) =>
  i.code === 'unrecognized_keys' || (i.code === 'invalid_type' && /received undefined/.test(i.message));

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = keep;
    }
  }
  return row[b.length]!;
}

/** "did you mean …" for a misspelt name among the allowed ones. */
function suggestion(issue: Issue, input: unknown): string {
  if (issue.code !== 'invalid_value' || typeof input !== 'string') return issue.message;
  const options = issue.values.filter((v): v is string => typeof v === 'string');
  const best = options
    .map((o) => [o, distance(input.toLowerCase(), o.toLowerCase())] as const)
    .sort((a, b) => a[1] - b[1])[0];
  const known = `"${input}" is not one of ${options.map((o) => `"${o}"`).join(', ')}`;
  // a short name is easily near another short one: suggest only what is one edit away then
  const near = input.length <= 3 ? 1 : Math.max(2, Math.floor((best?.[0].length ?? 0) / 3));
  return best && best[1] <= near ? `${known}; did you mean "${best[0]}"?` : known;
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
    out.push({ path, issue, message: suggestion(issue, at(data, path)) });
  }
  return out;
}
