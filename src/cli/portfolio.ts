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
import { open, writeFile } from 'node:fs/promises';
import type { HistoryReport, LineError, Portfolio } from '../offline/analytics/index.js';
import {
  endOfDay,
  formatDay,
  formatNumber,
  MAX_DURATION_YEARS,
  portfolio,
  portfolioTable,
  RejectedLinesError,
  readHistoriesFromStream,
} from '../offline/analytics/index.js';
import { type Io, parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest portfolio --transactions FILE [--as-of DATE] [--json] [--strict] [--html FILE]
  the customer portfolio from NDJSON transactions {customerId, at, amount, product?} (FILE, or - for stdin):
  customer flows and, per value segment, revenue per customer, retention, duration and CLV.
  This year = the 365 days up to --as-of (a UTC date, default today), last year = the 365 before.
  --strict refuses the whole file when a line is bad (default: bad lines are reported and skipped);
  --html FILE also writes a self-contained HTML report: the charts and the table`;

/** Bad lines shown on stderr: enough to find the pattern. */
const REPORTED_LINES = 10;
const READ_CHUNK_BYTES = 1 << 20;

interface Options {
  readonly file: string;
  readonly asOf: number;
  readonly json: boolean;
  readonly strict: boolean;
  readonly html: string | undefined;
}

function parseOptions(args: string[]): Options {
  const { values } = parseFlags('portfolio', args, {
    transactions: { type: 'string' },
    'as-of': { type: 'string' },
    json: { type: 'boolean' },
    strict: { type: 'boolean' },
    html: { type: 'string' },
  });
  if (!values.transactions) throw new UsageError('portfolio: --transactions FILE is required (- for stdin)');
  const date = values['as-of'] ?? formatDay(Date.now());
  const asOf = endOfDay(date);
  if (Number.isNaN(asOf)) throw new UsageError(`portfolio: --as-of wants a date YYYY-MM-DD, got "${date}"`);
  return {
    file: values.transactions,
    asOf,
    json: values.json === true,
    strict: values.strict === true,
    html: values.html,
  };
}

/** Opening first turns a missing file into an error here, not a late stream event. */
async function openInput(file: string): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>> {
  if (file === '-') return process.stdin;
  return (await open(file, 'r')).createReadStream({ highWaterMark: READ_CHUNK_BYTES });
}

function reportRejected(file: string, rejectedLines: number, rejected: readonly LineError[], io: Io): void {
  const shown = rejected.slice(0, REPORTED_LINES);
  for (const r of shown) for (const e of r.errors) io.stderr.write(`${file}:${r.line}: ${e.path} ${e.message}\n`);
  if (rejectedLines > shown.length) io.stderr.write(`… and ${rejectedLines - shown.length} more rejected lines\n`);
}

/** `nextbest portfolio`: streams the transactions into per-customer histories and prints the portfolio. */
export const runPortfolio = withUsage(USAGE, async (args, io) => {
  const options = parseOptions(args);
  const { file, asOf, strict } = options;
  const started = performance.now();
  let read: HistoryReport;
  let input: (NodeJS.ReadableStream & AsyncIterable<Buffer>) | undefined;
  try {
    input = await openInput(file);
    read = await readHistoriesFromStream(input, asOf, { strict });
  } catch (err) {
    if (err instanceof RejectedLinesError) {
      reportRejected(file, err.rejectedLines, err.rejected, io);
      io.stderr.write(
        `portfolio: ${err.rejectedLines} line(s) rejected; --strict refuses the file, nothing computed\n`,
      );
    } else {
      io.stderr.write(`portfolio: cannot read ${file}: ${(err as Error).message}\n`);
    }
    return 1;
  } finally {
    if (input && input !== process.stdin) (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
  }
  const document = portfolio(read.customers.values(), asOf);
  const seconds = (performance.now() - started) / 1e3;
  reportRejected(file, read.rejectedLines, read.rejected, io);
  if (read.rejectedLines > 0) io.stderr.write(`portfolio: ${read.rejectedLines} line(s) rejected and skipped\n`);
  if (options.html !== undefined) {
    const { portfolioHtml } = await import('../offline/report/portfolio.js');
    try {
      await writeFile(options.html, await portfolioHtml(document, file === '-' ? 'stdin' : file));
    } catch (err) {
      io.stderr.write(`portfolio: cannot write ${options.html}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  if (options.json) io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else io.stdout.write(renderPortfolio(document, { ...read, seconds, file }));
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
  readonly seconds: number;
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
    `${num(info.transactions)} transactions from ${source} in ${info.seconds.toFixed(1)} s`,
    ...(info.ignoredAfterAsOf > 0 ? [`${num(info.ignoredAfterAsOf)} after the as-of date ignored`] : []),
    ...(info.rejectedLines > 0 ? [`${num(info.rejectedLines)} lines rejected`] : []),
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
