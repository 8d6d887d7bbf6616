/**
 * What changed between two rule sets, field by field: `nextbest rules diff A B`.
 *
 * `diffRuleSets(a, b)` is pure; `nextbest rules diff --json` prints its result with each
 * side's `dir` added. The document:
 *
 *   { a: {dir, version, hash}, b: {dir, version, hash},
 *     identical,                    // same content hash: nothing at all differs
 *     differences,                  // how many items below (0 when only layout or $schema differ)
 *     manifest: Change[],           // the outbound block too: /outbound/channels/email/consent …
 *     offers: { added: [{id, name, group}], removed: [{id, name, group}],
 *               changed: [{id, name, group, changes: Change[]}] },
 *     journeys: { added: [{id, name}], removed: [{id, name}], changed: [{id, name, changes: Change[]}] },
 *     arbitration: { contextWeights: Named, levers: Named, learning: Change[] },
 *     contactPolicy: { settings: Change[], rules: Named, order: {old: [name], new: [name]} | null } }
 *
 *   Change = {path, op: "added" | "removed" | "changed", old?, new?}
 *     path is a JSON pointer inside the file (offer, manifest, policy) or the named entry;
 *     an array index is the position in B, or in A for a removed item.
 *   Named  = { added: [{name, entry}], removed: [{name, entry}], changed: [{name, changes: Change[]}] }
 *     entries are matched by `name`; a repeated name by its occurrence ("name (2)").
 *
 * Arrays of scalars (channels, `in` values, offer lists) change as a whole; arrays of objects
 * are aligned (longest common subsequence) so an inserted condition is one "added", not a shift.
 * A condition that changes kind (a leaf becomes `any`, `all` becomes `not`) is shown whole.
 * `$schema` is ignored: it only tells the editor where the schema is.
 */
import { pointerToken } from '../errors.js';
import type { RuleSetSource } from '../rules/load.js';
import { versionOf } from '../rules/ruleset.js';
import { field, isObject, type Json, sameJson } from '../rules/same-json.js';
import type { Condition, Journey, Offer, OfferGroup } from '../rules/schema.js';

export type ChangeOp = 'added' | 'removed' | 'changed';
export interface Change {
  readonly path: string;
  readonly op: ChangeOp;
  readonly old?: unknown;
  readonly new?: unknown;
}
export interface OfferSummary {
  readonly id: string;
  readonly name: string;
  readonly group: OfferGroup;
}
export interface JourneySummary {
  readonly id: string;
  readonly name: string;
}
export interface NamedChanges {
  readonly added: readonly { readonly name: string; readonly entry: unknown }[];
  readonly removed: readonly { readonly name: string; readonly entry: unknown }[];
  readonly changed: readonly { readonly name: string; readonly changes: readonly Change[] }[];
}
export interface RuleSetDiff {
  readonly a: { readonly version: string; readonly hash: string };
  readonly b: { readonly version: string; readonly hash: string };
  readonly identical: boolean;
  readonly differences: number;
  readonly manifest: readonly Change[];
  readonly offers: {
    readonly added: readonly OfferSummary[];
    readonly removed: readonly OfferSummary[];
    readonly changed: readonly (OfferSummary & { readonly changes: readonly Change[] })[];
  };
  readonly journeys: {
    readonly added: readonly JourneySummary[];
    readonly removed: readonly JourneySummary[];
    readonly changed: readonly (JourneySummary & { readonly changes: readonly Change[] })[];
  };
  readonly arbitration: {
    readonly contextWeights: NamedChanges;
    readonly levers: NamedChanges;
    readonly learning: readonly Change[];
  };
  readonly contactPolicy: {
    readonly settings: readonly Change[];
    readonly rules: NamedChanges;
    readonly order: { readonly old: readonly string[]; readonly new: readonly string[] } | null;
  };
}

type Items = readonly Json[];
const at = (path: string, key: string | number) => `${path}/${pointerToken(key)}`;

interface ArrayRules {
  /** whether a removed and an added item are the same thing edited (then diffed inside) */
  readonly pairs: (x: Json, y: Json) => boolean;
  readonly inside: (x: Json, y: Json, path: string, out: Change[]) => void;
}

/** Aligns two arrays on their equal items; between anchors, pairs edits of the same thing, the rest added/removed. */
function diffArray(a: Items, b: Items, path: string, out: Change[], rules: ArrayRules): void {
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..]
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = sameJson(a[i], b[j]) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const anchors: [number, number][] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (sameJson(a[i], b[j])) anchors.push([i++, j++]);
    else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) i++;
    else j++;
  }
  let i = 0;
  let j = 0;
  for (const [iEnd, jEnd] of [...anchors, [a.length, b.length] as const]) {
    while (i < iEnd || j < jEnd) {
      const k = i < iEnd && j < jEnd ? b.slice(j, jEnd).findIndex((y) => rules.pairs(a[i], y)) : -1;
      if (k === 0) {
        rules.inside(a[i], b[j], at(path, j), out);
        i++;
        j++;
      } else if (k > 0 || i >= iEnd) {
        out.push({ path: at(path, j), op: 'added', new: b[j] });
        j++;
      } else {
        out.push({ path: at(path, i), op: 'removed', old: a[i] });
        i++;
      }
    }
    i = iEnd + 1;
    j = jEnd + 1;
  }
}

const GENERIC: ArrayRules = {
  pairs: (x, y) => isObject(x) && isObject(y),
  inside: (x, y, p, out) => diffInto(x, y, p, out),
};

/** Field-by-field differences of two JSON values, appended to `out`. */
function diffInto(a: Json, b: Json, path: string, out: Change[]): void {
  if (sameJson(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of Object.keys(a)) {
      if (key === '$schema' || a[key] === undefined) continue;
      if (field(b, key) === undefined) out.push({ path: at(path, key), op: 'removed', old: a[key] });
      else diffInto(a[key], b[key], at(path, key), out);
    }
    for (const key of Object.keys(b)) {
      if (key !== '$schema' && b[key] !== undefined && field(a, key) === undefined)
        out.push({ path: at(path, key), op: 'added', new: b[key] });
    }
  } else if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].some((x) => typeof x === 'object' && x !== null)) {
    diffArray(a, b, path, out, GENERIC);
  } else {
    out.push({ path, op: 'changed', old: a, new: b });
  }
}

export function diffJson(a: Json, b: Json, path = ''): Change[] {
  const out: Change[] = [];
  diffInto(a, b, path, out);
  return out;
}

const conditionKind = (c: Json) =>
  isObject(c) ? (['all', 'any', 'not'].find((k) => Object.hasOwn(c, k)) ?? 'leaf') : 'leaf';
/** a leaf is "the same condition edited" when it tests the same fact at the same path */
const conditionKey = (c: Json) =>
  isObject(c) && conditionKind(c) === 'leaf' ? `${String(c.fact)}|${String(c.path ?? '')}` : conditionKind(c);

const CONDITIONS: ArrayRules = {
  pairs: (x, y) => conditionKey(x) === conditionKey(y),
  inside: (x, y, p, out) => diffCondition(x, y, p, out),
};

function diffCondition(a: Json, b: Json, path: string, out: Change[]): void {
  if (sameJson(a, b)) return;
  const kind = conditionKind(a);
  if (kind !== conditionKind(b) || !isObject(a) || !isObject(b)) out.push({ path, op: 'changed', old: a, new: b });
  else if (kind === 'leaf') diffInto(a, b, path, out);
  else if (kind === 'not') diffCondition(a.not, b.not, at(path, 'not'), out);
  else diffArray(a[kind] as Items, b[kind] as Items, at(path, kind), out, CONDITIONS);
}

/** Differences of two conditions: edits within all/any by position, or the whole tree when its kind changed. */
export function diffConditions(a: Condition, b: Condition, path = ''): Change[] {
  const out: Change[] = [];
  diffCondition(a, b, path, out);
  return out;
}

function diffOffer(a: Offer, b: Offer): Change[] {
  const out: Change[] = [];
  const { eligibility: ea, ...restA } = a;
  const { eligibility: eb, ...restB } = b;
  diffInto(restA, restB, '', out);
  diffCondition(ea, eb, '/eligibility', out);
  const order = Object.keys({ ...a, ...b });
  const top = (c: Change) => c.path.split('/')[1] ?? '';
  return out.sort((x, y) => order.indexOf(top(x)) - order.indexOf(top(y))); // stable: fields in file order
}

/** Steps are the same step edited when they keep their id. */
const STEPS: ArrayRules = {
  pairs: (x, y) => isObject(x) && isObject(y) && x.id === y.id,
  inside: (x, y, p, out) => diffInto(x, y, p, out),
};

function diffJourney(a: Journey, b: Journey): Change[] {
  const out: Change[] = [];
  const { entry: ea, steps: sa, ...restA } = a;
  const { entry: eb, steps: sb, ...restB } = b;
  diffInto(restA, restB, '', out);
  diffCondition(ea, eb, '/entry', out);
  if (!sameJson(sa, sb)) diffArray(sa, sb, '/steps', out, STEPS);
  const order = Object.keys({ ...a, ...b });
  const top = (c: Change) => c.path.split('/')[1] ?? '';
  return out.sort((x, y) => order.indexOf(top(x)) - order.indexOf(top(y))); // stable: fields in file order
}

/** Keys a list of named entries by name, a repeated name by its occurrence. */
function byName<T extends { name: string }>(list: readonly T[]): Map<string, T> {
  const seen = new Map<string, number>();
  return new Map(
    list.map((e) => {
      const n = (seen.get(e.name) ?? 0) + 1;
      seen.set(e.name, n);
      return [n === 1 ? e.name : `${e.name} (${n})`, e] as const;
    }),
  );
}

export function diffNamed<T extends { name: string }>(a: readonly T[], b: readonly T[]): NamedChanges {
  const ma = byName(a);
  const mb = byName(b);
  const strip = ({ name: _, ...rest }: T) => rest;
  return {
    added: [...mb].filter(([n]) => !ma.has(n)).map(([name, e]) => ({ name, entry: strip(e) })),
    removed: [...ma].filter(([n]) => !mb.has(n)).map(([name, e]) => ({ name, entry: strip(e) })),
    changed: [...mb]
      .filter(([n]) => ma.has(n))
      .map(([name, e]) => ({ name, changes: diffJson(strip(ma.get(name)!), strip(e)) }))
      .filter((c) => c.changes.length > 0),
  };
}

const summary = (o: Offer): OfferSummary => ({ id: o.id, name: o.name, group: o.group });
const journeySummary = (j: Journey): JourneySummary => ({ id: j.id, name: j.name });

/** Items of two lists by id: added, removed, and changed with their changes, each by id. */
function diffById<T extends { id: string }, S>(
  a: readonly T[],
  b: readonly T[],
  summarise: (item: T) => S,
  diff: (x: T, y: T) => Change[],
): { added: S[]; removed: S[]; changed: (S & { changes: Change[] })[] } {
  const ma = new Map(a.map((x) => [x.id, x]));
  const mb = new Map(b.map((x) => [x.id, x]));
  const only = (m: Map<string, T>, not: Map<string, T>) =>
    [...m.keys()]
      .filter((id) => !not.has(id))
      .sort()
      .map((id) => summarise(m.get(id)!));
  const changed = [...mb.keys()]
    .filter((id) => ma.has(id))
    .sort()
    .map((id) => ({ ...summarise(mb.get(id)!), changes: diff(ma.get(id)!, mb.get(id)!) }))
    .filter((c) => c.changes.length > 0);
  return { added: only(mb, ma), removed: only(ma, mb), changed };
}
const countNamed = (n: NamedChanges) =>
  n.added.length + n.removed.length + n.changed.reduce((s, c) => s + c.changes.length, 0);

export function diffRuleSets(a: RuleSetSource, b: RuleSetSource): RuleSetDiff {
  const policyA = a.contactPolicy;
  const policyB = b.contactPolicy;
  const namesB = new Set(policyB.rules.map((r) => r.name));
  const namesA = new Set(policyA.rules.map((r) => r.name));
  const keptA = policyA.rules.map((r) => r.name).filter((n) => namesB.has(n));
  const keptB = policyB.rules.map((r) => r.name).filter((n) => namesA.has(n));
  const parts = {
    a: { version: versionOf(a.manifest, a.hash), hash: a.hash },
    b: { version: versionOf(b.manifest, b.hash), hash: b.hash },
    manifest: diffJson(a.manifest, b.manifest),
    offers: diffById(a.offers, b.offers, summary, diffOffer),
    journeys: diffById(a.journeys, b.journeys, journeySummary, diffJourney),
    arbitration: {
      contextWeights: diffNamed(a.arbitration.contextWeights, b.arbitration.contextWeights),
      levers: diffNamed(a.arbitration.levers, b.arbitration.levers),
      learning: diffJson(a.arbitration.learning, b.arbitration.learning, '/learning'),
    },
    contactPolicy: {
      settings: diffJson(
        { channels: policyA.channels, holdMinutes: policyA.holdMinutes },
        { channels: policyB.channels, holdMinutes: policyB.holdMinutes },
      ),
      rules: diffNamed(policyA.rules, policyB.rules),
      // rules are checked in order: the first that applies names the suppression
      order: sameJson(keptA, keptB) ? null : { old: keptA, new: keptB },
    },
  };
  const { manifest, offers, journeys, arbitration, contactPolicy } = parts;
  const byId = (d: { added: unknown[]; removed: unknown[]; changed: { changes: Change[] }[] }) =>
    d.added.length + d.removed.length + d.changed.reduce((s, c) => s + c.changes.length, 0);
  const differences =
    manifest.length +
    byId(offers) +
    byId(journeys) +
    countNamed(arbitration.contextWeights) +
    countNamed(arbitration.levers) +
    arbitration.learning.length +
    contactPolicy.settings.length +
    countNamed(contactPolicy.rules) +
    (contactPolicy.order ? 1 : 0);
  return {
    a: parts.a,
    b: parts.b,
    identical: a.hash === b.hash,
    differences,
    manifest,
    offers,
    journeys,
    arbitration,
    contactPolicy,
  };
}
