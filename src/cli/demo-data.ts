import { once } from 'node:events';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { fileName } from '../decision-log/file.js';
import { endOfDay, formatDay } from '../offline/analytics/timestamps.js';
import {
  type DemoOptions,
  demoTransactionLine,
  iterateDemoTransactions,
  iterateProfiles,
  iterateWorld,
  WORLD_DECISION_DAYS,
  worldRuleSet,
} from '../offline/demo/index.js';
import { formatIssue, loadRuleSet } from '../rules/index.js';

import { parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest demo-data [--customers N] [--seed S] [--out FILE]
       nextbest demo-data --transactions [--customers N] [--seed S] [--as-of DATE] [--out FILE]
  profiles, or with --transactions a 3-year transaction history up to --as-of (a UTC date, default today)
  whose N customers active last year have known segments and retention (src/offline/demo/transactions.ts)
       nextbest demo-data --world DIR [--customers N] [--seed S]
  a world to measure the decisions in: DIR/profiles.ndjson, DIR/decisions/ (${WORLD_DECISION_DAYS} days of
  decisions by the shipped rules with a 10 % control group, a log file a day) and DIR/transactions.ndjson, in which
  the decisions have a known effect per lifecycle phase × value segment (src/offline/demo/world.ts)
`;
const MAX_WORLD_CUSTOMERS = 200_000; // the decisions are held to be written in time order
/** The rule set shipped with the package. */
const SHIPPED_RULES = fileURLToPath(new URL('../../rules', import.meta.url));
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
  /** set with --world: the folder the world is written to */
  readonly world: string | undefined;
}

function parseOptions(args: string[]): Options {
  const { values } = parseFlags('demo-data', args, {
    customers: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    transactions: { type: 'boolean' },
    'as-of': { type: 'string' },
    world: { type: 'string' },
  });
  if (values.world !== undefined) {
    if (values.world === '') throw new UsageError('demo-data: --world needs a folder name');
    if (values.out !== undefined || values.transactions || values['as-of'] !== undefined)
      throw new UsageError('demo-data: --world writes its own files; it takes only --customers and --seed');
    return {
      customers: parseInteger('customers', values.customers, 10_000, 1, MAX_WORLD_CUSTOMERS),
      seed: parseInteger('seed', values.seed, 42, 0, 0xffffffff),
      out: undefined,
      transactionsAsOf: undefined,
      world: values.world,
    };
  }
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
    world: undefined,
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

/** An NDJSON file written in chunks of lines, waiting for 'drain' when its buffer is full. */
class LinesFile {
  private lines: string[] = [];
  private failure: unknown;
  private constructor(private readonly stream: NodeJS.WritableStream & { destroy(): void }) {
    stream.on('error', (err: unknown) => {
      this.failure ??= err;
    });
  }

  /** Opening first turns a bad path into a rejection here instead of a late 'error' event. */
  static async open(path: string): Promise<LinesFile> {
    return new LinesFile((await open(path, 'w')).createWriteStream());
  }

  async add(lines: readonly string[]): Promise<void> {
    for (const line of lines) this.lines.push(line);
    if (this.lines.length >= LINES_PER_CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.lines.length === 0) return;
    const chunk = `${this.lines.join('\n')}\n`;
    this.lines = [];
    if (!this.stream.write(chunk)) await once(this.stream, 'drain'); // rejects on 'error'
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
  }

  destroy(): void {
    this.stream.destroy(); // closes the handle too
  }
}

/** `demo-data --world DIR`: profiles and transactions streamed customer by customer, then the decisions oldest first. */
async function writeWorld(
  dir: string,
  customers: number,
  seed: number,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  const loaded = await loadRuleSet(SHIPPED_RULES);
  if (!loaded.ok) {
    for (const e of loaded.errors) stderr.write(`demo-data: ${SHIPPED_RULES}/${formatIssue(e)}\n`);
    return 1;
  }
  const ruleset = worldRuleSet(loaded.source);
  const files: LinesFile[] = [];
  try {
    await mkdir(dir, { recursive: true });
    const profiles = await LinesFile.open(join(dir, 'profiles.ndjson'));
    files.push(profiles);
    const transactions = await LinesFile.open(join(dir, 'transactions.ndjson'));
    files.push(transactions);
    const decisions: { at: number; line: string }[] = [];
    for (const c of iterateWorld({ customers, seed, ruleset })) {
      for (const d of c.decisions) decisions.push(d);
      await profiles.add([c.profileLine]);
      await transactions.add(c.transactions);
    }
    await profiles.close();
    await transactions.close();
    // the log's order: oldest first (a stable sort keeps one moment's decisions by customer)
    decisions.sort((a, b) => a.at - b.at);
    // as the decision log lays them out: a file a UTC day, so the service can be pointed at them
    const logDir = join(dir, 'decisions');
    await mkdir(logDir, { recursive: true });
    for (let i = 0; i < decisions.length; ) {
      const day = new Date(decisions[i]!.at).toISOString().slice(0, 10);
      let end = i;
      while (end < decisions.length && new Date(decisions[end]!.at).toISOString().slice(0, 10) === day) end++;
      const log = await LinesFile.open(join(logDir, fileName(day, 0)));
      files.push(log);
      for (let k = i; k < end; k += LINES_PER_CHUNK)
        await log.add(decisions.slice(k, Math.min(k + LINES_PER_CHUNK, end)).map((d) => d.line));
      await log.close();
      i = end;
    }
  } catch (err) {
    for (const f of files) f.destroy();
    stderr.write(`demo-data: cannot write ${dir}: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
}

/** `nextbest demo-data`: the synthetic customer base as NDJSON profiles (or, with --transactions, its transactions), one per line. */
export const runDemoData = withUsage(USAGE, async (args, io) => {
  const options = parseOptions(args);
  if (options.world !== undefined) return writeWorld(options.world, options.customers, options.seed, io.stderr);
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
