import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, loadRedisEnv } from '../config.js';
import { logFiles } from '../decision-log/file.js';
import { redisLogRecords } from '../decision-log/stream-read.js';
import { dayFlag, type Io, parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest decisions export [--from DATE] [--to DATE] [--dir DIR | --redis URL]
  the decision log as NDJSON records, oldest first: the memory store's files in DIR (default
  DECISION_LOG_DIR, else ./data/decisions), or the Redis stream (REDIS_URL and REDIS_KEY_PREFIX
  apply); --from and --to are UTC days, both included`;

interface Options {
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly dir: string;
  readonly redis: string | undefined;
}

const day = (flag: string, raw: string | undefined) => dayFlag('decisions export', flag, raw);

function parseOptions(args: string[]): Options {
  const [sub, ...rest] = args;
  if (sub !== 'export')
    throw new UsageError(sub === undefined ? 'decisions: name a subcommand' : `decisions: unknown subcommand "${sub}"`);
  const { values } = parseFlags('decisions export', rest, {
    from: { type: 'string' },
    to: { type: 'string' },
    dir: { type: 'string' },
    redis: { type: 'string' },
  });
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

/** The files of the days asked for, line by line as they are (each a record). */
async function fromFiles(o: Options, io: Io): Promise<number> {
  let files: Awaited<ReturnType<typeof logFiles>>;
  try {
    files = await logFiles(o.dir);
  } catch (err) {
    io.stderr.write(`decisions export: cannot read ${o.dir}: ${(err as Error).message}\n`);
    return 1;
  }
  for (const f of files) {
    if ((o.from && f.day < o.from) || (o.to && f.day > o.to)) continue;
    const lines = createInterface({ input: createReadStream(join(o.dir, f.name), 'utf8'), crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      try {
        JSON.parse(line);
      } catch {
        // a write cut short (the disk filled up mid-line): said, and passed over
        io.stderr.write(`decisions export: ${f.name}:${n}: not a record, passed over\n`);
        continue;
      }
      await emit(io, line);
    }
  }
  return 0;
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

/** The stream, each decision once. */
async function fromRedis(o: Options, io: Io): Promise<number> {
  try {
    for await (const json of redisRecords(o.redis!, o.from, o.to)) await emit(io, json);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.stderr.write(`decisions export: ${(err as Error).message}\n`);
    return 1;
  }
}

/** `nextbest decisions export`: the decision log as NDJSON, from files or from the Redis stream. */
export const runDecisions = withUsage(USAGE, async (args, io) => {
  const o = parseOptions(args);
  return o.redis !== undefined ? fromRedis(o, io) : fromFiles(o, io);
});
