import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { endOfDay, formatDay } from '../offline/analytics/timestamps.js';
import {
  type DemoOptions,
  demoTransactionLine,
  iterateDemoTransactions,
  iterateProfiles,
} from '../offline/demo/index.js';

import { parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest demo-data [--customers N] [--seed S] [--out FILE]
       nextbest demo-data --transactions [--customers N] [--seed S] [--as-of DATE] [--out FILE]
  profiles, or with --transactions a 3-year transaction history up to --as-of (a UTC date, default today)
  whose N customers active last year have known segments and retention (src/offline/demo/transactions.ts)
`;
const MAX_CUSTOMERS = 10_000_000;
const LINES_PER_CHUNK = 512; // one write per chunk keeps a million lines from costing a million writes

function parseInteger(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`demo-data: --${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

interface Options extends DemoOptions {
  readonly out: string | undefined;
  /** set with --transactions: the as-of instant (end of the UTC day) */
  readonly transactionsAsOf: number | undefined;
}

function parseOptions(args: string[]): Options {
  const { values } = parseFlags('demo-data', args, {
    customers: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    transactions: { type: 'boolean' },
    'as-of': { type: 'string' },
  });
  if (values.out === '') throw new UsageError('demo-data: --out needs a file name');
  if (values['as-of'] !== undefined && !values.transactions)
    throw new UsageError('demo-data: --as-of goes with --transactions');
  const date = values['as-of'] ?? formatDay(Date.now());
  const asOf = endOfDay(date);
  if (Number.isNaN(asOf)) throw new UsageError(`demo-data: --as-of wants a date YYYY-MM-DD, got "${date}"`);
  return {
    customers: parseInteger('customers', values.customers, 10_000, 1, MAX_CUSTOMERS),
    seed: parseInteger('seed', values.seed, 42, 0, 0xffffffff),
    out: values.out,
    transactionsAsOf: values.transactions ? asOf : undefined,
  };
}

function* ndjsonLines(options: Options): Generator<string> {
  if (options.transactionsAsOf === undefined) {
    for (const profile of iterateProfiles(options)) yield JSON.stringify(profile);
  } else {
    const demo = { customers: options.customers, seed: options.seed, asOf: options.transactionsAsOf };
    for (const t of iterateDemoTransactions(demo)) yield demoTransactionLine(t);
  }
}

function* ndjsonChunks(options: Options): Generator<string> {
  let lines: string[] = [];
  for (const line of ndjsonLines(options)) {
    lines.push(line);
    if (lines.length === LINES_PER_CHUNK) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

/** Writes every chunk, waiting for 'drain' when the stream's buffer is full; a stream error rejects. */
async function writeAll(stream: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  let failure: unknown;
  const onError = (err: unknown): void => {
    failure ??= err;
  };
  stream.on('error', onError);
  try {
    for (const chunk of chunks) {
      if (failure !== undefined) break;
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
  } finally {
    stream.off('error', onError);
  }
  if (failure !== undefined) throw failure;
}

/** `nextbest demo-data`: the synthetic customer base as NDJSON profiles (or, with --transactions, its transactions), one per line. */
export const runDemoData = withUsage(USAGE, async (args, io) => {
  const options = parseOptions(args);
  const { out } = options;
  try {
    if (out === undefined) {
      await writeAll(io.stdout, ndjsonChunks(options));
    } else {
      // Opening first turns a bad path into a rejection here instead of a late 'error' event.
      const handle = await open(out, 'w');
      const file = handle.createWriteStream();
      try {
        await writeAll(file, ndjsonChunks(options));
        file.end();
        await finished(file);
      } catch (err) {
        file.destroy(); // closes the handle too
        throw err;
      }
    }
  } catch (err) {
    io.stderr.write(`demo-data: cannot write ${out ?? 'stdout'}: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
});
