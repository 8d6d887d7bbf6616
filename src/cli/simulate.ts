/**
 * `nextbest simulate`: previews a rule set on a population of NDJSON profiles, before it ships.
 *
 * `--json` prints one document (shares are fractions 0–1 of the customers counted in the same
 * object; `null` as an offer ID means "no offer"):
 *   {
 *     rules:    { dir, version },
 *     baseline: { dir, version } | null,
 *     context:  { key: string | number | boolean },            // from --context
 *     profiles: { file, simulated, rejectedLines,              // file "-" is stdin
 *                 rejected: [{ line, errors: [{ path, message }] }] },   // the first 10
 *     elapsedMs,
 *     channels: [{
 *       channel, customers,
 *       rules: Mix & { segments: [Mix & { lifecyclePhase, valueSegment }] },  // all 16 cells
 *       baseline: (the same shape) | null,                     // null without --baseline
 *       baselineDeclaresChannel: boolean | null,               // false: baseline counts as no offer
 *       shift: null | {
 *         changed: { customers, share },                      // customers whose top offer changes
 *         offers: [{ offerId, before: {customers, share}, after: {customers, share}, shareChange }],
 *         flows:  [{ from, to, customers, share,               // largest first
 *                    segments: [{ lifecyclePhase, valueSegment, customers }] }]
 *       }
 *     }]
 *   }
 *   where Mix = { customers, noOffer: { customers, share }, topOffers: [{ offerId, customers, share }] }
 *   and noOffer.share + Σ topOffers[].share = 1 (when customers > 0).
 */
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ContextValue } from '../decision/types.js';
import { type ChannelSimulation, type Count, Simulation, type SimulationReport } from '../offline/simulate.js';
import { type ImportReport, importProfileLines } from '../profiles/ndjson.js';
import { FORBIDDEN_KEYS, KEY_PATTERN, LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../profiles/schema.js';
import { compileRuleSet, formatIssue, loadRuleSet, type RuleSet } from '../rules/index.js';
import { type CommandSpec, command, flags, usageText } from './command.js';
import { num, perSecond, seconds } from './format.js';
import { type Input, LISTED_LINES, listRejected, openInput } from './input.js';
import { type Io, UsageError } from './io.js';
import { progress } from './progress.js';

export const SIMULATE = {
  name: 'simulate',
  summary: 'preview a rule set on a population: top offers by phase × segment, shift against a baseline',
  description:
    'Runs every profile through the rule set on each channel and prints the share of customers per top offer, by ' +
    'lifecycle phase × value segment; with --baseline, how the mix shifts against the rule set in that folder and ' +
    'who moves from which offer to which. Bad lines are listed by number and skipped.',
  options: {
    rules: { type: 'string', value: 'DIR', required: true, help: 'the rule set to preview' },
    profiles: { type: 'string', value: 'FILE', required: true, help: 'the NDJSON profiles; - for stdin' },
    channel: {
      type: 'string',
      value: 'C',
      multiple: true,
      default: 'every channel the rule set declares',
      help: 'a channel to simulate; give it again for more',
    },
    context: {
      type: 'string',
      value: 'KEY=VALUE',
      multiple: true,
      help: "a key of the request's context, as a web page would send it (numbers and true/false become numbers and booleans); give it again for more",
    },
    placement: { type: 'string', value: 'P', help: "the request's placement, 1 to 64 characters" },
    baseline: { type: 'string', value: 'DIR', help: 'a rule set to compare with: the shift from it to --rules' },
    json: { type: 'boolean', help: 'the whole report as one JSON document' },
  },
  examples: [
    'simulate --rules rules --profiles customers.ndjson --channel web',
    'simulate --rules rules-next --baseline rules --profiles customers.ndjson --context page=checkout',
  ],
} as const satisfies CommandSpec;

/** Bad lines kept in the JSON: as many as are listed on stderr. */
const REPORTED_LINES = LISTED_LINES;
const FLOWS_SHOWN = 10;
const CELLS_PER_FLOW = 3;
const MAX_CONTEXT_KEYS = 32;

interface Options {
  readonly rules: string;
  readonly profiles: string;
  readonly baseline: string | undefined;
  readonly channels: readonly string[];
  readonly context: Readonly<Record<string, ContextValue>>;
  readonly placement: string | undefined;
  readonly json: boolean;
}

/** `key=value`; numbers and true/false become numbers and booleans, as a request's JSON would carry them. */
function parsePlacement(raw: string | undefined): string | undefined {
  if (raw !== undefined && (raw.length < 1 || raw.length > 64))
    throw new UsageError('simulate: --placement wants 1 to 64 characters');
  return raw;
}

export function parseContext(pairs: readonly string[]): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !KEY_PATTERN.test(key) || FORBIDDEN_KEYS.has(key))
      throw new UsageError(`simulate: --context wants KEY=VALUE with KEY an identifier, got "${pair}"`);
    if (Object.hasOwn(context, key)) throw new UsageError(`simulate: --context ${key} given twice`);
    const raw = pair.slice(eq + 1);
    if (raw.length > 256) throw new UsageError(`simulate: --context ${key}: at most 256 characters`);
    // a number only when it reads back the same: "007" and "1e3" stay text, as a web page would send them
    context[key] =
      raw === 'true' ? true : raw === 'false' ? false : raw !== '' && String(Number(raw)) === raw ? Number(raw) : raw;
  }
  if (Object.keys(context).length > MAX_CONTEXT_KEYS)
    throw new UsageError(`simulate: at most ${MAX_CONTEXT_KEYS} --context keys`);
  return context;
}

function parseOptions(args: string[]): Options {
  const { values } = flags(SIMULATE, args);
  if (values.baseline === '') throw new UsageError('simulate: --baseline needs a folder');
  return {
    rules: values.rules,
    profiles: values.profiles,
    baseline: values.baseline,
    channels: [...new Set(values.channel ?? [])],
    context: parseContext(values.context ?? []),
    placement: parsePlacement(values.placement),
    json: values.json === true,
  };
}

/** Loads and compiles a rule set; its errors go to stderr as DIR/file:line:col. */
async function ruleSetAt(dir: string, io: Io): Promise<RuleSet | undefined> {
  const loaded = await loadRuleSet(dir);
  if (loaded.ok) return compileRuleSet(loaded.source);
  for (const issue of loaded.errors) io.stderr.write(`${formatIssue({ ...issue, file: join(dir, issue.file) })}\n`);
  io.stderr.write(
    `simulate: ${dir}: ${loaded.errors.length} error(s); fix them (nextbest rules validate ${dir}) and run again\n`,
  );
  return undefined;
}

/** `nextbest simulate`: streams the profiles through the rule set (and the baseline) and prints the mix. */
export const runSimulate = command(SIMULATE, async (args, io) => {
  const options = parseOptions(args);
  const rules = await ruleSetAt(options.rules, io);
  const baseline = options.baseline === undefined ? undefined : await ruleSetAt(options.baseline, io);
  if (!rules || (options.baseline !== undefined && !baseline)) return 1;
  const undeclared = options.channels.filter((c) => !rules.manifest.channels.includes(c));
  if (undeclared.length > 0) {
    io.stderr.write(
      `simulate: channel "${undeclared[0]}" is not declared by ${options.rules} (it declares ${rules.manifest.channels.join(', ')})\n${usageText(SIMULATE)}\n`,
    );
    return 2;
  }
  const channels = options.channels.length > 0 ? options.channels : rules.manifest.channels;
  const simulation = new Simulation({
    rules,
    baseline,
    channels,
    context: options.context,
    placement: options.placement,
  });
  const started = performance.now();
  const p = progress(io);
  let read: ImportReport;
  let input: Input | undefined;
  try {
    input = await openInput(options.profiles, { encoding: 'utf8' });
    p.step(`simulating ${basename(input.name)}`, input.size, 'bytes');
    p.watch(input.stream); // before readline starts the stream flowing
    read = await importProfileLines(createInterface({ input: input.stream, crlfDelay: Infinity }), async (profiles) => {
      for (const profile of profiles) simulation.add(profile);
    });
  } catch (err) {
    io.stderr.write(`simulate: cannot read ${options.profiles}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    p.done();
    input?.close();
  }
  const elapsedMs = Math.round(performance.now() - started);
  const report = simulation.report();
  const rejected = read.rejected.slice(0, REPORTED_LINES);
  listRejected(input.name, read.rejectedLines, read.rejected, io);
  if (read.rejectedLines > 0)
    io.stderr.write(
      `simulate: ${num(read.rejectedLines)} line(s) rejected, ${num(read.imported)} profiles simulated\n`,
    );
  if (options.json) {
    const document = {
      rules: { dir: options.rules, version: report.rulesVersion },
      baseline: options.baseline === undefined ? null : { dir: options.baseline, version: report.baselineVersion },
      context: report.context,
      profiles: { file: options.profiles, simulated: read.imported, rejectedLines: read.rejectedLines, rejected },
      elapsedMs,
      channels: report.channels,
    };
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    io.stdout.write(
      render(report, { ...options, simulated: read.imported, rejectedLines: read.rejectedLines, elapsedMs }),
    );
  }
  return 0;
});

// ---------------------------------------------------------------------------------------------
// The text report: a marketer reads it in a terminal, so columns are aligned and rows are few.

const NONE = '(no offer)';
const pct = (share: number): string => `${(share * 100).toFixed(1)}%`;
const pts = (change: number): string =>
  `${change > 0 ? '+' : change < 0 ? '-' : ' '}${Math.abs(change * 100).toFixed(1)} pts`;
const label = (id: string | null): string => id ?? NONE;
const row = (first: string, width: number, cells: readonly string[], cellWidth: number): string =>
  `  ${first.padEnd(width)}${cells.map((c) => c.padStart(cellWidth)).join('')}`.trimEnd();

interface RenderInfo extends Options {
  readonly simulated: number;
  readonly rejectedLines: number;
  readonly elapsedMs: number;
}

function render(report: SimulationReport, info: RenderInfo): string {
  const context = Object.entries(report.context)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  const lines = [
    `rules ${report.rulesVersion} (${info.rules})${report.baselineVersion ? ` against baseline ${report.baselineVersion} (${info.baseline})` : ''}`,
    `${num(info.simulated)} customers from ${info.profiles === '-' ? 'stdin' : info.profiles}${info.rejectedLines ? `, ${num(info.rejectedLines)} lines rejected` : ''}; ` +
      `context ${context || '(none)'}${report.placement ? `; placement ${report.placement}` : ''}; ${seconds(info.elapsedMs)} (${perSecond(info.simulated, info.elapsedMs)} profiles/s)`,
  ];
  for (const channel of report.channels) lines.push('', ...renderChannel(channel));
  return `${lines.join('\n')}\n`;
}

function renderChannel(ch: ChannelSimulation): string[] {
  const mix = ch.rules;
  const ids = [
    NONE,
    'top offer',
    ...mix.topOffers.map((o) => o.offerId),
    ...(ch.shift?.offers.map((o) => label(o.offerId)) ?? []),
  ];
  const width = Math.max(...ids.map((s) => s.length)) + 2;
  const out = [
    `channel ${ch.channel}: ${num(ch.customers)} customers, ${num(mix.noOffer.customers)} (${pct(mix.noOffer.share)}) with no offer`,
    '',
  ];
  out.push(row('top offer', width, ['customers', 'share'], 11));
  for (const o of mix.topOffers) out.push(row(o.offerId, width, [num(o.customers), pct(o.share)], 11));
  out.push(row(NONE, width, [num(mix.noOffer.customers), pct(mix.noOffer.share)], 11));
  out.push('', "  top offer by lifecycle phase × value segment (share of the cell's customers)");
  for (const phase of LIFECYCLE_PHASES) {
    const cells = VALUE_SEGMENTS.map(
      (s) => mix.segments.find((c) => c.lifecyclePhase === phase && c.valueSegment === s)!,
    );
    const phaseCustomers = cells.reduce((n, c) => n + c.customers, 0);
    if (phaseCustomers === 0) continue;
    const shareIn = (
      c: { customers: number; topOffers: readonly { offerId: string; customers: number }[]; noOffer: Count },
      id: string | null,
    ): number => {
      const n = id === null ? c.noOffer.customers : (c.topOffers.find((o) => o.offerId === id)?.customers ?? 0);
      return c.customers === 0 ? Number.NaN : n / c.customers;
    };
    const offers = new Map<string | null, number>();
    for (const c of cells) {
      for (const o of c.topOffers) offers.set(o.offerId, (offers.get(o.offerId) ?? 0) + o.customers);
      if (c.noOffer.customers > 0) offers.set(null, (offers.get(null) ?? 0) + c.noOffer.customers);
    }
    const order = [...offers].sort(([a, x], [b, y]) => (a === null ? 1 : b === null ? -1 : y - x || (a < b ? -1 : 1)));
    out.push('', row(phase, width, [...VALUE_SEGMENTS, 'all'], 9));
    out.push(row('  customers', width, [...cells.map((c) => num(c.customers)), num(phaseCustomers)], 9));
    for (const [id, n] of order) {
      const shares = cells.map((c) => {
        const s = shareIn(c, id);
        return Number.isNaN(s) ? '' : s === 0 ? '-' : pct(s);
      });
      out.push(row(`  ${label(id)}`, width, [...shares, pct(n / phaseCustomers)], 9));
    }
  }
  if (ch.shift) out.push('', ...renderShift(ch, width));
  return out;
}

function renderShift(ch: ChannelSimulation, width: number): string[] {
  const shift = ch.shift!;
  const out: string[] = [];
  if (ch.baselineDeclaresChannel === false)
    out.push(`  the baseline does not declare ${ch.channel}: there every customer counts as no offer`);
  if (shift.changed.customers === 0) return [...out, "  against the baseline: no customer's top offer changes"];
  out.push(
    `  against the baseline: ${num(shift.changed.customers)} customers (${pct(shift.changed.share)}) get a different top offer`,
    '',
  );
  out.push(row('top offer', width, ['before', 'after', 'change'], 11));
  const moved = shift.offers.filter((o) => o.before.customers !== o.after.customers);
  for (const o of moved)
    out.push(row(label(o.offerId), width, [pct(o.before.share), pct(o.after.share), pts(o.shareChange)], 11));
  const same = shift.offers.length - moved.length;
  if (same > 0) out.push(`  (${same} other top offer${same === 1 ? '' : 's'} unchanged)`);
  out.push('', `  largest moves (customers: from → to, where)`);
  const fromWidth = Math.max(...shift.flows.slice(0, FLOWS_SHOWN).map((f) => label(f.from).length));
  const toWidth = Math.max(...shift.flows.slice(0, FLOWS_SHOWN).map((f) => label(f.to).length));
  for (const f of shift.flows.slice(0, FLOWS_SHOWN)) {
    const where = f.segments
      .slice(0, CELLS_PER_FLOW)
      .map((c) => `${c.lifecyclePhase}/${c.valueSegment} ${num(c.customers)}`);
    if (f.segments.length > CELLS_PER_FLOW) where.push(`${f.segments.length - CELLS_PER_FLOW} more cells`);
    out.push(
      `  ${num(f.customers).padStart(9)}  ${label(f.from).padEnd(fromWidth)} → ${label(f.to).padEnd(toWidth)}  ${where.join(', ')}`,
    );
  }
  const rest = shift.flows.slice(FLOWS_SHOWN);
  if (rest.length > 0)
    out.push(`  … and ${num(rest.length)} smaller moves (${num(rest.reduce((n, f) => n + f.customers, 0))} customers)`);
  return out;
}
