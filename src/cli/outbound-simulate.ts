/**
 * `nextbest outbound simulate`: weeks of outbound runs on a population in memory, the world in
 * between simulated (accepts drawn from propensities, customers ageing): how often each segment
 * is contacted, how full the channels run, which caps bite, who enters and leaves the journeys.
 *
 * `--json` prints one document (shares are fractions 0–1; perCustomerWeek is contacts ÷
 * customerWeeks, customerWeeks the sum over the weeks of the customers in the group that week):
 *   {
 *     rules: { dir, version }, profiles: { file | null (the demo population), customers, rejectedLines },
 *     seed, from, to, weeks, channels: [channel], elapsedMs,
 *     assumptions: [sentence],
 *     totals:   Group & { heldOut, unsent, noConsent, accepts: { channel: n } },
 *     segments: [Group & { valueSegment }],                      // all phases
 *     cells:    [Group & { valueSegment, lifecyclePhase }],      // all 16: phase by phase, segments in order
 *     capacity: [{ channel, capacity | null, contacts, meanUse | null, maxUse | null, weeksAtCapacity }],
 *     capsHit:  [{ rule, heldBack, byChannel: { channel: n } }], // most first
 *     journeys: [{ journey, entered, exited: { phase, accept, complete } }],
 *     weekly:   [{ week, sendDate, customers, contacts: { channel: n }, capacity: { channel: n | null },
 *                  heldOut, unsent, accepts, cells: [{ valueSegment, lifecyclePhase, customers, contacts }] }]
 *   }
 *   where Group = { customerWeeks, customers, contacted, contactedShare | null,   // contacted at least once while in it
 *                   contacts: { channel: n }, perCustomerWeek: { channel: x | null, all: x | null } }
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { formatPercent } from '../offline/analytics/portfolio-table.js';
import { generateProfiles } from '../offline/demo/index.js';
import { chartSvg, escapeHtml, figure, htmlPage, htmlTable } from '../offline/report/page.js';
import { RunRefused } from '../outbound/run.js';
import { type GroupTally, MAX_WEEKS, type OutboundSimulation, simulateWeeks } from '../outbound/simulate.js';
import { parseWeek, WEEK_FORMAT, weekOf } from '../outbound/week.js';
import { loadProfileFile, MemoryProfileStore } from '../profiles/index.js';
import { compileRuleSet, formatIssue, loadRuleSet } from '../rules/index.js';
import { type CommandSpec, command, flags } from './command.js';
import { num, seconds } from './format.js';
import { type Io, UsageError } from './io.js';
import { progress } from './progress.js';

export const OUTBOUND_SIMULATE = {
  name: 'outbound simulate',
  summary:
    'simulate weeks of outbound runs: contacts per customer per week by segment × phase × channel, capacity, caps',
  description:
    "Runs the rule set's journeys week after week on a population in memory, as `outbound run` would, and " +
    'simulates the world in between: each contact is accepted with its offer’s propensity, customers age a week ' +
    '(a new customer past 100 days becomes a loyalty customer). Prints contacts per customer per week by lifecycle ' +
    'phase × value segment and channel, the use of each channel’s capacity, the offers contact-policy rules held ' +
    'back, and the journeys entered and left. Nothing is written to any store. Without --profiles, the demo ' +
    'population the service starts with.',
  options: {
    weeks: { type: 'string', value: 'N', default: '52', help: `weeks to run, 1 to ${MAX_WEEKS}` },
    from: { type: 'string', value: 'YYYY-Www', default: 'the ISO week of today', help: 'the first week run' },
    profiles: { type: 'string', value: 'FILE', help: 'NDJSON profiles (default: the demo population of 10,000)' },
    rules: { type: 'string', value: 'DIR', default: 'RULES_DIR, else ./rules', help: 'the rule set' },
    json: { type: 'boolean', help: 'the whole report as one JSON document' },
    html: { type: 'string', value: 'FILE', help: 'also write a self-contained HTML page: the charts and the tables' },
  },
  examples: [
    'outbound simulate --weeks 52 --from 2026-W50',
    'outbound simulate --profiles customers.ndjson --rules rules-next --html frequency.html',
  ],
} as const satisfies CommandSpec;

/** The population `npm start` and `outbound run` use without profiles. */
const DEMO = { customers: 10_000, seed: 42 };
const NAME = OUTBOUND_SIMULATE.name;

type Doc = Omit<OutboundSimulation, 'rulesetVersion' | 'customers'> & {
  rules: { dir: string; version: string };
  profiles: { file: string | null; customers: number; rejectedLines: number };
  elapsedMs: number;
};

function parseWeeks(raw: string | undefined): number {
  if (raw === undefined) return 52;
  const n = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_WEEKS))
    throw new UsageError(`${NAME}: --weeks wants a whole number from 1 to ${MAX_WEEKS}, got "${raw}"`);
  return n;
}

export const runOutboundSimulate = command(OUTBOUND_SIMULATE, async (args, io) => {
  const { values } = flags(OUTBOUND_SIMULATE, args);
  const weeks = parseWeeks(values.weeks);
  const from = values.from === undefined ? weekOf(Date.now()) : parseWeek(values.from);
  if (!from) throw new UsageError(`${NAME}: --from ${values.from} is not ${WEEK_FORMAT}`);
  const dir = values.rules ?? process.env.RULES_DIR ?? 'rules';
  const loaded = await loadRuleSet(dir);
  if (!loaded.ok) {
    for (const issue of loaded.errors) io.stderr.write(`${formatIssue({ ...issue, file: join(dir, issue.file) })}\n`);
    io.stderr.write(`${NAME}: ${dir}: ${loaded.errors.length} error(s); fix them (nextbest rules validate ${dir})\n`);
    return 1;
  }
  const profiles = new MemoryProfileStore();
  let rejectedLines = 0;
  if (values.profiles === undefined) await profiles.putMany(generateProfiles(DEMO));
  else {
    const report = await loadProfileFile(values.profiles, profiles).catch((err: Error) => err);
    if (report instanceof Error) return fail(io, `cannot read ${values.profiles}: ${report.message}`);
    rejectedLines = report.rejectedLines;
    if (rejectedLines > 0) io.stderr.write(`${NAME}: ${num(rejectedLines)} profile lines rejected\n`);
  }
  const p = progress(io);
  p.step(`simulating ${weeks} weeks from ${from.key}`, weeks, 'items');
  const started = performance.now();
  let result: OutboundSimulation;
  try {
    result = await simulateWeeks({
      ruleset: compileRuleSet(loaded.source),
      profiles,
      from,
      weeks,
      onWeek: () => p.add(1),
    });
  } catch (err) {
    if (err instanceof RunRefused) return fail(io, err.message);
    throw err;
  } finally {
    p.done();
  }
  const { rulesetVersion, customers, ...report } = result;
  const doc: Doc = {
    rules: { dir, version: rulesetVersion },
    profiles: { file: values.profiles ?? null, customers, rejectedLines },
    ...report,
    elapsedMs: Math.round(performance.now() - started),
  };
  if (values.html !== undefined) {
    const error = await writeFile(values.html, await page(doc)).catch((err: Error) => err);
    if (error) return fail(io, `cannot write ${values.html}: ${error.message}`);
  }
  io.stdout.write(values.json ? `${JSON.stringify(doc, null, 2)}\n` : text(doc, values.html));
  return 0;
});

const fail = (io: Io, message: string) => {
  io.stderr.write(`${NAME}: ${message}\n`);
  return 1;
};

// ---------------------------------------------------------------------------------------------
// The tables, each a header and rows of text: the terminal pads them, the page makes HTML of them.

interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const rate = (x: number | null) => (x === null ? '–' : num(x, 3));
const every = (x: number | null) => (x === null || x === 0 ? '–' : `${num(1 / x, 1)} wk`);

function frequencyTable(d: Doc): Table {
  const row = (label: string, g: GroupTally) => [
    label,
    num(g.customerWeeks / d.weeks),
    ...d.channels.map((c) => rate(g.perCustomerWeek[c] ?? null)),
    rate(g.perCustomerWeek.all ?? null),
    every(g.perCustomerWeek.all ?? null),
    formatPercent(g.contactedShare),
  ];
  return {
    header: ['phase × segment', 'customers', ...d.channels, 'all', 'one every', 'contacted'],
    rows: [
      ...d.cells.filter((c) => c.customerWeeks > 0).map((c) => row(`${c.lifecyclePhase} × ${c.valueSegment}`, c)),
      ...d.segments.filter((s) => s.customerWeeks > 0).map((s) => row(`all × ${s.valueSegment}`, s)),
      row('all', d.totals),
    ],
  };
}

const capacityTable = (d: Doc): Table => ({
  header: ['channel', 'capacity', 'contacts', 'mean use', 'max use', 'weeks full'],
  rows: d.capacity.map((c) => [
    c.channel,
    c.capacity === null ? 'unlimited' : num(c.capacity),
    num(c.contacts),
    formatPercent(c.meanUse),
    formatPercent(c.maxUse),
    c.capacity === null ? '–' : num(c.weeksAtCapacity),
  ]),
});

const capsTable = (d: Doc): Table => ({
  header: ['contact-policy rule', 'held back', ...d.channels],
  rows: d.capsHit.map((c) => [c.rule, num(c.heldBack), ...d.channels.map((ch) => num(c.byChannel[ch] ?? 0))]),
});

const journeysTable = (d: Doc): Table => ({
  header: ['journey', 'entered', 'left: phase', 'accept', 'complete'],
  rows: d.journeys.map((j) => [
    j.journey,
    ...[j.entered, j.exited.phase, j.exited.accept, j.exited.complete].map((n) => num(n)),
  ]),
});

function pad(t: Table): string[] {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(t.header), ...t.rows.map(line)];
}

function summary(d: Doc): string {
  const t = d.totals;
  const accepts = Object.values(t.accepts).reduce((a, b) => a + b, 0);
  return (
    `${num(Object.values(t.contacts).reduce((a, b) => a + b, 0))} contacts to ${num(t.contacted)} of ${num(t.customers)} customers ` +
    `(${formatPercent(t.contactedShare)}); ${num(accepts)} accepts simulated; ${num(t.heldOut)} held out (control group), ` +
    `${num(t.unsent)} due but not contacted, ${num(t.noConsent)} due steps without the channel's consent`
  );
}

function text(d: Doc, html: string | undefined): string {
  const who = d.profiles.file ?? 'the demo population';
  return `${[
    `${d.weeks} weeks ${d.from} – ${d.to}, ${num(d.profiles.customers)} customers (${who}), rules ${d.rules.version} (${d.rules.dir}); ${seconds(d.elapsedMs)}${html ? `; HTML report in ${html}` : ''}`,
    summary(d),
    '',
    'contacts per customer per week, by lifecycle phase × value segment (customers: the mean a week; contacted: at least once in the weeks)',
    ...pad(frequencyTable(d)),
    '',
    'capacity a week, and how much of it the contacts used',
    ...pad(capacityTable(d)),
    '',
    'due offers held back by contact policy',
    ...(d.capsHit.length === 0 ? ['  none'] : pad(capsTable(d))),
    '',
    'journeys entered and left (by reason)',
    ...pad(journeysTable(d)),
    '',
    'assumptions:',
    ...d.assumptions.map((a) => `  - ${a}`),
  ].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// The page: the contact-frequency picture, the channels against their capacity, the tables.

function frequencySpec(d: Doc): TopLevelSpec {
  const values = d.weekly.flatMap((w) =>
    d.segments.flatMap(({ valueSegment }) => {
      const cells = w.cells.filter((c) => c.valueSegment === valueSegment);
      const customers = cells.reduce((n, c) => n + c.customers, 0);
      const contacts = cells.reduce((n, c) => n + Object.values(c.contacts).reduce((a, b) => a + b, 0), 0);
      return customers === 0 ? [] : [{ week: w.sendDate, valueSegment, perCustomer: contacts / customers }];
    }),
  );
  const segments = d.segments.map((s) => s.valueSegment);
  return {
    title: 'contacts per customer, week by week, by value segment',
    width: 640,
    height: 280,
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: { size: 18 } },
    encoding: {
      x: { field: 'week', type: 'temporal', title: 'week (its Monday)' },
      y: { field: 'perCustomer', type: 'quantitative', title: 'contacts per customer that week' },
      color: { field: 'valueSegment', type: 'nominal', sort: segments, title: 'value segment' },
    },
  } as TopLevelSpec;
}

function channelSpec(d: Doc): TopLevelSpec {
  const values = d.weekly.flatMap((w) =>
    d.channels.map((channel) => ({
      week: w.sendDate,
      channel,
      contacts: w.contacts[channel],
      capacity: w.capacity[channel],
    })),
  );
  const x = { field: 'week', type: 'temporal', title: 'week (its Monday)' } as const;
  return {
    title: 'contacts a week by channel, against its capacity (dashed)',
    data: { values },
    facet: { row: { field: 'channel', type: 'nominal', sort: [...d.channels], title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 640,
      height: 110,
      layer: [
        {
          mark: { type: 'bar', color: '#1f77b4' },
          encoding: { x, y: { field: 'contacts', type: 'quantitative', title: 'contacts' } },
        },
        {
          transform: [{ filter: 'datum.capacity != null' }],
          mark: { type: 'line', color: '#d62728', strokeDash: [4, 4] },
          encoding: { x, y: { field: 'capacity', type: 'quantitative' } },
        },
      ],
    },
  } as TopLevelSpec;
}

async function page(d: Doc): Promise<string> {
  const html = (t: Table) => htmlTable(t.header, t.rows);
  return htmlPage(
    'Outbound journeys: contact frequency over time',
    [
      `<p class="meta">${escapeHtml(`${text(d, undefined).split('\n').slice(0, 2).join('. ')}.`)}</p>`,
      figure(
        await chartSvg(frequencySpec(d)),
        'Contacts per customer each week, one line per value segment, all phases and channels together: the contact frequency each segment gets. Peaks are journeys sending to many customers in the same week; a line near zero is a segment the journeys leave alone.',
        'frequency',
      ),
      figure(
        await chartSvg(channelSpec(d)),
        "Contacts sent each week on each channel; the dashed line is the channel's capacity. Bars that reach the line are weeks the channel was full and the contacts worth least were left out.",
        'channels',
      ),
      '<h2>Contacts per customer per week, by lifecycle phase × value segment</h2>',
      html(frequencyTable(d)),
      '<h2>Capacity use</h2>',
      html(capacityTable(d)),
      '<h2>Due offers held back by contact policy</h2>',
      d.capsHit.length === 0 ? '<p>None.</p>' : html(capsTable(d)),
      '<h2>Journeys entered and left</h2>',
      html(journeysTable(d)),
      '<h2>Assumptions</h2>',
      `<ul>${d.assumptions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`,
    ].join('\n'),
  );
}
