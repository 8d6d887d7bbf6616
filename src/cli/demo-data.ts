import { once } from 'node:events';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { fileName } from '../decision-log/file.js';
import { endOfDay, formatDay } from '../offline/analytics/timestamps.js';
import {
  type DemoOptions,
  type DemoPlan,
  demoTransactionLine,
  iterateDemoTransactions,
  iterateProfiles,
  iterateWorld,
  planDemo,
  WORLD_DECISION_DAYS,
  worldRuleSet,
} from '../offline/demo/index.js';
import { formatIssue, loadRuleSet } from '../rules/index.js';

import { type CommandSpec, command, flags } from './command.js';
import { num, seconds } from './format.js';
import { type Io, UsageError, writeSummary } from './io.js';
import { type Progress, progress } from './progress.js';

const DEFAULT_CUSTOMERS = 10_000;
const DEFAULT_SEED = 42;
const MAX_WORLD_CUSTOMERS = 200_000; // the decisions are held to be written in time order
/** The rule set shipped with the package. */
const SHIPPED_RULES = fileURLToPath(new URL('../../rules', import.meta.url));
const MAX_CUSTOMERS = 10_000_000;
const MAX_SEED = 0xffffffff;
const LINES_PER_CHUNK = 512; // one write per chunk keeps a million lines from costing a million writes
const CHUNKS_PER_TURN = 64;

export const DEMO_DATA = {
  name: 'demo-data',
  summary: 'synthetic demo data as NDJSON: profiles, a 3-year transaction history, or a world of logged decisions',
  forms: [
    'demo-data [--customers N] [--seed S] [--out FILE]',
    'demo-data --transactions [--customers N] [--seed S] [--as-of DATE] [--out FILE]',
    'demo-data --world DIR [--customers N] [--seed S]',
  ],
  description:
    'Profiles; or, with --transactions, a 3-year transaction history up to --as-of whose customers active last ' +
    'year have known segments and retention (src/offline/demo/transactions.ts); or, with --world DIR, a world to ' +
    `measure the decisions in: DIR/profiles.ndjson, DIR/decisions/ (${WORLD_DECISION_DAYS} days of decisions by the ` +
    'shipped rules with a 10 % control group, a log file a day) and DIR/transactions.ndjson, in which the decisions ' +
    'have a known effect per lifecycle phase × value segment (src/offline/demo/world.ts). ' +
    'The same --seed gives the same data.',
  options: {
    customers: {
      type: 'string',
      value: 'N',
      default: num(DEFAULT_CUSTOMERS),
      help: `how many customers: 1 to ${num(MAX_CUSTOMERS)}, with --world to ${num(MAX_WORLD_CUSTOMERS)}`,
    },
    seed: { type: 'string', value: 'S', default: String(DEFAULT_SEED), help: `the random seed, 0 to ${MAX_SEED}` },
    out: { type: 'string', value: 'FILE', default: 'stdout', help: 'the NDJSON file to write' },
    transactions: {
      type: 'boolean',
      help: 'write a transaction history {customerId, at, amount, product?} instead of profiles',
    },
    'as-of': {
      type: 'string',
      value: 'DATE',
      default: 'today, UTC',
      help: 'with --transactions: the last day of the history, a UTC day YYYY-MM-DD',
    },
    world: {
      type: 'string',
      value: 'DIR',
      help: 'write a world to measure decisions in: profiles, transactions and the decision log, in DIR',
    },
  },
  examples: [
    'demo-data --customers 10000 --out customers.ndjson',
    'demo-data --transactions --as-of 2026-03-01 --out transactions.ndjson',
    'demo-data --world world --customers 20000',
  ],
} as const satisfies CommandSpec;

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
  const { values } = flags(DEMO_DATA, args);
  if (values.world !== undefined) {
    if (values.world === '') throw new UsageError('demo-data: --world needs a folder name');
    if (values.out !== undefined || values.transactions || values['as-of'] !== undefined)
      throw new UsageError('demo-data: --world writes its own files; it takes only --customers and --seed');
    return {
      customers: parseInteger('customers', values.customers, DEFAULT_CUSTOMERS, 1, MAX_WORLD_CUSTOMERS),
      seed: parseInteger('seed', values.seed, DEFAULT_SEED, 0, MAX_SEED),
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
    customers: parseInteger('customers', values.customers, DEFAULT_CUSTOMERS, 1, MAX_CUSTOMERS),
    seed: parseInteger('seed', values.seed, DEFAULT_SEED, 0, MAX_SEED),
    out: values.out,
    transactionsAsOf: values.transactions ? asOf : undefined,
    world: undefined,
  };
}

/** What was generated: lines, and the customers they are of (the progress counts customers). */
interface Tally {
  lines: number;
  customers: number;
}

function* ndjsonLines(options: Options, plan: DemoPlan | undefined, tally: Tally, p: Progress): Generator<string> {
  if (options.transactionsAsOf === undefined) {
    for (const profile of iterateProfiles(options)) {
      tally.lines++;
      tally.customers++;
      p.add(1);
      yield JSON.stringify(profile);
    }
  } else {
    const demo = { customers: options.customers, seed: options.seed, asOf: options.transactionsAsOf };
    let customer: string | undefined;
    for (const t of iterateDemoTransactions(demo, plan)) {
      // a customer's transactions come together
      if (t.customerId !== customer) {
        customer = t.customerId;
        tally.customers++;
        p.add(1);
      }
      tally.lines++;
      yield demoTransactionLine(t);
    }
  }
}

function* ndjsonChunks(lines: Iterable<string>): Generator<string> {
  let chunk: string[] = [];
  for (const line of lines) {
    chunk.push(line);
    if (chunk.length === LINES_PER_CHUNK) {
      yield `${chunk.join('\n')}\n`;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
}

/** Writes every chunk, waiting for 'drain' when the stream's buffer is full; a stream error rejects. */
async function writeAll(stream: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  let failure: unknown;
  const onError = (err: unknown): void => {
    failure ??= err;
  };
  stream.on('error', onError);
  let written = 0;
  try {
    for (const chunk of chunks) {
      if (failure !== undefined) break;
      if (!stream.write(chunk)) await once(stream, 'drain');
      // stdout redirected to a file is written synchronously and never pushes back: a turn of the
      // event loop now and then lets the progress redraw
      else if (++written % CHUNKS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
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
async function writeWorld(dir: string, customers: number, seed: number, io: Io, p: Progress): Promise<number> {
  const started = performance.now();
  const loaded = await loadRuleSet(SHIPPED_RULES);
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr.write(`demo-data: ${SHIPPED_RULES}/${formatIssue(e)}\n`);
    return 1;
  }
  const ruleset = worldRuleSet(loaded.source);
  const files: LinesFile[] = [];
  let transactionCount = 0;
  let logFiles = 0;
  const decisions: { at: number; line: string }[] = [];
  try {
    await mkdir(dir, { recursive: true });
    const profiles = await LinesFile.open(join(dir, 'profiles.ndjson'));
    files.push(profiles);
    const transactions = await LinesFile.open(join(dir, 'transactions.ndjson'));
    files.push(transactions);
    p.step('generating customers', customers, 'items');
    for (const c of iterateWorld({ customers, seed, ruleset })) {
      for (const d of c.decisions) decisions.push(d);
      await profiles.add([c.profileLine]);
      await transactions.add(c.transactions);
      transactionCount += c.transactions.length;
      p.add(1);
    }
    await profiles.close();
    await transactions.close();
    // the log's order: oldest first (a stable sort keeps one moment's decisions by customer)
    decisions.sort((a, b) => a.at - b.at);
    // as the decision log lays them out: a file a UTC day, so the service can be pointed at them
    const logDir = join(dir, 'decisions');
    await mkdir(logDir, { recursive: true });
    p.step('writing the decision log', decisions.length, 'items');
    for (let i = 0; i < decisions.length; ) {
      const day = new Date(decisions[i]!.at).toISOString().slice(0, 10);
      let end = i;
      while (end < decisions.length && new Date(decisions[end]!.at).toISOString().slice(0, 10) === day) end++;
      const log = await LinesFile.open(join(logDir, fileName(day, 0)));
      files.push(log);
      for (let k = i; k < end; k += LINES_PER_CHUNK)
        await log.add(decisions.slice(k, Math.min(k + LINES_PER_CHUNK, end)).map((d) => d.line));
      await log.close();
      logFiles++;
      p.add(end - i);
      i = end;
    }
  } catch (err) {
    p.done();
    for (const f of files) f.destroy();
    io.stderr.write(`demo-data: cannot write ${dir}: ${(err as Error).message}\n`);
    return 1;
  }
  p.done();
  writeSummary(
    io,
    `wrote a world of ${num(customers)} customers to ${dir} in ${seconds(performance.now() - started)}: ` +
      `${num(customers)} profiles, ${num(transactionCount)} transactions, ${num(decisions.length)} decisions in ${num(logFiles)} daily log files`,
    false,
  );
  return 0;
}

/** `nextbest demo-data`: the synthetic customer base as NDJSON profiles (or, with --transactions, its transactions), one per line. */
export const runDemoData = command(DEMO_DATA, async (args, io) => {
  const options = parseOptions(args);
  const p = progress(io);
  if (options.world !== undefined) return writeWorld(options.world, options.customers, options.seed, io, p);
  const started = performance.now();
  const { out } = options;
  const destination = out ?? 'stdout';
  const tally: Tally = { lines: 0, customers: 0 };
  const plan = options.transactionsAsOf === undefined ? undefined : planDemo(options.customers, options.seed);
  const total = plan?.segmentOf.length ?? options.customers;
  p.step(
    options.transactionsAsOf === undefined ? 'generating profiles' : 'generating transactions by customer',
    total,
    'items',
  );
  const chunks = ndjsonChunks(ndjsonLines(options, plan, tally, p));
  try {
    if (out === undefined) {
      await writeAll(io.stdout, chunks);
    } else {
      // Opening first turns a bad path into a rejection here instead of a late 'error' event.
      const handle = await open(out, 'w');
      const file = handle.createWriteStream();
      try {
        await writeAll(file, chunks);
        file.end();
        await finished(file);
      } catch (err) {
        file.destroy(); // closes the handle too
        throw err;
      }
    }
  } catch (err) {
    p.done();
    io.stderr.write(`demo-data: cannot write ${destination}: ${(err as Error).message}\n`);
    return 1;
  }
  p.done();
  const what =
    options.transactionsAsOf === undefined
      ? `${num(tally.lines)} profiles`
      : `${num(tally.lines)} transactions of ${num(tally.customers)} customers up to ${formatDay(options.transactionsAsOf)}`;
  writeSummary(io, `wrote ${what} to ${destination} in ${seconds(performance.now() - started)}`, out === undefined);
  return 0;
});
