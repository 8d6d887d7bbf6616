import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { ProfileFile } from '../../src/outbound/profile-file.js';
import { FolderRecords, type RunRecord } from '../../src/outbound/records.js';
import { RunRefused, type RunRequest, type RunStores, runWeek } from '../../src/outbound/run.js';
import { RunState } from '../../src/outbound/run-state.js';
import { parseWeek } from '../../src/outbound/week.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import type { Profile } from '../../src/profiles/schema.js';
import type { RuleSet } from '../../src/rules/index.js';
import { OUTBOUND_CHANNELS, readRun, sortedLines } from '../support/outbound.js';
import { shippedRuleSet } from '../support/rules.js';

// What a run refuses or leaves out so that nothing is sent twice or out of order.
const W50 = parseWeek('2026-W50')!;
const W51 = parseWeek('2026-W51')!;

let rs: RuleSet;
let population: Profile[];
let tmp: string;
let file: string;

beforeAll(async () => {
  rs = await shippedRuleSet();
  population = generateProfiles({ customers: 2_000, seed: 23 });
  tmp = await mkdtemp(join(tmpdir(), 'nextbest-outbound-guards-'));
  file = join(tmp, 'profiles.ndjson');
  await writeFile(file, `${population.map((p) => JSON.stringify(p)).join('\n')}\n`);
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let dirs = 0;
const newDir = () => join(tmp, `run-${++dirs}`);

/**
 * A run over the file (or `stores`), from the given state; `stopAt` throws in the pause before
 * that batch (counted over both passes).
 */
function weekRun(
  state: RunState,
  dir: string,
  extra: Partial<RunRequest> & { stopAt?: number; profiles?: string; stores?: RunStores } = {},
): Promise<RunRecord> {
  let batches = 0;
  const stores: RunStores = extra.stores ?? {
    profiles: new ProfileFile(extra.profiles ?? file),
    contacts: state,
    rescan: true,
  };
  return runWeek(stores, {
    week: W50,
    ruleset: rs,
    model: priorPropensity,
    dir,
    records: new FolderRecords(() => dir),
    batchSize: 100,
    capacity: { email: 300 },
    inputs: 'the test population',
    pause: async () => {
      if (++batches === extra.stopAt) throw new Error('stopped');
    },
    ...extra,
  });
}

describe('a run that stops twice', () => {
  it('finishes with the plan it wrote by: the lines of an uninterrupted run, capacity kept', async () => {
    const whole = newDir();
    await weekRun(new RunState(), whole);
    const expected = await readRun(whole);

    const dir = newDir();
    // 2 000 customers in batches of 100: 20 batches to scan, then the writing
    await expect(weekRun(new RunState(), dir, { stopAt: 25 })).rejects.toThrow('stopped');
    // resumed, and stopped again while scanning: the record goes back to the scan
    await expect(weekRun(new RunState(), dir, { stopAt: 5 })).rejects.toThrow('stopped');
    const done = await weekRun(new RunState(), dir);
    expect(done.status).toBe('done');
    const got = await readRun(dir);
    for (const channel of OUTBOUND_CHANNELS)
      expect(sortedLines(got.raw[`${channel}.csv`]!), channel).toEqual(sortedLines(expected.raw[`${channel}.csv`]!));
    expect(got.rows.email!.length).toBe(300);
    expect(sortedLines(got.raw['decisions.ndjson']!)).toEqual(sortedLines(expected.raw['decisions.ndjson']!));
    expect(done.counts).toEqual((await new FolderRecords(() => whole).load(W50.key))!.counts);
  });

  it('with a store that outlives the stops (as Redis does): the same lines, each customer written once', async () => {
    // the profiles looked up by ID, the state kept between the attempts
    const run = (state: RunState, dir: string, stopAt?: number) => {
      const profiles = new MemoryProfileStore();
      void profiles.putMany(population);
      return weekRun(state, dir, { stores: { profiles, contacts: state }, ...(stopAt !== undefined && { stopAt }) });
    };
    const whole = newDir();
    await run(new RunState(), whole);
    const expected = await readRun(whole);
    const state = new RunState();
    const dir = newDir();
    await expect(run(state, dir, 25)).rejects.toThrow('stopped');
    await expect(run(state, dir, 5)).rejects.toThrow('stopped');
    expect((await run(state, dir)).status).toBe('done');
    const got = await readRun(dir);
    for (const name of Object.keys(expected.raw))
      expect(sortedLines(got.raw[name]!), name).toEqual(sortedLines(expected.raw[name]!));
    // the store holds what the files say was sent: one run mark and one impression per contact
    for (const row of got.contacts) {
      const s = state.read(row.customerId);
      expect(s.runs.has(W50.key)).toBe(true);
      const impressions = s.counts.filter(
        (c) => c.outcome === 'impression' && c.offerId === row.offerId && c.channel === row.channel,
      );
      expect(
        impressions.reduce((n, c) => n + c.n, 0),
        `${row.customerId} ${row.channel}`,
      ).toBe(1);
    }
  });

  it('is refused when its plan is gone, or its inputs differ', async () => {
    const dir = newDir();
    await expect(weekRun(new RunState(), dir, { stopAt: 25 })).rejects.toThrow('stopped');
    await expect(weekRun(new RunState(), dir, { inputs: 'another population' })).rejects.toThrow(RunRefused);
    await rm(join(dir, 'plan.json'));
    await expect(weekRun(new RunState(), dir)).rejects.toThrow(/plan/);
  });
});

describe('customers the run leaves out', () => {
  it('lists a customer repeated in the file once', async () => {
    const twice = join(tmp, 'twice.ndjson');
    const repeated = population.slice(0, 50);
    await writeFile(twice, `${[...population, ...repeated].map((p) => JSON.stringify(p)).join('\n')}\n`);
    const dir = newDir();
    const record = await weekRun(new RunState(), dir, { profiles: twice });
    expect(record.skipped?.duplicates).toBe(50);
    const { decisions } = await readRun(dir);
    const keys = decisions.map((d) => `${d.customerId}|${d.channel}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves a week alone for customers a later week already wrote', async () => {
    const state = new RunState();
    const later = await weekRun(state, newDir(), { week: W51 });
    expect(later.customers).toBeGreaterThan(0);
    const dir = newDir();
    const earlier = await weekRun(state, dir, { week: W50 });
    expect(earlier.skipped?.later).toBe(later.customers);
    expect(earlier.customers).toBe(0);
    const { decisions } = await readRun(dir);
    expect(decisions).toHaveLength(0);
  });
});
