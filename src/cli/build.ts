/**
 * `nextbest profiles build`: one profile per customer from NDJSON transactions (definitions in
 * src/offline/analytics/profiles.ts), written as NDJSON for `nextbest profiles import` or PROFILES_FILE.
 * The summary goes to stdout: customers by lifecycle phase × value segment, the churn model's
 * parameters; `--json` prints it as one document.
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import {
  buildProfiles,
  DEFAULT_PHASES,
  endOfDay,
  formatDay,
  type HistoryReport,
  RejectedLinesError,
  readHistoriesFromStream,
} from '../offline/analytics/index.js';
import { LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../profiles/schema.js';
import { parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage: nextbest profiles build --transactions FILE --out FILE [--as-of DATE] [--new-days N] [--lapsed-days N] [--at-risk X] [--consents LIST] [--strict] [--json]
  one profile per customer from NDJSON transactions {customerId, at, amount, product?} (FILE, or - for stdin),
  written as NDJSON to --out (- for stdout): value segment, CLV, annual revenue, tenure, products, churn score, lifecycle phase.
  --new-days (100): a first purchase at most this many days ago is "new"; --lapsed-days (180): no purchase for longer is "regain";
  --at-risk (0.5): a churn score at least this is "retain"; --consents (web,call-center): the channels every profile consents to`;

const READ_CHUNK_BYTES = 1 << 20;
const LINES_PER_WRITE = 512;

function parseOptions(args: string[]) {
  const { values } = parseFlags('profiles build', args, {
    transactions: { type: 'string' },
    out: { type: 'string' },
    'as-of': { type: 'string' },
    'new-days': { type: 'string' },
    'lapsed-days': { type: 'string' },
    'at-risk': { type: 'string' },
    consents: { type: 'string' },
    strict: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (!values.transactions) throw new UsageError('profiles build: --transactions FILE is required (- for stdin)');
  if (!values.out) throw new UsageError('profiles build: --out FILE is required (- for stdout)');
  const date = values['as-of'] ?? formatDay(Date.now());
  const asOf = endOfDay(date);
  if (Number.isNaN(asOf)) throw new UsageError(`profiles build: --as-of wants a date YYYY-MM-DD, got "${date}"`);
  const number = (
    flag: string,
    raw: string | undefined,
    fallback: number,
    min: number,
    max: number,
    integer: boolean,
  ) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new UsageError(
        `profiles build: --${flag} wants ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${raw}"`,
      );
    return n;
  };
  const consents = (values.consents ?? 'web,call-center')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const c of consents)
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(c))
      throw new UsageError(`profiles build: --consents wants channel names like web,call-center, got "${c}"`);
  return {
    file: values.transactions,
    out: values.out,
    asOf,
    json: values.json === true,
    strict: values.strict === true,
    settings: {
      asOf,
      consents,
      newDays: number('new-days', values['new-days'], DEFAULT_PHASES.newDays, 0, 3650, true),
      lapsedDays: number('lapsed-days', values['lapsed-days'], DEFAULT_PHASES.lapsedDays, 1, 3650, true),
      atRisk: number('at-risk', values['at-risk'], DEFAULT_PHASES.atRisk, 0, 1, false),
    },
  };
}

async function writeLines(stream: NodeJS.WritableStream, lines: Iterable<string>): Promise<void> {
  let chunk: string[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    if (!stream.write(`${chunk.join('\n')}\n`)) await once(stream, 'drain');
    chunk = [];
  };
  for (const line of lines) {
    chunk.push(line);
    if (chunk.length === LINES_PER_WRITE) await flush();
  }
  await flush();
}

export const runBuild = withUsage(USAGE, async (args, io) => {
  const options = parseOptions(args);
  const started = performance.now();
  let read: HistoryReport;
  let input: (NodeJS.ReadableStream & AsyncIterable<Buffer>) | undefined;
  try {
    input =
      options.file === '-'
        ? process.stdin
        : (await open(options.file, 'r')).createReadStream({ highWaterMark: READ_CHUNK_BYTES });
    read = await readHistoriesFromStream(input, options.asOf, { strict: options.strict });
  } catch (err) {
    if (err instanceof RejectedLinesError)
      io.stderr.write(
        `profiles build: ${err.rejectedLines} line(s) rejected; --strict refuses the file, nothing built\n`,
      );
    else io.stderr.write(`profiles build: cannot read ${options.file}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    if (input && input !== process.stdin) (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
  }
  for (const r of read.rejected.slice(0, 10))
    for (const e of r.errors) io.stderr.write(`${options.file}:${r.line}: ${e.path} ${e.message}\n`);
  if (read.rejectedLines > 0) io.stderr.write(`profiles build: ${read.rejectedLines} line(s) rejected and skipped\n`);
  const built = buildProfiles(read.customers, options.settings);
  try {
    if (options.out === '-')
      await writeLines(
        io.stdout,
        built.profiles.map((p) => JSON.stringify(p)),
      );
    else {
      const file = (await open(options.out, 'w')).createWriteStream();
      await writeLines(
        file,
        built.profiles.map((p) => JSON.stringify(p)),
      );
      file.end();
      await finished(file);
    }
  } catch (err) {
    io.stderr.write(`profiles build: cannot write ${options.out}: ${(err as Error).message}\n`);
    return 1;
  }
  const cells = LIFECYCLE_PHASES.map((phase) => ({
    phase,
    ...Object.fromEntries(
      VALUE_SEGMENTS.map((seg) => [
        seg,
        built.profiles.filter((p) => p.lifecyclePhase === phase && p.valueSegment === seg).length,
      ]),
    ),
  }));
  const summary = {
    asOf: formatDay(options.asOf),
    profiles: built.profiles.length,
    skipped: built.skipped,
    transactions: read.transactions,
    rejectedLines: read.rejectedLines,
    settings: {
      newDays: options.settings.newDays,
      lapsedDays: options.settings.lapsedDays,
      atRisk: options.settings.atRisk,
      consents: options.settings.consents,
    },
    churnModel: built.churnModel,
    phases: cells,
    seconds: Number(((performance.now() - started) / 1e3).toFixed(3)),
  };
  // with the profiles on stdout the summary would mix with them: it goes to stderr then
  const to = options.out === '-' ? io.stderr : io.stdout;
  if (options.json) to.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const w = Math.max(9, ...cells.map((c) => c.phase.length));
    const row = (label: string, values: (string | number)[]) =>
      `  ${label.padEnd(w)}${values.map((v) => String(v).padStart(9)).join('')}`;
    to.write(
      [
        `${built.profiles.length} profiles as of ${summary.asOf} from ${read.transactions} transactions in ${summary.seconds.toFixed(1)} s → ${options.out === '-' ? 'stdout' : options.out}`,
        ...(built.skipped > 0 ? [`${built.skipped} customers with refunds only: no profile`] : []),
        '',
        row('', [...VALUE_SEGMENTS, 'all']),
        ...cells.map((c) =>
          row(c.phase, [
            ...VALUE_SEGMENTS.map((s) => (c as Record<string, number | string>)[s] as number),
            VALUE_SEGMENTS.reduce((n, s) => n + ((c as Record<string, number | string>)[s] as number), 0),
          ]),
        ),
        '',
        `churn score = 1 − P(alive) by BG/NBD, ${built.churnModel.converged ? 'fitted to these customers' : 'the published CDNOW estimates'}: r ${built.churnModel.params.r.toFixed(3)}, α ${built.churnModel.params.alpha.toFixed(1)} days, a ${built.churnModel.params.a.toFixed(3)}, b ${built.churnModel.params.b.toFixed(3)}`,
        ...(built.churnModel.converged ? [] : [`  (not fitted: ${built.churnModel.reason ?? 'no convergence'})`]),
        '',
      ].join('\n'),
    );
  }
  return 0;
});
