/**
 * `nextbest profiles build`: one profile per customer from NDJSON transactions (definitions in
 * src/offline/analytics/profiles.ts), written as NDJSON for `nextbest profiles import` or PROFILES_FILE.
 * The summary goes to stdout (stderr with --out -): what was written, customers by lifecycle phase ×
 * value segment, the churn model's parameters; `--json` prints it as one document.
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import { buildProfiles, DEFAULT_PHASES, endOfDay, formatDay } from '../offline/analytics/index.js';
import { LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../profiles/schema.js';
import { type CommandSpec, command, flags } from './command.js';
import { num, seconds } from './format.js';
import { readTransactions } from './input.js';
import { UsageError } from './io.js';
import { type Progress, progress } from './progress.js';

const DEFAULT_CONSENTS = 'web,call-center';

export const PROFILES_BUILD = {
  name: 'profiles build',
  summary: 'profiles (value segment, CLV, churn score, lifecycle phase) from NDJSON transactions',
  description:
    'One profile per customer from NDJSON transactions {customerId, at, amount, product?}, written as NDJSON ' +
    'for `nextbest profiles import` or PROFILES_FILE: value segment, CLV, annual revenue, tenure, products, ' +
    'churn score, lifecycle phase. Then a summary: customers by lifecycle phase × value segment and the churn ' +
    'model, on stdout (on stderr when the profiles go to stdout). Bad lines are listed by number and skipped; ' +
    'a warning says when --as-of is more than 30 days after the last purchase.',
  options: {
    transactions: { type: 'string', value: 'FILE', required: true, help: 'the NDJSON transactions; - for stdin' },
    out: { type: 'string', value: 'FILE', required: true, help: 'where the profiles go, as NDJSON; - for stdout' },
    'as-of': {
      type: 'string',
      value: 'DATE',
      default: 'today, UTC',
      help: 'the day the profiles are measured at, a UTC day YYYY-MM-DD: recency, this year and CLV count back from its end; later transactions are left out',
    },
    'new-days': {
      type: 'string',
      value: 'N',
      default: String(DEFAULT_PHASES.newDays),
      help: 'a first purchase at most this many days before --as-of makes a customer "new"; 0 to 3650',
    },
    'lapsed-days': {
      type: 'string',
      value: 'N',
      default: String(DEFAULT_PHASES.lapsedDays),
      help: 'no purchase for longer than this many days makes a customer "regain"; 1 to 3650',
    },
    'at-risk': {
      type: 'string',
      value: 'X',
      default: String(DEFAULT_PHASES.atRisk),
      help: 'a churn score at least this makes a customer "retain"; 0 to 1',
    },
    consents: {
      type: 'string',
      value: 'LIST',
      default: DEFAULT_CONSENTS,
      help: 'the channels every profile consents to, comma-separated',
    },
    strict: {
      type: 'boolean',
      help: 'refuse the whole file when a line is bad: the bad lines are listed by number and nothing is built (default: listed and skipped)',
    },
    json: { type: 'boolean', help: 'the summary as one JSON document' },
  },
  examples: [
    'profiles build --transactions transactions.ndjson --out profiles.ndjson --as-of 2026-03-01',
    'profiles build --transactions - --out - < transactions.ndjson | nextbest profiles import -',
  ],
} as const satisfies CommandSpec;

const LINES_PER_WRITE = 512;

function parseOptions(args: string[]) {
  const { values } = flags(PROFILES_BUILD, args);
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
  const consents = (values.consents ?? DEFAULT_CONSENTS)
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
    asOfGiven: values['as-of'] !== undefined,
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

/** The lines, a chunk at a time, waiting for 'drain' when the stream's buffer is full; each counted into the progress. */
async function writeLines(stream: NodeJS.WritableStream, lines: readonly string[], p: Progress): Promise<void> {
  for (let i = 0; i < lines.length; i += LINES_PER_WRITE) {
    const chunk = lines.slice(i, i + LINES_PER_WRITE);
    if (!stream.write(`${chunk.join('\n')}\n`)) await once(stream, 'drain');
    p.add(chunk.length);
  }
}

export const runBuild = command(PROFILES_BUILD, async (args, io) => {
  const options = parseOptions(args);
  const started = performance.now();
  const p = progress(io);
  const read = await readTransactions(
    {
      command: 'profiles build',
      file: options.file,
      asOf: options.asOf,
      asOfGiven: options.asOfGiven,
      strict: options.strict,
      refused: 'nothing built',
    },
    p,
    io,
  );
  if (read === undefined) return 1;
  p.step(`building ${num(read.customers.size)} profiles: segments and the churn model`);
  const built = buildProfiles(read.customers, options.settings);
  const lines = built.profiles.map((pr) => JSON.stringify(pr));
  const destination = options.out === '-' ? 'stdout' : options.out;
  p.step(`writing ${basename(destination)}`, lines.length, 'items');
  try {
    if (options.out === '-') await writeLines(io.stdout, lines, p);
    else {
      const file = (await open(options.out, 'w')).createWriteStream();
      await writeLines(file, lines, p);
      file.end();
      await finished(file);
    }
  } catch (err) {
    p.done();
    io.stderr.write(`profiles build: cannot write ${options.out}: ${(err as Error).message}\n`);
    return 1;
  }
  p.done();
  const cells = LIFECYCLE_PHASES.map((phase) => ({
    phase,
    ...Object.fromEntries(
      VALUE_SEGMENTS.map((seg) => [
        seg,
        built.profiles.filter((pr) => pr.lifecyclePhase === phase && pr.valueSegment === seg).length,
      ]),
    ),
  }));
  const elapsed = performance.now() - started;
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
    seconds: Number((elapsed / 1e3).toFixed(3)),
  };
  // with the profiles on stdout the summary would mix with them: it goes to stderr then
  const to = options.out === '-' ? io.stderr : io.stdout;
  if (options.json) to.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const w = Math.max(9, ...cells.map((c) => c.phase.length));
    const row = (label: string, values: (string | number)[]) =>
      `  ${label.padEnd(w)}${values.map((v) => (typeof v === 'number' ? num(v) : v).padStart(9)).join('')}`;
    const count = (c: (typeof cells)[number], s: string) => (c as Record<string, number | string>)[s] as number;
    const { params } = built.churnModel;
    to.write(
      [
        `wrote ${num(built.profiles.length)} profiles as of ${summary.asOf} from ${num(read.transactions)} transactions to ${destination} in ${seconds(elapsed)}`,
        ...(built.skipped > 0 ? [`${num(built.skipped)} customers with refunds only: no profile`] : []),
        '',
        row('', [...VALUE_SEGMENTS, 'all']),
        ...cells.map((c) =>
          row(c.phase, [
            ...VALUE_SEGMENTS.map((s) => count(c, s)),
            VALUE_SEGMENTS.reduce((n, s) => n + count(c, s), 0),
          ]),
        ),
        '',
        `churn score = 1 − P(alive) by BG/NBD, ${built.churnModel.converged ? 'fitted to these customers' : 'the published CDNOW estimates'}: r ${params.r.toFixed(3)}, α ${num(params.alpha, 1)} days, a ${params.a.toFixed(3)}, b ${params.b.toFixed(3)}`,
        ...(built.churnModel.converged ? [] : [`  (not fitted: ${built.churnModel.reason ?? 'no convergence'})`]),
        '',
      ].join('\n'),
    );
  }
  return 0;
});
