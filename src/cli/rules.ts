import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadRuleLimits } from '../config.js';
import {
  type Change,
  diffRuleSets,
  type JourneySummary,
  type NamedChanges,
  type OfferSummary,
  type RuleSetDiff,
} from '../offline/rules-diff.js';
import { ruleSchemas } from '../rules/json-schema.js';
import { type LoadResult, loadRuleSet, type RuleSetSource } from '../rules/load.js';
import { formatIssue } from '../rules/positions.js';
import { flags } from './command.js';
import { type Io, UsageError, withUsage } from './io.js';
import { RULES_DIFF, RULES_SCHEMAS, RULES_VALIDATE } from './rules-spec.js';
import { validateRuleSet } from './rules-validate.js';

const USAGE = `usage:
  nextbest rules validate [DIR|FILE] [--json] [--max-warnings N]\n                                             check a rule set (default ./rules), or the set a rule file belongs to;\n                                             exit 0 only without errors and with at most N warnings
  nextbest rules schemas [DIR] [--check]     write DIR/schema/*.schema.json from the code (--check: fail if stale)
  nextbest rules diff DIR_A DIR_B [--json]   what changed from A to B: offers, journeys, weights, levers, contact policy`;

async function validate(args: string[], io: Io): Promise<number> {
  const { values, positionals } = flags(RULES_VALIDATE, args);
  if (positionals.length > 1) return usage(io);
  const max = values['max-warnings'];
  if (max !== undefined && !/^\d{1,9}$/.test(max)) throw new UsageError('--max-warnings takes a whole number');
  let limits: ReturnType<typeof loadRuleLimits>;
  try {
    limits = loadRuleLimits();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return 2;
  }
  return validateRuleSet(
    positionals[0] ?? './rules',
    limits,
    { json: values.json === true, maxWarnings: max === undefined ? undefined : Number(max) },
    io,
  );
}

async function schemas(args: string[], io: Io): Promise<number> {
  const { values, positionals } = flags(RULES_SCHEMAS, args);
  const dir = join(positionals[0] ?? './rules', 'schema');
  let stale = 0;
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(ruleSchemas())) {
    const path = join(dir, file);
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current === text) continue;
    stale++;
    if (values.check) io.stderr.write(`${path} is stale: run nextbest rules schemas\n`);
    else {
      await writeFile(path, text);
      io.stdout.write(`wrote ${path}\n`);
    }
  }
  const all = Object.keys(ruleSchemas()).length;
  if (stale === 0) io.stdout.write(`${dir}: the ${all} schemas are up to date\n`);
  else if (values.check) io.stderr.write(`${dir}: ${stale} of ${all} schemas stale\n`);
  else io.stdout.write(`${dir}: ${stale} of ${all} schemas rewritten\n`);
  return values.check && stale > 0 ? 1 : 0;
}

const MAX_VALUE = 60; // characters of a value shown on a line; --json has them whole
const CONTEXT = 12; // characters kept before and after the part of a long value that changed

/** Two long values cut to the part that differs, with a little context: `…price and what…` → `…`. */
export function clipPair(oldText: string, newText: string): [string, string] {
  if (oldText.length <= MAX_VALUE && newText.length <= MAX_VALUE) return [oldText, newText];
  let prefix = 0;
  while (prefix < Math.min(oldText.length, newText.length) && oldText[prefix] === newText[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < Math.min(oldText.length, newText.length) - prefix &&
    oldText.at(-1 - suffix) === newText.at(-1 - suffix)
  )
    suffix++;
  const start = Math.max(0, prefix - CONTEXT);
  const cut = (t: string) => {
    const end = Math.min(t.length, t.length - suffix + CONTEXT);
    const middle = t.slice(start, end);
    const shown =
      middle.length > MAX_VALUE ? `${middle.slice(0, MAX_VALUE)}…` : `${middle}${end < t.length ? '…' : ''}`;
    return `${start > 0 ? '…' : ''}${shown}`;
  };
  return [cut(oldText), cut(newText)];
}

const show = (v: unknown) => {
  const text = JSON.stringify(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
};

function changeLines(changes: readonly Change[], indent: string): string[] {
  const width = Math.min(44, Math.max(...changes.map((c) => c.path.length)));
  return changes.map((c) => {
    const path = `${indent}${c.path.padEnd(width)}  `;
    if (c.op === 'added') return `${path}added ${show(c.new)}`;
    if (c.op === 'removed') return `${path}removed ${show(c.old)}`;
    const [from, to] = clipPair(JSON.stringify(c.old), JSON.stringify(c.new));
    return `${path}${from} → ${to}`;
  });
}

function namedLines(title: string, n: NamedChanges): string[] {
  if (n.added.length + n.removed.length + n.changed.length === 0) return [];
  return [
    `  ${title}`,
    ...n.added.map((e) => `    + ${JSON.stringify(e.name)}  ${show(e.entry)}`),
    ...n.removed.map((e) => `    - ${JSON.stringify(e.name)}  ${show(e.entry)}`),
    ...n.changed.flatMap((e) => [`    ~ ${JSON.stringify(e.name)}`, ...changeLines(e.changes, '        ')]),
  ];
}

/** `offers: 1 added, 2 changed`: the counts that are not 0. */
function countsTitle(
  title: string,
  d: { added: readonly unknown[]; removed: readonly unknown[]; changed: readonly unknown[] },
) {
  const counts = [
    [d.added, 'added'],
    [d.removed, 'removed'],
    [d.changed, 'changed'],
  ] as const;
  return `${title}: ${counts
    .filter(([l]) => l.length > 0)
    .map(([l, w]) => `${l.length} ${w}`)
    .join(', ')}`;
}

const STEP_PATH = /^\/steps\/(\d+)(\/.*)?$/;

/**
 * A journey change's path with its step named by id, as a person finds it in the file:
 * `/steps/2/week` → `/steps/come-back-email/week`. The index of a step edited inside is its
 * position in B (`stepsB`); a step added or removed carries its id. Unresolved: left as it is.
 */
function stepNamed(c: Change, stepsB: readonly { readonly id: string }[] | undefined): Change {
  const m = STEP_PATH.exec(c.path);
  if (!m) return c;
  const step = m[2] === undefined ? ((c.op === 'removed' ? c.old : c.new) as { id?: unknown } | undefined) : undefined;
  const id = m[2] === undefined ? step?.id : stepsB?.[Number(m[1])]?.id;
  return typeof id === 'string' ? { ...c, path: `/steps/${id}${m[2] ?? ''}` } : c;
}

/**
 * The diff for a person: grouped by file, one change a line, paths aligned within a group.
 * With B's source, a journey's steps are named by their id rather than their position.
 */
export function formatDiff(d: RuleSetDiff, dirA: string, dirB: string, b?: RuleSetSource): string {
  const versionWidth = Math.max(d.a.version.length, d.b.version.length);
  const lines = [
    `A  ${d.a.version.padEnd(versionWidth)}  ${dirA}`,
    `B  ${d.b.version.padEnd(versionWidth)}  ${dirB}`,
    '',
  ];
  if (d.identical) return [...lines, 'no differences', ''].join('\n');
  if (d.differences === 0)
    return [...lines, 'no differences in content (the files differ only in layout or $schema)', ''].join('\n');
  const section = (title: string, body: string[]) => (body.length > 0 ? [title, ...body, ''] : []);
  const { offers, journeys, arbitration, contactPolicy: policy } = d;
  const all = [...offers.added, ...offers.removed, ...offers.changed];
  const idWidth = Math.max(...all.map((o) => o.id.length));
  const groupWidth = Math.max(...all.map((o) => o.group.length));
  const summary = (sign: string) => (o: OfferSummary) =>
    `  ${sign} ${o.id.padEnd(idWidth)}  ${o.group.padEnd(groupWidth)}  ${o.name}`;
  const allJourneys = [...journeys.added, ...journeys.removed, ...journeys.changed];
  const journeyWidth = Math.max(...allJourneys.map((j) => j.id.length));
  const journeyLine = (sign: string) => (j: JourneySummary) => `  ${sign} ${j.id.padEnd(journeyWidth)}  ${j.name}`;
  const stepsOf = (id: string) => b?.journeys.find((j) => j.id === id)?.steps;
  lines.push(
    ...section('manifest', changeLines(d.manifest, '  ')),
    ...section(countsTitle('offers', offers), [
      ...offers.added.map(summary('+')),
      ...offers.removed.map(summary('-')),
      ...offers.changed.flatMap((o) => [summary('~')(o), ...changeLines(o.changes, '      ')]),
    ]),
    ...section(countsTitle('journeys', journeys), [
      ...journeys.added.map(journeyLine('+')),
      ...journeys.removed.map(journeyLine('-')),
      ...journeys.changed.flatMap((j) => [
        journeyLine('~')(j),
        ...changeLines(
          j.changes.map((c) => stepNamed(c, stepsOf(j.id))),
          '      ',
        ),
      ]),
    ]),
    ...section('arbitration', [
      ...namedLines('context weights', arbitration.contextWeights),
      ...namedLines('levers', arbitration.levers),
      ...(arbitration.learning.length > 0 ? ['  learning', ...changeLines(arbitration.learning, '      ')] : []),
    ]),
    ...section('contact policy', [
      ...changeLines(policy.settings, '  '),
      ...namedLines('rules', policy.rules),
      ...(policy.order
        ? [`  rule order  ${clipPair(JSON.stringify(policy.order.old), JSON.stringify(policy.order.new)).join(' → ')}`]
        : []),
    ]),
    `${d.differences} difference${d.differences === 1 ? '' : 's'}`,
    '',
  );
  return lines.join('\n');
}

async function diff(args: string[], io: Io): Promise<number> {
  const { values, positionals } = flags(RULES_DIFF, args);
  if (positionals.length !== 2) return usage(io);
  const [dirA, dirB] = positionals as [string, string];
  const [a, b] = await Promise.all([loadRuleSet(dirA), loadRuleSet(dirB)]);
  const report = (dir: string, r: LoadResult) => {
    if (r.ok) return;
    for (const issue of r.errors) io.stderr.write(`${formatIssue({ ...issue, file: join(dir, issue.file) })}\n`);
    io.stderr.write(`${dir}: ${r.errors.length} error(s)\n`);
  };
  report(dirA, a);
  report(dirB, b);
  if (!a.ok || !b.ok) return 1;
  const d = diffRuleSets(a.source, b.source);
  if (values.json) {
    // the document described at the top of src/offline/rules-diff.ts
    const doc = { ...d, a: { dir: dirA, ...d.a }, b: { dir: dirB, ...d.b } };
    io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    io.stdout.write(formatDiff(d, dirA, dirB, b.source));
  }
  return 0;
}

function usage(io: Io): number {
  io.stderr.write(`${USAGE}\n`);
  return 2;
}

export const runRules = withUsage(USAGE, async ([sub, ...rest], io) => {
  try {
    if (sub === 'validate') return await validate(rest, io);
    if (sub === 'schemas') return await schemas(rest, io);
    if (sub === 'diff') return await diff(rest, io);
  } catch (err) {
    // node:util's parseArgs, in its own words
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message);
    throw err;
  }
  return usage(io);
});
