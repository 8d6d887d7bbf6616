/**
 * `nextbest impact`: the effect of the decisions against the control group (definitions in
 * src/offline/impact/impact.ts), from the decision log (files, or the Redis stream) and a
 * transactions file, each read once.
 */
import { writeFile } from 'node:fs/promises';
import { ConfigError, loadRedisEnv } from '../config.js';
import {
  type GroupImpact,
  type ImpactReader,
  type ImpactReport,
  type ImpactSources,
  readImpact,
  UnreachableError,
} from '../offline/impact/index.js';
import { type CommandSpec, command, flags } from './command.js';
import { num, seconds } from './format.js';
import { dayFlag, UsageError } from './io.js';
import { progress } from './progress.js';

const DEFAULT_OUTCOME_DAYS = 90;

export const IMPACT = {
  name: 'impact',
  summary: 'revenue, activity and retention against the control group, with 95 % intervals and CUPED',
  forms: [
    'impact (--decisions FILE|DIR | --redis URL) --transactions FILE [--from DATE] [--to DATE] [--outcome-days N] [--as-of DATE] [--json] [--html FILE]',
  ],
  description:
    "The effect of the decisions against the control group: each customer's first decision in --from..--to " +
    'gives their arm, phase × segment and t0; net revenue, activity and retention over the --outcome-days from ' +
    't0, against the same span before t0 (the CUPED covariate); a customer whose window ends after --as-of is ' +
    'pending. Transactions are {customerId, at, amount, product?}.',
  options: {
    decisions: {
      type: 'string',
      value: 'FILE|DIR',
      help: 'the decision log: an NDJSON file, or every .ndjson file of a folder (or --redis)',
    },
    redis: {
      type: 'string',
      value: 'URL',
      help: 'read the decision log from the Redis stream instead (REDIS_KEY_PREFIX applies)',
    },
    transactions: {
      type: 'string',
      value: 'FILE',
      required: true,
      help: 'the NDJSON transactions: a file, or every .ndjson file of a folder',
    },
    from: {
      type: 'string',
      value: 'DATE',
      default: 'the first decision',
      help: 'the first day of decisions counted, a UTC day YYYY-MM-DD',
    },
    to: {
      type: 'string',
      value: 'DATE',
      default: 'the last decision',
      help: 'the last day of decisions counted, a UTC day YYYY-MM-DD, included',
    },
    'outcome-days': {
      type: 'string',
      value: 'N',
      default: String(DEFAULT_OUTCOME_DAYS),
      help: 'the days from t0 over which the outcome is measured, 1 to 730',
    },
    'as-of': {
      type: 'string',
      value: 'DATE',
      default: 'the latest transaction',
      help: 'the end of the data, a UTC day YYYY-MM-DD: later transactions are left out, windows ending after it are pending',
    },
    json: { type: 'boolean', help: 'the whole report as one JSON document' },
    html: { type: 'string', value: 'FILE', help: 'also write a self-contained HTML report: the charts and the table' },
  },
  examples: [
    'impact --decisions data/decisions --transactions transactions.ndjson --from 2026-01-05 --to 2026-03-31',
    'impact --redis redis://localhost:6379 --transactions transactions.ndjson --json',
  ],
} as const satisfies CommandSpec;

interface Options {
  readonly decisions: string | undefined;
  readonly redis: string | undefined;
  readonly transactions: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly outcomeDays: number;
  /** a UTC day */
  readonly asOf: string | undefined;
  readonly json: boolean;
  readonly html: string | undefined;
}

const day = (flag: string, raw: string | undefined) => dayFlag('impact', flag, raw);

function parseOptions(args: string[]): Options {
  const { values } = flags(IMPACT, args);
  if ((values.decisions === undefined) === (values.redis === undefined))
    throw new UsageError('impact: --decisions FILE|DIR or --redis URL, one of them');
  const outcomeDays = Number(values['outcome-days'] ?? DEFAULT_OUTCOME_DAYS);
  if (!Number.isInteger(outcomeDays) || outcomeDays < 1 || outcomeDays > 730)
    throw new UsageError(`impact: --outcome-days wants a whole number of days 1–730, got "${values['outcome-days']}"`);
  const from = day('from', values.from);
  const to = day('to', values.to);
  if (from && to && from > to) throw new UsageError(`impact: --from ${from} is after --to ${to}`);
  const asOf = day('as-of', values['as-of']);
  return {
    decisions: values.decisions,
    redis: values.redis,
    transactions: values.transactions,
    from,
    to,
    outcomeDays,
    asOf,
    json: values.json === true,
    html: values.html,
  };
}

const money = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
const points = (n: number | null | undefined) =>
  n === null || n === undefined
    ? '–'
    : `${(Math.round(n * 1000) / 10 + 0).toLocaleString('en-US', { maximumFractionDigits: 1 })}`;
const interval = (e: { difference: number; ciLow: number; ciHigh: number } | null, f: (n: number) => string) =>
  e === null ? '–' : `${f(e.difference)} [${f(e.ciLow)}, ${f(e.ciHigh)}]`;

function table(report: ImpactReport, elapsedMs: number, html: string | undefined): string {
  const out: string[] = [
    `decisions ${report.window.from?.slice(0, 10) ?? '–'} – ${report.window.to?.slice(0, 10) ?? '–'}, outcome over ${num(report.window.outcomeDays)} days, as of ${report.window.asOf?.slice(0, 10) ?? '–'}`,
    `customers: ${num(report.customers)} decided, ${num(report.measured)} measured, ${num(report.pending)} pending (window not ended)`,
  ];
  for (const c of report.comparisons) {
    const [first, second] = c.name.split('-vs-') as [string, string];
    out.push(
      '',
      `${c.name}: differences are ${first} − ${second}, 95 % intervals in brackets; activity in points`,
      [
        'group'.padEnd(18),
        `${first}`.padStart(10),
        `${second}`.padStart(9),
        'revenue/customer'.padStart(28),
        'with CUPED'.padStart(28),
        'active'.padStart(22),
        'p (Holm)'.padStart(9),
      ].join(' '),
    );
    for (const g of c.groups) out.push(row(g, first, second));
  }
  out.push(
    '',
    `read ${num(report.decisions)} decisions and ${num(report.transactions)} transactions in ${seconds(elapsedMs)}` +
      (html === undefined ? '' : `; HTML report in ${html}`),
  );
  return `${out.join('\n')}\n`;
}

function row(g: GroupImpact, first: string, second: string): string {
  const p = g.revenuePerCustomer;
  const pText = p === null ? '–' : (p.pValueHolm ?? p.pValue).toFixed(3);
  const cells = [
    `${g.lifecyclePhase} × ${g.valueSegment}`.padEnd(18),
    num(g.arms[first]?.customers ?? 0).padStart(10),
    num(g.arms[second]?.customers ?? 0).padStart(9),
    interval(p, money).padStart(28),
    interval(g.revenuePerCustomerCuped, money).padStart(28),
    interval(g.activeRate, points).padStart(22),
    pText.padStart(9),
  ];
  return cells.join(' ') + (g.note ? `  (${g.note})` : '');
}

/** The Redis stream at `url` (REDIS_KEY_PREFIX applies). */
function redisSource(url: string): ImpactSources['decisions'] {
  try {
    const env = loadRedisEnv({ ...process.env, REDIS_URL: url, REDIS_CLUSTER_NODES: '' });
    return { redis: { url: env.REDIS_URL }, prefix: env.REDIS_KEY_PREFIX };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** `nextbest impact`. */
export const runImpact = command(IMPACT, async (args, io) => {
  const o = parseOptions(args);
  const started = performance.now();
  const decisions = o.redis !== undefined ? redisSource(o.redis) : { path: o.decisions! };
  const p = progress(io);
  let reader: ImpactReader;
  try {
    reader = await readImpact(
      {
        decisions,
        transactions: o.transactions,
        from: o.from,
        to: o.to,
        outcomeDays: o.outcomeDays,
        asOf: o.asOf,
      },
      p,
    );
  } catch (err) {
    p.done();
    const what = err instanceof UnreachableError ? '' : 'cannot read its input: ';
    io.stderr.write(`impact: ${what}${(err as Error).message}\n`);
    return 1;
  }
  p.step('measuring');
  const report = reader.result();
  p.done();
  for (const [what, s] of Object.entries(report.skipped))
    if (s.lines > 0) io.stderr.write(`impact: ${num(s.lines)} ${what} line(s) passed over: ${s.first.join('; ')}\n`);
  if (o.html !== undefined) {
    const { impactHtml } = await import('../offline/impact/html.js');
    try {
      await writeFile(o.html, await impactHtml(report, reader.cumulative()));
    } catch (err) {
      io.stderr.write(`impact: cannot write ${o.html}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  io.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : table(report, performance.now() - started, o.html));
  return 0;
});
