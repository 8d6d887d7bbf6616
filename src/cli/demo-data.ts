import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { iterateProfiles } from '../profiles/demo.js';
import type { DemoOptions } from '../profiles/demo.js';

import { parseFlags, UsageError, type Io } from './io.js';

const USAGE = 'usage: nextbest demo-data [--customers N] [--seed S] [--out FILE]\n';
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

function parseOptions(args: string[]): DemoOptions & { out: string | undefined } {
  const { values } = parseFlags('demo-data', args, {
    customers: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    transactions: { type: 'boolean' },
  });
  if (values.transactions) throw new UsageError('demo-data --transactions: not available yet (transaction history comes later)');
  if (values.out === '') throw new UsageError('demo-data: --out needs a file name');
  return {
    customers: parseInteger('customers', values.customers, 10_000, 1, MAX_CUSTOMERS),
    seed: parseInteger('seed', values.seed, 42, 0, 0xffffffff),
    out: values.out,
  };
}

function* ndjsonChunks(options: DemoOptions): Generator<string> {
  let lines: string[] = [];
  for (const profile of iterateProfiles(options)) {
    lines.push(JSON.stringify(profile));
    if (lines.length === LINES_PER_CHUNK) {
      yield lines.join('\n') + '\n';
      lines = [];
    }
  }
  if (lines.length > 0) yield lines.join('\n') + '\n';
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

/** `nextbest demo-data`: the synthetic customer base as NDJSON profiles, one per line. */
export async function runDemoData(args: string[], io: Io): Promise<number> {
  let options;
  try {
    options = parseOptions(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`${err.message}\n${USAGE}`);
    return 2;
  }
  const { out, ...demo } = options;
  try {
    if (out === undefined) {
      await writeAll(io.stdout, ndjsonChunks(demo));
    } else {
      // Opening first turns a bad path into a rejection here instead of a late 'error' event.
      const handle = await open(out, 'w');
      const file = handle.createWriteStream();
      try {
        await writeAll(file, ndjsonChunks(demo));
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
}
