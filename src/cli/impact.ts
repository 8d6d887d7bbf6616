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
import { dayFlag, parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest impact (--decisions FILE|DIR | --redis URL) --transactions FILE
                       [--from DATE] [--to DATE] [--outcome-days N] [--as-of DATE] [--json] [--html FILE]
  the effect of the decisions against the control group: each customer's first decision in
  --from..--to (UTC days, both included; default all) gives their arm, phase × segment and t0;
  net revenue, activity and retention over the --outcome-days (default 90) from t0, against
  the same span before t0 (the CUPED covariate); a customer whose window ends after --as-of
  (default: the latest transaction) is pending. Decisions: decision-log NDJSON (a file, or every
  .ndjson file of a folder) or the Redis stream; transactions: {customerId, at, amount, product?}.
  --html FILE also writes a self-contained HTML report: the charts and the table`;

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
  const { values } = parseFlags('impact', args, {
    decisions: { type: 'string' },
    redis: { type: 'string' },
    transactions: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'outcome-days': { type: 'string' },
    'as-of': { type: 'string' },
    json: { type: 'boolean' },
    html: { type: 'string' },
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
export const runImpact = withUsage(USAGE, async (args, io) => {
  const o = parseOptions(args);
  let reader: ImpactReader;
  try {
    reader = await readImpact({
      decisions: o.redis !== undefined ? redisSource(o.redis) : { path: o.decisions! },
      transactions: o.transactions,
      from: o.from,
      to: o.to,
      outcomeDays: o.outcomeDays,
      asOf: o.asOf,
    });
  } catch (err) {
    const what = err instanceof UnreachableError ? '' : 'cannot read its input: ';
    io.stderr.write(`impact: ${what}${(err as Error).message}\n`);
    return 1;
  }
  const report = reader.result();
  for (const [what, s] of Object.entries(report.skipped))
    if (s.lines > 0) io.stderr.write(`impact: ${s.lines} ${what} line(s) passed over: ${s.first.join('; ')}\n`);
  if (o.html !== undefined) {
    const { impactHtml } = await import('../offline/impact/html.js');
    try {
      await writeFile(o.html, await impactHtml(report, reader.cumulative()));
    } catch (err) {
      io.stderr.write(`impact: cannot write ${o.html}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  io.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  return 0;
});
