/**
 * What the commands that read an NDJSON file share: opening it (or stdin), its size for the
 * progress, the rejected lines listed by number, and the transactions read into customer
 * histories with the checks `portfolio` and `profiles build` both make (--strict, a stale --as-of).
 */
import { fstatSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  type CustomerHistory,
  DAY_MS,
  formatDay,
  type HistoryReport,
  type LineError,
  RejectedLinesError,
  readHistoriesFromStream,
} from '../offline/analytics/index.js';
import { num, plural } from './format.js';
import type { Io } from './io.js';
import type { Progress } from './progress.js';

export interface Input {
  readonly stream: NodeJS.ReadableStream;
  /** bytes, when known: a file, or stdin redirected from one */
  readonly size: number | undefined;
  /** what messages call it: the path, or stdin */
  readonly name: string;
  close(): void;
}

/** A file, or stdin for `-`. Opening first turns a missing file into an error here, not a late stream event. */
export async function openInput(
  file: string,
  options: { readonly encoding?: 'utf8'; readonly highWaterMark?: number } = {},
): Promise<Input> {
  if (file === '-') {
    let size: number | undefined;
    try {
      const s = fstatSync(0);
      if (s.isFile()) size = s.size;
    } catch {
      // no size: the progress counts without a total
    }
    return { stream: process.stdin, size, name: 'stdin', close() {} };
  }
  const handle = await open(file, 'r');
  const size = await handle.stat().then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );
  const stream = handle.createReadStream(options);
  return { stream, size, name: file, close: () => stream.destroy() };
}

/** Rejected lines listed on stderr: enough to find the pattern. */
export const LISTED_LINES = 10;
const ERRORS_PER_LINE = 3;

/** Why a line was refused, on one line: its first few errors. */
const why = (errors: LineError['errors']): string =>
  [
    ...errors.slice(0, ERRORS_PER_LINE).map((e) => `${e.path} ${e.message}`),
    ...(errors.length > ERRORS_PER_LINE ? [`and ${plural(errors.length - ERRORS_PER_LINE, 'more error')}`] : []),
  ].join('; ');

/** The first rejected lines on stderr, `name:line: why`, and how many more there are. */
export function listRejected(name: string, rejectedLines: number, rejected: readonly LineError[], io: Io): void {
  const shown = rejected.slice(0, LISTED_LINES);
  for (const r of shown) io.stderr.write(`${name}:${r.line}: ${why(r.errors)}\n`);
  if (rejectedLines > shown.length)
    io.stderr.write(`… and ${plural(rejectedLines - shown.length, 'more rejected line')}\n`);
}

/** A warning is due when --as-of is more than this many days after the last purchase. */
export const STALE_DAYS = 30;

/** The latest purchase of any customer (epoch ms); NaN when there is none. */
export function lastPurchase(customers: Iterable<CustomerHistory>): number {
  let last = Number.NaN;
  for (const h of customers) if (!Number.isNaN(h.last) && !(h.last <= last)) last = h.last; // NaN-safe: the first sets it
  return last;
}

/**
 * The warning for an as-of day more than STALE_DAYS after the last purchase (a history that ended
 * long ago, measured from today by default), or undefined.
 */
export function staleAsOf(command: string, last: number, asOf: number, asOfGiven: boolean): string | undefined {
  if (Number.isNaN(last)) return undefined;
  const days = Math.floor(asOf / DAY_MS) - Math.floor(last / DAY_MS);
  if (days <= STALE_DAYS) return undefined;
  const lastDay = formatDay(last);
  return (
    `${command}: the last purchase is on ${lastDay}, ${num(days)} days before --as-of ${formatDay(asOf)}` +
    `${asOfGiven ? '' : ' (today, as none was given)'}: recency and CLV are measured from --as-of; ` +
    `pass --as-of ${lastDay} to measure at the end of the history`
  );
}

export interface TransactionsSource {
  /** the command, for messages */
  readonly command: string;
  readonly file: string;
  readonly asOf: number;
  readonly asOfGiven: boolean;
  readonly strict: boolean;
  /** what --strict refusing the file leaves undone: "nothing built" */
  readonly refused: string;
}

const READ_CHUNK_BYTES = 1 << 20;

/**
 * NDJSON transactions into customer histories, with the progress by bytes. Rejected lines are
 * listed by number (with --strict the file is refused, and undefined returned), and a stale --as-of
 * is warned about. Failures are said on stderr; undefined then.
 */
export async function readTransactions(
  s: TransactionsSource,
  progress: Progress,
  io: Io,
): Promise<HistoryReport | undefined> {
  let input: Input | undefined;
  try {
    input = await openInput(s.file, { highWaterMark: READ_CHUNK_BYTES });
    progress.step(`reading ${basename(input.name)}`, input.size, 'bytes');
    const read = await readHistoriesFromStream(progress.bytesOf(input.stream as AsyncIterable<Buffer>), s.asOf, {
      strict: s.strict,
    });
    progress.done();
    listRejected(input.name, read.rejectedLines, read.rejected, io);
    if (read.rejectedLines > 0)
      io.stderr.write(`${s.command}: ${num(read.rejectedLines)} line(s) rejected and skipped\n`);
    const warning = staleAsOf(s.command, lastPurchase(read.customers.values()), s.asOf, s.asOfGiven);
    if (warning) io.stderr.write(`${warning}\n`);
    return read;
  } catch (err) {
    progress.done();
    if (err instanceof RejectedLinesError) {
      listRejected(input?.name ?? s.file, err.rejectedLines, err.rejected, io);
      io.stderr.write(
        `${s.command}: ${num(err.rejectedLines)} line(s) rejected; --strict refuses the file, ${s.refused}\n`,
      );
    } else io.stderr.write(`${s.command}: cannot read ${s.file}: ${(err as Error).message}\n`);
    return undefined;
  } finally {
    input?.close();
  }
}
