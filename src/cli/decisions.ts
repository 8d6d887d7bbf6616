import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, loadRedisEnv } from '../config.js';
import { logFiles } from '../decision-log/file.js';
import { redisLogRecords } from '../decision-log/stream-read.js';
import { type CommandSpec, command, flags } from './command.js';
import { plural, seconds } from './format.js';
import { dayFlag, type Io, UsageError, writeSummary } from './io.js';
import { type Progress, progress } from './progress.js';

export const DECISIONS_EXPORT = {
  name: 'decisions export',
  summary: 'the decision log as NDJSON records, oldest first (files or the Redis stream)',
  forms: ['decisions export [--from DATE] [--to DATE] [--dir DIR | --redis URL]'],
  description:
    "The decision log as NDJSON records on stdout, oldest first: the memory store's files, or the Redis stream. " +
    'A line that is not a record (a write cut short) is said on stderr and passed over.',
  options: {
    from: {
      type: 'string',
      value: 'DATE',
      default: 'the first day logged',
      help: 'the first day exported, a UTC day YYYY-MM-DD',
    },
    to: {
      type: 'string',
      value: 'DATE',
      default: 'the last day logged',
      help: 'the last day exported, a UTC day YYYY-MM-DD, included',
    },
    dir: {
      type: 'string',
      value: 'DIR',
      default: 'DECISION_LOG_DIR, else ./data/decisions',
      help: "the memory store's decision-log folder",
    },
    redis: {
      type: 'string',
      value: 'URL',
      help: 'read the Redis stream at URL instead of files (REDIS_KEY_PREFIX applies)',
    },
  },
  examples: [
    'decisions export --from 2026-03-01 --to 2026-03-31 > march.ndjson',
    'decisions export --redis redis://localhost:6379 | gzip > decisions.ndjson.gz',
  ],
} as const satisfies CommandSpec;

interface Options {
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly dir: string;
  readonly redis: string | undefined;
}

const day = (flag: string, raw: string | undefined) => dayFlag('decisions export', flag, raw);

function parseOptions(args: string[]): Options {
  const { values } = flags(DECISIONS_EXPORT, args);
  if (values.dir !== undefined && values.redis !== undefined)
    throw new UsageError('decisions export: --dir or --redis, not both');
  const options = {
    from: day('from', values.from),
    to: day('to', values.to),
    dir: values.dir ?? process.env.DECISION_LOG_DIR ?? './data/decisions',
    redis: values.redis,
  };
  if (options.from && options.to && options.from > options.to)
    throw new UsageError(`decisions export: --from ${options.from} is after --to ${options.to}`);
  return options;
}

/** Writes a line, waiting for the stream to drain when its buffer is full. */
async function emit(io: Io, line: string): Promise<void> {
  if (!io.stdout.write(`${line}\n`)) await once(io.stdout, 'drain');
}

/** The files of the days asked for, line by line as they are (each a record); how many records. */
async function fromFiles(o: Options, io: Io, p: Progress): Promise<number | undefined> {
  let files: Awaited<ReturnType<typeof logFiles>>;
  let sizes: number[];
  try {
    files = (await logFiles(o.dir)).filter((f) => !(o.from && f.day < o.from) && !(o.to && f.day > o.to));
    sizes = await Promise.all(files.map((f) => stat(join(o.dir, f.name)).then((s) => s.size)));
  } catch (err) {
    io.stderr.write(`decisions export: cannot read ${o.dir}: ${(err as Error).message}\n`);
    return undefined;
  }
  p.step(
    `exporting ${plural(files.length, 'file')}`,
    sizes.reduce((a, b) => a + b, 0),
    'bytes',
  );
  let records = 0;
  for (const f of files) {
    const input = createReadStream(join(o.dir, f.name), 'utf8');
    p.watch(input); // before readline starts the stream flowing
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      try {
        JSON.parse(line);
      } catch {
        // a write cut short (the disk filled up mid-line): said, and passed over
        p.say(`decisions export: ${f.name}:${n}: not a record, passed over`);
        continue;
      }
      await emit(io, line);
      records++;
    }
  }
  return records;
}

/** The decision log's Redis stream at `url` (REDIS_KEY_PREFIX applies), each decision once, as record lines. */
function redisRecords(url: string, from: string | undefined, to: string | undefined): AsyncGenerator<string> {
  let env: ReturnType<typeof loadRedisEnv>;
  try {
    env = loadRedisEnv({ ...process.env, REDIS_URL: url, REDIS_CLUSTER_NODES: '' });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  return redisLogRecords({ url: env.REDIS_URL }, env.REDIS_KEY_PREFIX, from, to);
}

/** The stream, each decision once; how many records. */
async function fromRedis(o: Options, io: Io, p: Progress): Promise<number | undefined> {
  const records = redisRecords(o.redis!, o.from, o.to);
  p.step('exporting the decision stream', undefined, 'items');
  let n = 0;
  try {
    for await (const json of records) {
      await emit(io, json);
      n++;
      p.add(1);
    }
    return n;
  } catch (err) {
    p.done();
    io.stderr.write(`decisions export: ${(err as Error).message}\n`);
    return undefined;
  }
}

/** `nextbest decisions export`: the decision log as NDJSON, from files or from the Redis stream. */
export const runDecisionsExport = command(DECISIONS_EXPORT, async (args, io) => {
  const o = parseOptions(args);
  const started = performance.now();
  const p = progress(io);
  let records: number | undefined;
  try {
    records = o.redis !== undefined ? await fromRedis(o, io, p) : await fromFiles(o, io, p);
  } finally {
    p.done();
  }
  if (records === undefined) return 1;
  const source = o.redis !== undefined ? `the Redis stream at ${o.redis}` : o.dir;
  writeSummary(
    io,
    `exported ${plural(records, 'decision')} from ${source} in ${seconds(performance.now() - started)}`,
    true,
  );
  return 0;
});
