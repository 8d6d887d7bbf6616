import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { redisLogRecords, UnreachableError } from '../../decision-log/stream-read.js';
import type { RedisTarget } from '../../redis/index.js';
import { endOfDay, forEachLine } from '../analytics/index.js';
import { ImpactReader, type ImpactReport } from './impact.js';

export { UnreachableError };

/** What an impact report is computed from: plain data, so a worker thread can be handed it. */
export interface ImpactSources {
  /** decision-log NDJSON: a file or a folder of .ndjson files; or the Redis stream */
  readonly decisions: { readonly path: string } | { readonly redis: RedisTarget; readonly prefix: string };
  /** transactions NDJSON: a file or a folder of .ndjson files */
  readonly transactions: string;
  /** UTC days (YYYY-MM-DD), both included; open when absent */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly outcomeDays: number;
  /** a UTC day: transactions after it are left out; default the latest transaction */
  readonly asOf?: string | undefined;
}

const READ_CHUNK_BYTES = 1 << 20;

/** The NDJSON files of a path: the file, or the folder's .ndjson files by name (the decision log's are by day). */
export async function ndjsonFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  return (await readdir(path))
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .map((f) => join(path, f));
}

/** Who follows a read: each source's size, each file's chunks, each record of a stream (the command line's progress bar). */
export interface ReadProgress {
  step(label: string, total?: number, unit?: 'bytes' | 'items'): void;
  bytesOf<T extends string | Buffer>(input: AsyncIterable<T>): AsyncIterable<T>;
  add(n: number): void;
}

const UNFOLLOWED: ReadProgress = { step() {}, bytesOf: (input) => input, add() {} };

/** Each line of a file; an overlong line is passed on as one no reader takes. */
export async function readLines(
  path: string,
  line: (text: string) => void,
  progress: ReadProgress = UNFOLLOWED,
): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const stream = handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, autoClose: false });
    await forEachLine(progress.bytesOf(stream as AsyncIterable<Buffer>), line, () => line('-'));
  } finally {
    await handle.close();
  }
}

/** Each line of the NDJSON files of a path, their bytes counted as one step of the progress. */
async function readAll(path: string, label: string, progress: ReadProgress, line: (text: string) => void) {
  const files = await ndjsonFiles(path);
  const sizes = await Promise.all(files.map((f) => stat(f).then((s) => s.size)));
  progress.step(
    label,
    sizes.reduce((a, b) => a + b, 0),
    'bytes',
  );
  for (const file of files) await readLines(file, line, progress);
}

/** Reads both sources once, as streams, into the report. */
export async function readImpact(s: ImpactSources, progress: ReadProgress = UNFOLLOWED): Promise<ImpactReader> {
  const reader = new ImpactReader({
    from: s.from ? Date.parse(s.from) : Number.NEGATIVE_INFINITY,
    to: s.to ? endOfDay(s.to) : Number.POSITIVE_INFINITY,
    outcomeDays: s.outcomeDays,
    asOf: s.asOf ? endOfDay(s.asOf) : undefined,
  });
  if ('redis' in s.decisions) {
    progress.step('reading the decision stream', undefined, 'items');
    for await (const json of redisLogRecords(s.decisions.redis, s.decisions.prefix, s.from, s.to)) {
      reader.decision(json);
      progress.add(1);
    }
  } else await readAll(s.decisions.path, 'reading the decisions', progress, (t) => reader.decision(t));
  await readAll(s.transactions, 'reading the transactions', progress, (t) => reader.transaction(t));
  return reader;
}

/** The report of the sources. */
export async function impactReport(s: ImpactSources): Promise<ImpactReport> {
  return (await readImpact(s)).result();
}
