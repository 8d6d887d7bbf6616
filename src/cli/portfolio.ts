/**
 * `nextbest portfolio`: the customer-portfolio table from NDJSON transactions (definitions in
 * src/offline/analytics/portfolio.ts and transactions.ts).
 *
 * `--json` prints exactly the contract's document:
 *   { asOf, flows: { activeAtStart, retained, lost, regained, new, activeAtEnd },
 *     segments: [{ segment, customers, share, revenuePerCustomerPerYear, retention, duration,
 *                  clv, clvIndex, clvTotal }],      // super, top, middle, bottom
 *     total: { customers, retention, duration, clv, portfolioValue } }
 * with numbers at full precision (shares and retention as fractions 0–1, duration in years,
 * money in the transactions' currency) and null where a figure is undefined.
 */
import { writeFile } from 'node:fs/promises';
import type { Portfolio } from '../offline/analytics/index.js';
import {
  endOfDay,
  formatDay,
  formatNumber,
  MAX_DURATION_YEARS,
  portfolio,
  portfolioTable,
} from '../offline/analytics/index.js';
import { type CommandSpec, command, flags } from './command.js';
import { seconds } from './format.js';
import { readTransactions } from './input.js';
import { UsageError } from './io.js';
import { progress } from './progress.js';

export const PORTFOLIO = {
  name: 'portfolio',
  summary: 'customer flows, value segments, retention and CLV from NDJSON transactions',
  description:
    'The customer portfolio from NDJSON transactions {customerId, at, amount, product?}: customer flows and, ' +
    'per value segment, revenue per customer, retention, duration and CLV. This year = the 365 days up to ' +
    '--as-of, last year = the 365 before. Bad lines are listed by number and skipped; a warning says when ' +
    '--as-of is more than 30 days after the last purchase.',
  options: {
    transactions: { type: 'string', value: 'FILE', required: true, help: 'the NDJSON transactions; - for stdin' },
    'as-of': {
      type: 'string',
      value: 'DATE',
      default: 'today, UTC',
      help: 'the last day of "this year", a UTC day YYYY-MM-DD; later transactions are left out',
    },
    json: {
      type: 'boolean',
      help: "print the contract's JSON document (full precision, shares as fractions) instead of the table",
    },
    strict: {
      type: 'boolean',
      help: 'refuse the whole file when a line is bad: the bad lines are listed by number and nothing is computed (default: listed and skipped)',
    },
    html: {
      type: 'string',
      value: 'FILE',
      help: 'also write a self-contained HTML report: the charts and the table',
    },
  },
  examples: [
    'portfolio --transactions transactions.ndjson --as-of 2026-03-01',
    'portfolio --transactions transactions.ndjson --json --html portfolio.html',
  ],
} as const satisfies CommandSpec;

interface Options {
  readonly file: string;
  readonly asOf: number;
  readonly asOfGiven: boolean;
  readonly json: boolean;
  readonly strict: boolean;
  readonly html: string | undefined;
}

function parseOptions(args: string[]): Options {
  const { values } = flags(PORTFOLIO, args);
  if (values.html === '') throw new UsageError('portfolio: --html needs a file name');
  const date = values['as-of'] ?? formatDay(Date.now());
  const asOf = endOfDay(date);
  if (Number.isNaN(asOf)) throw new UsageError(`portfolio: --as-of wants a date YYYY-MM-DD, got "${date}"`);
  return {
    file: values.transactions,
    asOf,
    asOfGiven: values['as-of'] !== undefined,
    json: values.json === true,
    strict: values.strict === true,
    html: values.html,
  };
}

/** `nextbest portfolio`: streams the transactions into per-customer histories and prints the portfolio. */
export const runPortfolio = command(PORTFOLIO, async (args, io) => {
  const options = parseOptions(args);
  const { file, asOf, strict } = options;
  const started = performance.now();
  const p = progress(io);
  const read = await readTransactions(
    { command: 'portfolio', file, asOf, asOfGiven: options.asOfGiven, strict, refused: 'nothing computed' },
    p,
    io,
  );
  if (read === undefined) return 1;
  const document = portfolio(read.customers.values(), asOf);
  if (options.html !== undefined) {
    const { portfolioHtml } = await import('../offline/report/portfolio.js');
    try {
      await writeFile(options.html, await portfolioHtml(document, file === '-' ? 'stdin' : file));
    } catch (err) {
      io.stderr.write(`portfolio: cannot write ${options.html}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const elapsedMs = performance.now() - started;
  if (options.json) io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else io.stdout.write(renderPortfolio(document, { ...read, elapsedMs, file, html: options.html }));
  return 0;
});

// ---------------------------------------------------------------------------------------------
// The table: what a CRM manager puts on a slide. Segments as rows, units in the headers.

const DAY_BEFORE = (date: string, days: number): string => formatDay(Date.parse(date) - days * 86_400_000);
const num = formatNumber;

export interface RenderInfo {
  readonly file: string;
  readonly transactions: number;
  readonly ignoredAfterAsOf: number;
  readonly rejectedLines: number;
  readonly elapsedMs: number;
  /** the HTML report written beside, if any */
  readonly html?: string | undefined;
}

export function renderPortfolio(p: Portfolio, info: RenderInfo): string {
  const { flows } = p;
  const table = portfolioTable(p);
  const { header } = table;
  const rows = [...table.rows, table.total];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('   ')
      .trimEnd();
  const rule = '-'.repeat(line(header).length);
  const source = info.file === '-' ? 'stdin' : info.file;
  const notes = [
    `${num(info.transactions)} transactions from ${source} in ${seconds(info.elapsedMs)}`,
    ...(info.ignoredAfterAsOf > 0 ? [`${num(info.ignoredAfterAsOf)} after the as-of date ignored`] : []),
    ...(info.rejectedLines > 0 ? [`${num(info.rejectedLines)} lines rejected`] : []),
    ...(info.html !== undefined ? [`HTML report in ${info.html}`] : []),
  ];
  const flowWidth = Math.max(...[flows.activeAtStart, flows.activeAtEnd].map((n) => num(n).length));
  return [
    `Customer portfolio as of ${p.asOf}`,
    `this year ${DAY_BEFORE(p.asOf, 364)} – ${p.asOf}, last year ${DAY_BEFORE(p.asOf, 729)} – ${DAY_BEFORE(p.asOf, 365)}; ${notes.join('; ')}`,
    '',
    line(header),
    rule,
    ...rows.slice(0, -1).map(line),
    rule,
    line(rows[rows.length - 1]!),
    '',
    'customer flows, last year → this year (active = a purchase in the year)',
    `  active at start  ${num(flows.activeAtStart).padStart(flowWidth)} = retained ${num(flows.retained)} + lost ${num(flows.lost)}`,
    `  active at end    ${num(flows.activeAtEnd).padStart(flowWidth)} = retained ${num(flows.retained)} + regained ${num(flows.regained)} + new ${num(flows.new)}`,
    '',
    "money in the transactions' currency; retention = share of last year's segment still active this year;",
    `duration = 1 / (1 − retention), at most ${MAX_DURATION_YEARS} years; CLV = revenue/customer/yr × duration; CLV index = CLV / bottom CLV`,
    '',
  ].join('\n');
}
