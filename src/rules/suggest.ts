import { distance } from 'fastest-levenshtein';

/**
 * The known name `given` was probably meant to be: the same but for case, or the nearest one
 * close enough to be a typo — one edit for a name of three letters or fewer, else up to a
 * third of its length (at least two). Undefined when none is that close.
 */
export function didYouMean(given: string, known: readonly string[]): string | undefined {
  const lower = given.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same !== undefined) return same;
  let best: { name: string; edits: number } | undefined;
  for (const name of known) {
    const edits = distance(lower, name.toLowerCase());
    if (best === undefined || edits < best.edits) best = { name, edits };
  }
  if (best === undefined) return undefined;
  const near = given.length <= 3 ? 1 : Math.max(2, Math.floor(best.name.length / 3));
  return best.edits <= near ? best.name : undefined;
}

/** `"a", "b" or "c"` */
export const oneOf = (values: readonly unknown[]): string => {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
};

/** `; did you mean "x"?` when a near name exists, else nothing. */
export const suggestion = (given: string, known: readonly string[]): string => {
  const near = didYouMean(given, known);
  return near === undefined ? '' : `; did you mean "${near}"?`;
};
