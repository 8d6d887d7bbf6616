/**
 * `nextbest impact`: the effect of the decisions against the control group (definitions in
 * src/offline/impact/impact.ts), from the decision log (files, or the Redis stream) and a
 * transactions file, each read once.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { endOfDay, forEachLine } from '../offline/analytics/index.js';
import { type GroupImpact, ImpactReader, type ImpactReport } from '../offline/impact/index.js';
import { redisRecords, UnreachableError } from './decisions.js';
import { parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest impact (--decisions FILE|DIR | --redis URL) --transactions FILE
                       [--from DATE] [--to DATE] [--outcome-days N] [--as-of DATE] [--json]
  the effect of the decisions against the control group: each customer's first decision in
  --from..--to (UTC days, both included; default all) gives their arm, phase × segment and t0;
  net revenue, activity and retention over the --outcome-days (default 90) from t0, against
  the same span before t0 (the CUPED covariate); a customer whose window ends after --as-of
  (default: the latest transaction) is pending. Decisions: decision-log NDJSON (a file, or every
  .ndjson file of a folder) or the Redis stream; transactions: {customerId, at, amount, product?}`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const READ_CHUNK_BYTES = 1 << 20;

interface Options {
  readonly decisions: string | undefined;
  readonly redis: string | undefined;
  readonly transactions: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly outcomeDays: number;
  readonly asOf: number | undefined;
  readonly json: boolean;
}

function day(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!DAY.test(raw) || Number.isNaN(Date.parse(raw)))
    throw new UsageError(`impact: --${flag} wants a date YYYY-MM-DD, got "${raw}"`);
  return raw;
}

function parseOptions(args: string[]): Options {
  const { values } = parseFlags('impact', args, {
    decisions: { type: 'string' },
    redis: { type: 'string' },
    transactions: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'outcome-days': { type: 'string' },
    'as-of': { type: 'string' },
    json: { type: 'boolean' },
  });
  if ((values.decisions === undefined) === (values.redis === undefined))
    throw new UsageError('impact: --decisions FILE|DIR or --redis URL, one of them');
  if (!values.transactions) throw new UsageError('impact: --transactions FILE is required');
  const outcomeDays = Number(values['outcome-days'] ?? 90);
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
    asOf: asOf === undefined ? undefined : endOfDay(asOf),
    json: values.json === true,
  };
}

/** The decision-log files to read: the file, or the folder's .ndjson files by name (the log's are by day). */
async function decisionFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  return (await readdir(path))
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .map((f) => join(path, f));
}

async function readFile(path: string, line: (text: string) => void): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await forEachLine(handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, autoClose: false }), line, () =>
      line('-'),
    );
  } finally {
    await handle.close();
  }
}

const money = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
const points = (n: number | null | undefined) =>
  n === null || n === undefined
    ? '–'
    : `${(Math.round(n * 1000) / 10 + 0).toLocaleString('en-US', { maximumFractionDigits: 1 })}`;
const interval = (e: { difference: number; ciLow: number; ciHigh: number } | null, f: (n: number) => string) =>
  e === null ? '–' : `${f(e.difference)} [${f(e.ciLow)}, ${f(e.ciHigh)}]`;

function table(report: ImpactReport): string {
  const out: string[] = [
    `decisions ${report.window.from?.slice(0, 10) ?? '–'} – ${report.window.to?.slice(0, 10) ?? '–'}, outcome over ${report.window.outcomeDays} days, as of ${report.window.asOf?.slice(0, 10) ?? '–'}`,
    `customers: ${report.customers.toLocaleString('en-US')} decided, ${report.measured.toLocaleString('en-US')} measured, ${report.pending.toLocaleString('en-US')} pending (window not ended)`,
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
  return `${out.join('\n')}\n`;
}

function row(g: GroupImpact, first: string, second: string): string {
  const p = g.revenuePerCustomer;
  const pText = p === null ? '–' : (p.pValueHolm ?? p.pValue).toFixed(3);
  const cells = [
    `${g.lifecyclePhase} × ${g.valueSegment}`.padEnd(18),
    String(g.arms[first]?.customers ?? 0).padStart(10),
    String(g.arms[second]?.customers ?? 0).padStart(9),
    interval(p, money).padStart(28),
    interval(g.revenuePerCustomerCuped, money).padStart(28),
    interval(g.activeRate, points).padStart(22),
    pText.padStart(9),
  ];
  return cells.join(' ') + (g.note ? `  (${g.note})` : '');
}

/** `nextbest impact`. */
export const runImpact = withUsage(USAGE, async (args, io) => {
  const o = parseOptions(args);
  const reader = new ImpactReader({
    from: o.from ? Date.parse(o.from) : Number.NEGATIVE_INFINITY,
    to: o.to ? endOfDay(o.to) : Number.POSITIVE_INFINITY,
    outcomeDays: o.outcomeDays,
    asOf: o.asOf,
  });
  try {
    if (o.redis !== undefined) for await (const json of redisRecords(o.redis, o.from, o.to)) reader.decision(json);
    else for (const file of await decisionFiles(o.decisions!)) await readFile(file, (t) => reader.decision(t));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const what = err instanceof UnreachableError ? '' : `cannot read ${o.decisions}: `;
    io.stderr.write(`impact: ${what}${(err as Error).message}\n`);
    return 1;
  }
  try {
    await readFile(o.transactions, (t) => reader.transaction(t));
  } catch (err) {
    io.stderr.write(`impact: cannot read ${o.transactions}: ${(err as Error).message}\n`);
    return 1;
  }
  const report = reader.result();
  for (const [what, s] of Object.entries(report.skipped))
    if (s.lines > 0) io.stderr.write(`impact: ${s.lines} ${what} line(s) passed over: ${s.first.join('; ')}\n`);
  io.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  return 0;
});
