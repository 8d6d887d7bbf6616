/**
 * `nextbest outbound run`: decides one week's outbound contacts for a population and writes
 * them, one CSV per channel plus decisions.ndjson, with the run's record (run.json) beside
 * them. `--json` prints the run's record.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, readFile, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import pino from 'pino';
import { ConfigError, loadRedisEnv } from '../config.js';
import { RedisCounters } from '../counters/index.js';
import { cellsFromTotals } from '../feedback/index.js';
import { LearnedPropensity, LearningState, priorPropensity } from '../learning/index.js';
import { generateProfiles } from '../offline/demo/index.js';
import { Metrics } from '../ops/metrics.js';
import {
  FolderRecords,
  parseWeek,
  RUN_FILE,
  type RunRecord,
  RunRefused,
  type RunStores,
  runWeek,
  WEEK_FORMAT,
  type Week,
  withRedisRun,
} from '../outbound/index.js';
import { ProfileFile } from '../outbound/profile-file.js';
import { RunState } from '../outbound/run-state.js';
import { MemoryProfileStore } from '../profiles/index.js';
import { type RedisClient, RedisHealth, RedisKeys } from '../redis/index.js';
import { compileRuleSet, formatIssue, loadRuleSet, type RuleSet } from '../rules/index.js';
import { type CommandSpec, command, flags } from './command.js';
import { num, seconds } from './format.js';
import { type Io, UsageError } from './io.js';
import { progress } from './progress.js';

export const OUTBOUND_RUN = {
  name: 'outbound run',
  summary: "decide a week's outbound contacts: one CSV per channel, under channel capacity",
  description:
    "Moves every customer through the rule set's journeys for the week, decides each due step with the " +
    'inbound engine and contact policy, shares each channel’s capacity out to the contacts worth most, and ' +
    'writes DIR/<channel>.csv (customerId, offerId, decisionId, sendDate, the treatment’s fields, journey, ' +
    'step), DIR/decisions.ndjson and DIR/run.json. A week already run in DIR is not run again; a run that ' +
    'stopped resumes from its checkpoint. Without --profiles or --redis, the demo population the service ' +
    'starts with.',
  options: {
    week: { type: 'string', value: 'YYYY-Www', required: true, help: 'the ISO week; its Monday is the send date' },
    out: { type: 'string', value: 'DIR', required: true, help: "the run's folder" },
    rules: { type: 'string', value: 'DIR', default: 'RULES_DIR, else ./rules', help: 'the rule set' },
    profiles: { type: 'string', value: 'FILE', help: 'NDJSON profiles, kept in memory with their contact state' },
    redis: {
      type: 'string',
      value: 'URL',
      help: 'the Redis the service uses: its profiles, contact state and decision log (the run record too)',
    },
    previous: {
      type: 'string',
      value: 'DIR',
      help: "without Redis: the folder of last week's run, whose contact and journey state this week goes on from",
    },
    channel: {
      type: 'string',
      value: 'C',
      multiple: true,
      default: 'every outbound channel of the rule set',
      help: 'an outbound channel to decide; give it again for more',
    },
    capacity: {
      type: 'string',
      value: 'CHANNEL=N',
      multiple: true,
      help: "contacts on a channel this week, over the manifest's capacity; give it again for more",
    },
    json: { type: 'boolean', help: "print the run's record as JSON" },
  },
  examples: [
    'outbound run --week 2026-W50 --out runs/2026-W50',
    'outbound run --week 2026-W51 --profiles customers.ndjson --previous runs/2026-W50 --out runs/2026-W51',
    'outbound run --week 2026-W50 --redis redis://localhost:6379 --capacity outbound-call=1500 --out runs/2026-W50',
  ],
} as const satisfies CommandSpec;

/** The population `npm start` serves without PROFILES_FILE. */
const DEMO_CUSTOMERS = 10_000;
const DEMO_SEED = 42;

/** The contact and journey state a memory run leaves for the next week's. */
export const STATE_FILE = 'state.ndjson';

async function demoPopulation(): Promise<MemoryProfileStore> {
  const store = new MemoryProfileStore();
  await store.putMany(generateProfiles({ customers: DEMO_CUSTOMERS, seed: DEMO_SEED }));
  return store;
}

function parseCapacity(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([a-z][a-z0-9-]{0,31})=(\d{1,9})$/.exec(v);
    if (!m) throw new UsageError(`outbound run: --capacity ${v}: expected CHANNEL=N, N a whole number`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function ruleSetAt(dir: string, io: Io): Promise<RuleSet | undefined> {
  const loaded = await loadRuleSet(dir);
  if (loaded.ok) return compileRuleSet(loaded.source);
  for (const issue of loaded.errors) io.stderr.write(`${formatIssue({ ...issue, file: join(dir, issue.file) })}\n`);
  io.stderr.write(
    `outbound run: ${dir}: ${loaded.errors.length} error(s); fix them (nextbest rules validate ${dir})\n`,
  );
  return undefined;
}

/** Reads the state a previous run without Redis left. */
async function restoreState(dir: string, contacts: RunState): Promise<number> {
  const lines = createInterface({ input: createReadStream(join(dir, STATE_FILE)), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const { customerId, fields } = JSON.parse(line) as { customerId: string; fields: Record<string, number> };
    contacts.set(customerId, Object.entries(fields));
    n++;
  }
  return n;
}

/** The week whose run a folder holds, when it is another than this one. */
async function otherWeek(dir: string, week: string): Promise<string | undefined> {
  const text = await readFile(join(dir, RUN_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const held = (JSON.parse(text) as { week?: unknown }).week;
  return typeof held === 'string' && held !== week ? held : undefined;
}

/** What a memory run reads besides the rule set, as a resume must find it again: files by path, size and time. */
async function inputsOf(profiles: string | undefined, previous: string | undefined): Promise<string> {
  const describe = async (what: string, path: string) => {
    const s = await stat(path);
    return `${what} ${resolve(path)} (${s.size} bytes, ${s.mtime.toISOString()})`;
  };
  return [
    profiles === undefined ? 'the demo population' : await describe('profiles', profiles),
    previous === undefined ? 'no earlier state' : await describe('state', join(previous, STATE_FILE)),
  ].join('; ');
}

/** Written whole, then renamed: a stop while writing leaves the earlier file or none, never half of one. */
async function saveState(dir: string, contacts: RunState): Promise<void> {
  const path = join(dir, STATE_FILE);
  const out = createWriteStream(`${path}.tmp`);
  for (const [customerId, fields] of contacts.entries())
    if (!out.write(`${JSON.stringify({ customerId, fields: Object.fromEntries(fields) })}\n`)) await once(out, 'drain');
  out.end();
  await finished(out);
  await rename(`${path}.tmp`, path);
}

function summary(r: RunRecord, ms: number, again: boolean): string {
  const contacts = Object.entries(r.counts)
    .map(([c, n]) => `${c} ${num(n)}`)
    .join(', ');
  const a = r.allocation;
  const gap = a
    ? `; expected value ${num(a.total, 1)}, within ${num(a.gap * 100, 2)} % of the best possible (${num(a.bound, 1)})`
    : '';
  return again
    ? `week ${r.week} was already run in this folder (${contacts}); nothing was sent again\n`
    : `week ${r.week}: ${contacts}; ${num(r.heldOut)} held out (control group), ${num(r.unsent)} due but not contacted${gap}; ${seconds(ms)}\n`;
}

export const runOutbound = command(OUTBOUND_RUN, async (args, io) => {
  const { values } = flags(OUTBOUND_RUN, args);
  const week = parseWeek(values.week);
  if (!week) throw new UsageError(`outbound run: --week ${values.week} is not ${WEEK_FORMAT}`);
  if (values.profiles !== undefined && values.redis !== undefined)
    throw new UsageError('outbound run: --profiles or --redis, not both');
  if (values.previous !== undefined && values.redis !== undefined)
    throw new UsageError('outbound run: --previous is for memory runs; with --redis the state is in Redis');
  const capacity = parseCapacity(values.capacity ?? []);
  // what the run reads must be there before it starts: a message, not a stack trace and a failed run
  const unreadable: string[] = [];
  if (values.profiles !== undefined)
    await access(values.profiles).catch((err: Error) => unreadable.push(`cannot read --profiles ${err.message}`));
  if (values.previous !== undefined)
    await access(join(values.previous, STATE_FILE)).catch(() =>
      unreadable.push(`--previous ${values.previous}: no ${STATE_FILE} there; give the folder of last week's run`),
    );
  if (unreadable.length > 0) {
    for (const u of unreadable) io.stderr.write(`outbound run: ${u}\n`);
    return 1;
  }
  const rules = await ruleSetAt(values.rules ?? process.env.RULES_DIR ?? 'rules', io);
  if (!rules) return 1;
  const out = resolve(values.out);
  const p = progress(io);
  const started = performance.now();
  let record: RunRecord;
  let again = false;
  let file: ProfileFile | undefined;
  const records = new FolderRecords(() => out);
  const startedAt = Date.now();
  const other = await otherWeek(out, week.key);
  if (other !== undefined) {
    io.stderr.write(`outbound run: ${out} holds the run of ${other}; give each week a folder of its own\n`);
    return 1;
  }
  try {
    if (values.redis !== undefined) {
      record = await redisRun(values.redis, rules, week, values.channel, capacity, out);
    } else {
      const contacts = new RunState();
      if (values.previous !== undefined) await restoreState(values.previous, contacts);
      // a file is read again for the second pass rather than kept: a million customers fit in a few hundred MB
      const stores: RunStores =
        values.profiles !== undefined
          ? { profiles: (file = new ProfileFile(values.profiles)), contacts, rescan: true }
          : { profiles: await demoPopulation(), contacts };
      record = await runWeek(stores, {
        week,
        ruleset: rules,
        model: priorPropensity,
        channels: values.channel,
        capacity,
        dir: out,
        records,
        onRecord: (r) => {
          if (r.phase !== 'done') p.step(`${r.phase} ${week.key}`, r.progress.total ?? undefined, 'items');
        },
        inputs: await inputsOf(values.profiles, values.previous),
        // the state is complete before the record says done: a stop in between resumes and writes it
        beforeDone: () => saveState(out, contacts),
      });
      if (file !== undefined && file.rejectedLines > 0)
        io.stderr.write(
          `outbound run: ${num(file.rejectedLines)} profile lines rejected (the first: line ${file.rejected[0]?.line})\n`,
        );
    }
    // a week done before this command started: its record, as it stands
    again = Date.parse(record.finishedAt ?? '') < startedAt;
  } catch (err) {
    p.done();
    if (err instanceof RunRefused || err instanceof ConfigError) {
      io.stderr.write(`outbound run: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  p.done();
  io.stdout.write(
    values.json ? `${JSON.stringify(record, null, 2)}\n` : summary(record, performance.now() - started, again),
  );
  return 0;
});

/** The learned counts as the service shares them in Redis: the run ranks by them. */
async function learnedCounts(client: RedisClient, prefix: string): Promise<LearningState> {
  const learning = new LearningState();
  const counters = new RedisCounters(
    {
      client,
      health: new RedisHealth(
        client,
        'read',
        30_000,
        new Metrics({ defaultMetrics: false }),
        pino({ level: 'silent' }),
      ),
    },
    new RedisKeys(prefix).counters('learning'),
    pino({ level: 'silent' }),
  );
  learning.replace(cellsFromTotals(await counters.totals()));
  await counters.close();
  return learning;
}

async function redisRun(
  url: string,
  rules: RuleSet,
  week: Week,
  channels: readonly string[] | undefined,
  capacity: Record<string, number>,
  out: string,
): Promise<RunRecord> {
  const env = loadRedisEnv({ ...process.env, REDIS_URL: url, REDIS_CLUSTER_NODES: '' });
  const target = { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES };
  return withRedisRun({ target, prefix: env.REDIS_KEY_PREFIX }, async (stores, records, client) =>
    runWeek(stores, {
      week,
      ruleset: rules,
      model: new LearnedPropensity(await learnedCounts(client, env.REDIS_KEY_PREFIX)),
      channels,
      capacity,
      dir: out,
      records,
    }),
  );
}
