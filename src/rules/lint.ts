import { LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../profiles/schema.js';
import { evaluateOperator } from './compile.js';
import { type JourneyLintFiles, lintJourneys } from './lint-journeys.js';
import type { RuleIssue, SourceFile } from './positions.js';
import type {
  Condition,
  ContactPolicy,
  Journey,
  LeafCondition,
  Manifest,
  Offer,
  PolicyRule,
  TopCondition,
} from './schema.js';

/**
 * Lint warnings for a rule set that has no errors: what is valid but almost certainly not meant.
 * The "never eligible" check is sound: it warns only when no profile and request can satisfy the condition.
 */

type Key = string | number;

/** Where a condition cannot hold: the JSON path (from the offer root) and why. */
export interface Conflict {
  readonly at: readonly Key[];
  readonly reason: string;
}

/** What is known of the values a fact (with its path) can take, from the profile schema and the offer. */
type Domain =
  | { readonly type: 'enum'; readonly values: readonly unknown[]; readonly text: string }
  | {
      readonly type: 'number';
      readonly min?: number;
      readonly max?: number;
      readonly integer?: boolean;
      readonly optional?: boolean;
    }
  | { readonly type: 'string' | 'stringArray' | 'object' | 'unknown' };

const UNKNOWN: Domain = { type: 'unknown' };
const NUMBER_FACTS: Readonly<Record<string, Domain>> = {
  clv: { type: 'number', min: 0 },
  churnScore: { type: 'number', min: 0, max: 1 },
  npsScore: { type: 'number', min: 0, max: 10, integer: true, optional: true },
  tenureDays: { type: 'number', min: 0, integer: true },
  productCount: { type: 'number', min: 0, integer: true },
  annualRevenue: { type: 'number' },
};
const quote = (v: unknown) => JSON.stringify(v);
/** "a, b and c" */
const joinWords = (parts: readonly string[], last = 'and') =>
  parts.length < 2 ? parts.join('') : `${parts.slice(0, -1).join(', ')} ${last} ${parts.at(-1)}`;
const list = (vs: readonly unknown[], last = 'and') => joinWords(vs.map(quote), last);
const comparesNumbers = (op: string) => op.endsWith('Than') || op.endsWith('Inclusive');

function domainOf(leaf: LeafCondition, channels: readonly string[]): Domain {
  // a path on a fact that is not an object resolves to the fact itself, so only objects and lists change
  switch (leaf.fact) {
    case 'lifecyclePhase':
      return { type: 'enum', values: LIFECYCLE_PHASES, text: `it is always one of ${list(LIFECYCLE_PHASES, 'or')}` };
    case 'valueSegment':
      return { type: 'enum', values: VALUE_SEGMENTS, text: `it is always one of ${list(VALUE_SEGMENTS, 'or')}` };
    case 'channel':
      return {
        type: 'enum',
        values: channels,
        text: channels.length ? `the offer has treatments only for ${list(channels)}` : 'the offer has no treatment',
      };
    case 'channelConsent':
      return { type: 'enum', values: [true, false], text: 'it is always true or false' };
    case 'customerId':
    case 'placement':
      return { type: 'string' };
    case 'productsHeld':
    case 'consents':
      return leaf.path === undefined ? { type: 'stringArray' } : UNKNOWN;
    case 'attributes':
    case 'context':
      return leaf.path === undefined ? { type: 'object' } : UNKNOWN;
    default:
      return NUMBER_FACTS[leaf.fact] ?? UNKNOWN;
  }
}

function domainText(d: Domain): string {
  switch (d.type) {
    case 'enum':
      return d.text;
    case 'number': {
      const range =
        d.min !== undefined && d.max !== undefined
          ? ` from ${d.min} to ${d.max}`
          : d.min !== undefined
            ? ` of at least ${d.min}`
            : '';
      return `it is ${d.integer ? 'a whole number' : 'a number'}${range}${d.optional ? ', or absent' : ''}`;
    }
    case 'string':
      return 'it is a string';
    case 'stringArray':
      return 'it is a list of strings';
    case 'object':
      return 'it is an object (read one of its values with "path")';
    case 'unknown':
      return 'no value does';
  }
}

/** Can a primitive from the rule equal (===) a value of this domain? */
function fits(v: unknown, d: Domain): boolean {
  switch (d.type) {
    case 'enum':
      return d.values.includes(v);
    case 'number':
      return (
        typeof v === 'number' &&
        v >= (d.min ?? -Infinity) &&
        v <= (d.max ?? Infinity) &&
        (!d.integer || Number.isInteger(v))
      );
    case 'string':
      return typeof v === 'string';
    case 'stringArray':
    case 'object':
      return false;
    case 'unknown':
      return true;
  }
}

/** Can the leaf alone hold for some value of an infinite domain (equal and in are handled apart)? */
function possible(leaf: LeafCondition, d: Domain): boolean {
  if (leaf.operator === 'contains')
    return d.type === 'unknown' || (d.type === 'stringArray' && typeof leaf.value === 'string');
  if (leaf.operator === 'doesNotContain') return d.type === 'unknown' || d.type === 'stringArray';
  // a numeric comparison needs a value that parses as a number: never an object (nor a boolean)
  return !comparesNumbers(leaf.operator) || d.type !== 'object';
}

/**
 * The numbers a value passing every numeric comparison can convert to (each comparison converts
 * the fact the same way): false when there is none, a finite list when it is small and whole.
 */
function numericRange(leaves: readonly LeafCondition[], d: Domain): false | number[] | undefined {
  const number = d.type === 'number' ? d : undefined;
  let lo = { v: number?.min ?? -Infinity, inc: true };
  let hi = { v: number?.max ?? Infinity, inc: true };
  for (const { operator, value } of leaves) {
    if (typeof value !== 'number') continue;
    if (operator === 'greaterThan' && value >= lo.v) lo = { v: value, inc: false };
    if (operator === 'greaterThanInclusive' && value > lo.v) lo = { v: value, inc: true };
    if (operator === 'lessThan' && value <= hi.v) hi = { v: value, inc: false };
    if (operator === 'lessThanInclusive' && value < hi.v) hi = { v: value, inc: true };
  }
  if (number?.integer) {
    const from = lo.inc ? Math.ceil(lo.v) : Math.floor(lo.v) + 1;
    const to = hi.inc ? Math.floor(hi.v) : Math.ceil(hi.v) - 1;
    if (from > to) return false;
    return to - from <= 1000 ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : undefined;
  }
  if (lo.v > hi.v || (lo.v === hi.v && !(lo.inc && hi.inc))) return false;
  return number && lo.v === hi.v ? [lo.v] : undefined;
}

/** Can every leaf (all on one fact and path) hold at once for some value of the domain? */
function canHold(leaves: readonly LeafCondition[], d: Domain): boolean {
  const pin = leaves.find((l) => l.operator === 'equal' || l.operator === 'in');
  const exact = (values: readonly unknown[]) =>
    values.some((v) => leaves.every((l) => evaluateOperator(l.operator, v, l.value)));
  // the fact is then one of finitely many known values: evaluate every leaf on each
  if (d.type === 'enum') return exact(d.values);
  if (pin) return exact((pin.operator === 'in' ? (pin.value as unknown[]) : [pin.value]).filter((v) => fits(v, d)));
  if (!leaves.every((l) => possible(l, d))) return false;
  const contained = leaves.filter((l) => l.operator === 'contains').map((l) => l.value);
  if (leaves.some((l) => l.operator === 'doesNotContain' && contained.includes(l.value))) return false;
  const range = numericRange(leaves, d);
  if (range === false) return false;
  // an optional number may be absent, unless a comparison needs it
  const present = d.type === 'number' && (!d.optional || leaves.some((l) => comparesNumbers(l.operator)));
  return range && present ? exact(range) : true;
}

interface Leaf {
  readonly leaf: LeafCondition;
  readonly at: readonly Key[];
  readonly order: number;
}
type Node =
  | { readonly kind: 'leaf'; readonly leaf: Leaf }
  | { readonly kind: 'all' | 'any'; readonly at: readonly Key[]; readonly children: readonly Node[] }
  | { readonly kind: 'not' };

function tree(c: Condition | TopCondition, at: readonly Key[], counter: { n: number }): Node {
  if ('all' in c) return { kind: 'all', at, children: c.all.map((x, i) => tree(x, [...at, 'all', i], counter)) };
  if ('any' in c) return { kind: 'any', at, children: c.any.map((x, i) => tree(x, [...at, 'any', i], counter)) };
  if ('not' in c) return { kind: 'not' };
  return { kind: 'leaf', leaf: { leaf: c, at, order: counter.n++ } };
}

/** What a condition asks of its fact, in words: ["be", "at least 1500"]. */
export function phrase(l: LeafCondition): [verb: string, object: string] {
  const v = l.value;
  switch (l.operator) {
    case 'equal':
      return ['equal', quote(v)];
    case 'notEqual':
      return ['not equal', quote(v)];
    case 'in':
      return ['be', `one of [${(v as unknown[]).map(quote).join(', ')}]`];
    case 'notIn':
      return ['not be', `one of [${(v as unknown[]).map(quote).join(', ')}]`];
    case 'contains':
      return ['contain', quote(v)];
    case 'doesNotContain':
      return ['not contain', quote(v)];
    case 'lessThan':
      return ['be', `less than ${v}`];
    case 'lessThanInclusive':
      return ['be', `at most ${v}`];
    case 'greaterThan':
      return ['be', `greater than ${v}`];
    case 'greaterThanInclusive':
      return ['be', `at least ${v}`];
  }
}

/** "must equal "new" and "loyalty"", "must be greater than 5 and less than 3" */
function phrases(leaves: readonly LeafCondition[]): string {
  return joinWords(
    leaves
      .map(phrase)
      .map(([verb, object], i, all) => (i > 0 && all[i - 1]![0] === verb ? object : `${verb} ${object}`)),
  );
}

function explain(core: readonly LeafCondition[], d: Domain): string {
  const first = core[0]!;
  const subject = first.path === undefined ? first.fact : `${first.fact} ${first.path}`;
  if (core.length === 1 && first.operator === 'in' && (first.value as unknown[]).length === 0)
    return `${subject} must be one of an empty list`;
  if (core.length === 1) return `${subject} must ${phrases(core)}, but ${domainText(d)}`;
  const domainMatters = canHold(core, UNKNOWN);
  return `${subject} must ${phrases(core)} at once${domainMatters ? `, and ${domainText(d)}` : ''}`;
}

/** The first leaf (in file order) at which the conjunction of `leaves` cannot hold, with the leaves that clash. */
function firstClash(leaves: readonly Leaf[], channels: readonly string[]): Conflict | undefined {
  const byKey = new Map<string, Leaf[]>();
  for (const l of [...leaves].sort((a, b) => a.order - b.order)) {
    const key = `${l.leaf.fact}\0${l.leaf.path ?? ''}`;
    byKey.set(key, [...(byKey.get(key) ?? []), l]);
  }
  let found: { last: Leaf; core: LeafCondition[]; d: Domain } | undefined;
  for (const same of byKey.values()) {
    const d = domainOf(same[0]!.leaf, channels);
    const k = same.findIndex(
      (_, i) =>
        !canHold(
          same.slice(0, i + 1).map((l) => l.leaf),
          d,
        ),
    );
    if (k < 0 || (found && found.last.order <= same[k]!.order)) continue;
    // the smallest set of earlier leaves that still clashes with the last one
    let core = same.slice(0, k + 1).map((l) => l.leaf);
    for (let i = 0; i < core.length - 1; ) {
      const without = core.filter((_, j) => j !== i);
      if (!canHold(without, d)) core = without;
      else i++;
    }
    found = { last: same[k]!, core, d };
  }
  return found && { at: found.last.at, reason: explain(found.core, found.d) };
}

/** Leaves of an all (nested alls flattened) and its anys; a not is taken as satisfiable. */
function conjunction(node: Node, leaves: Leaf[], anys: Node[]): void {
  if (node.kind === 'leaf') leaves.push(node.leaf);
  else if (node.kind === 'all') for (const c of node.children) conjunction(c, leaves, anys);
  else if (node.kind === 'any') anys.push(node);
}

function clash(node: Node, context: readonly Leaf[], channels: readonly string[]): Conflict | undefined {
  if (node.kind === 'not') return undefined;
  if (node.kind === 'any') {
    if (node.children.length === 0) return undefined; // json-rules-engine: an empty any is true
    const branches = node.children.map((c) => clash(c, context, channels));
    if (branches.some((b) => b === undefined)) return undefined;
    if (branches.length === 1) return branches[0];
    return {
      at: node.at,
      reason: `none of the ${branches.length} "any" conditions can hold (${branches.map((b) => b!.reason).join('; ')})`,
    };
  }
  const leaves = [...context];
  const anys: Node[] = [];
  conjunction(node, leaves, anys);
  const direct = firstClash(leaves, channels);
  if (direct) return direct;
  for (const any of anys) {
    const c = clash(any, leaves, channels);
    if (c) return c;
  }
  return undefined;
}

/**
 * Why no profile and request on one of `channels` can satisfy the condition, or undefined when
 * some may (or it cannot tell). Within an all, leaves on the same fact and path are checked together.
 */
export function neverHolds(
  condition: Condition | TopCondition,
  channels: readonly string[],
  at: readonly Key[] = [],
): Conflict | undefined {
  return clash(tree(condition, at, { n: 0 }), [], channels);
}

/** The same conditions whatever the key order and the order inside all, any, in and notIn. */
export function canonicalCondition(c: Condition | TopCondition): string {
  if ('all' in c) return `all(${c.all.map(canonicalCondition).sort().join(',')})`;
  if ('any' in c) return `any(${c.any.map(canonicalCondition).sort().join(',')})`;
  if ('not' in c) return `not(${canonicalCondition(c.not)})`;
  const value = Array.isArray(c.value) ? [...new Set(c.value.map(quote))].sort() : quote(c.value);
  return quote([c.fact, c.path ?? null, c.operator, value]);
}

function governsSome(rule: PolicyRule, offers: readonly Offer[]): boolean {
  const channels = rule.channel === undefined ? undefined : [rule.channel].flat();
  return offers.some(
    (o) =>
      (!rule.offers || rule.offers.includes(o.id)) &&
      (!rule.groups || rule.groups.includes(o.group)) &&
      (!channels || channels.some((c) => Object.hasOwn(o.treatments, c))),
  );
}

function policyFilters(rule: PolicyRule): string {
  const parts = [
    rule.offers && `named ${list(rule.offers, 'or')}`,
    rule.groups && `in group ${list(rule.groups, 'or')}`,
    rule.channel !== undefined && `with a treatment for channel ${list([rule.channel].flat(), 'or')}`,
  ];
  return parts.filter(Boolean).join(' ');
}

export interface LintInput {
  readonly manifest: Manifest;
  readonly contactPolicy: ContactPolicy;
  readonly offers: readonly Offer[];
  readonly journeys: readonly Journey[];
}
export interface LintFiles extends JourneyLintFiles {
  readonly offers: ReadonlyMap<string, SourceFile>;
  readonly contactPolicy: SourceFile;
}

/** Every lint warning of a valid rule set, in file and position order. */
export function lintRuleSet(rs: LintInput, files: LintFiles): RuleIssue[] {
  const warnings: RuleIssue[] = [];
  const seen: { offer: Offer; canonical: string }[] = [];
  for (const offer of rs.offers) {
    const src = files.offers.get(offer.id)!;
    const channels = Object.keys(offer.treatments);
    const never = neverHolds(offer.eligibility, channels, ['eligibility']);
    if (never)
      warnings.push(src.issue(never.at, `offer "${offer.id}" can never be eligible: ${never.reason}`, 'warning'));
    // inbound channels only: an offer goes out on an outbound channel only where a journey sends it
    for (const channel of rs.manifest.channels) {
      // an eligibility that rules the channel out says the offer is not meant for it
      if (channels.includes(channel) || neverHolds(offer.eligibility, [channel])) continue;
      warnings.push(
        src.issue(
          ['treatments'],
          `offer "${offer.id}" has no treatment for channel "${channel}", so it is never shown there`,
          'warning',
          'key',
        ),
      );
    }
    const canonical = canonicalCondition(offer.eligibility);
    for (const earlier of seen) {
      const shared = channels.filter((c) => Object.hasOwn(earlier.offer.treatments, c));
      if (earlier.canonical !== canonical || shared.length === 0) continue;
      const on = `channel${shared.length > 1 ? 's' : ''} ${list(shared)}`;
      warnings.push(
        src.issue(
          ['eligibility'],
          `offer "${offer.id}" has the same eligibility as offer "${earlier.offer.id}" on ${on}`,
          'warning',
          'key',
        ),
      );
      break;
    }
    seen.push({ offer, canonical });
  }
  rs.contactPolicy.rules.forEach((rule, i) => {
    if (governsSome(rule, rs.offers)) return;
    warnings.push(
      files.contactPolicy.issue(
        ['rules', i],
        `policy rule "${rule.name}" governs no offer: there is no offer ${policyFilters(rule)}`,
        'warning',
      ),
    );
  });
  warnings.push(...lintJourneys(rs.manifest, rs.journeys, rs.offers, files));
  return warnings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
