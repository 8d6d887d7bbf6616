import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWeek, weekAt } from '../../src/outbound/week.js';
import { OUTBOUND_CHANNELS, readRun } from '../support/outbound.js';
import { run } from '../support/process.js';

// `nextbest outbound run` as a user runs it: its usage errors, its output, a chain of weeks.
const WEEK = '2026-W50';
const NEXT = weekAt(parseWeek(WEEK)!.index + 1).key;
const AFTER = weekAt(parseWeek(WEEK)!.index + 2).key;
const CLI = 'bin/nextbest.js';

describe('nextbest outbound run', () => {
  let dir: string;
  let profiles: string;
  const outbound = (...args: string[]) => run([CLI, 'outbound', 'run', ...args]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-outbound-cli-'));
    profiles = join(dir, 'profiles.ndjson');
    const made = await run([CLI, 'demo-data', '--customers', '2000', '--seed', '5', '--out', profiles]);
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe.concurrent('usage errors: exit 2, a clear message, nothing written', () => {
    const cases: [string, string[], RegExp][] = [
      [
        'a week that does not exist',
        ['--week', '2025-W53'],
        /--week 2025-W53 is not YYYY-Www, an ISO week such as 2026-W50/,
      ],
      ['not a week', ['--week', '2026-50'], /--week 2026-50 is not YYYY-Www/],
      ['no week', [], /--week YYYY-Www is required/],
      [
        '--profiles with --redis',
        ['--week', WEEK, '--profiles', 'p.ndjson', '--redis', 'redis://127.0.0.1:1'],
        /--profiles or --redis, not both/,
      ],
      [
        '--previous with --redis',
        ['--week', WEEK, '--previous', 'x', '--redis', 'redis://127.0.0.1:1'],
        /--previous is for memory runs/,
      ],
      [
        'a capacity without a number',
        ['--week', WEEK, '--capacity', 'email'],
        /--capacity email: expected CHANNEL=N, N a whole number/,
      ],
      ['a negative capacity', ['--week', WEEK, '--capacity', 'email=-1'], /--capacity email=-1: expected CHANNEL=N/],
      ['a fractional capacity', ['--week', WEEK, '--capacity', 'sms=1.5'], /--capacity sms=1\.5: expected CHANNEL=N/],
      ['a capacity of no channel', ['--week', WEEK, '--capacity', '=5'], /--capacity =5: expected CHANNEL=N/],
    ];
    for (const [what, args, message] of cases)
      it(what, async () => {
        const out = join(dir, `usage-${what.replaceAll(' ', '-')}`);
        const r = await outbound(...args, '--out', out);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toContain('usage: nextbest outbound run');
        expect(r.stdout).toBe('');
        expect(existsSync(out)).toBe(false);
      });

    it('no --out', async () => {
      const r = await outbound('--week', WEEK);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--out DIR is required/);
    });
  });

  describe.concurrent('requests the rule set cannot run: exit 1, naming what it has', () => {
    it('an unknown channel', async () => {
      const r = await outbound('--week', WEEK, '--profiles', profiles, '--channel', 'fax', '--out', join(dir, 'fax'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('outbound run: not an outbound channel of the rule set: fax');
      expect(r.stderr).toContain('email, sms, direct-mail, outbound-call');
      expect(r.stdout).toBe('');
    });

    it('an inbound channel is not an outbound one', async () => {
      const r = await outbound('--week', WEEK, '--profiles', profiles, '--channel', 'web', '--out', join(dir, 'web'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /not an outbound channel of the rule set: web \(it has email, sms, direct-mail, outbound-call\)/,
      );
    });

    it('a capacity for a channel the run does not decide', async () => {
      const r = await outbound(
        ...['--week', WEEK, '--profiles', profiles, '--channel', 'email', '--capacity', 'sms=5'],
        ...['--out', join(dir, 'undecided')],
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('capacity for "sms", which this run does not decide');
    });

    it('a profile file that is not there: a message naming it, no stack trace', async () => {
      const missing = join(dir, 'missing.ndjson');
      const r = await outbound('--week', WEEK, '--profiles', missing, '--out', join(dir, 'missing'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^outbound run: .*missing\.ndjson/m);
      expect(r.stderr).not.toContain('triggerUncaughtException');
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });

    it('a --previous folder without a run in it: a message naming it, no stack trace', async () => {
      const r = await outbound(
        ...['--week', NEXT, '--profiles', profiles, '--previous', join(dir, 'never-run')],
        ...['--out', join(dir, 'after-nothing')],
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^outbound run: .*never-run/m);
      expect(r.stderr).not.toContain('triggerUncaughtException');
    });
  });

  describe('a run', () => {
    let first: Awaited<ReturnType<typeof outbound>>;
    const a = () => join(dir, 'a');
    beforeAll(async () => {
      first = await outbound('--week', WEEK, '--profiles', profiles, '--out', a());
    });

    it('says what it sent in one line: contacts per channel, held out, not contacted, the allocation', async () => {
      expect(first.code, first.stderr).toBe(0);
      const line = first.stdout.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toMatch(
        /^week 2026-W50: email [\d,]+, sms [\d,]+, direct-mail [\d,]+, outbound-call [\d,]+; [\d,]+ held out \(control group\), [\d,]+ due but not contacted; expected value [\d,.]+, within [\d.]+ % of the best possible \([\d,.]+\); [\d.]+ s$/,
      );
      const record = JSON.parse(await readFile(join(a(), 'run.json'), 'utf8'));
      expect(line).toContain(`email ${record.counts.email.toLocaleString('en-US')}`);
      expect(line).toContain(`${record.heldOut.toLocaleString('en-US')} held out`);
      const out = await readRun(a());
      expect(out.rows.email!.length).toBe(record.counts.email);
      expect(record.counts.email).toBeGreaterThan(0);
      for (const ch of OUTBOUND_CHANNELS)
        expect(out.header[ch]!.slice(0, 4)).toEqual(['customerId', 'offerId', 'decisionId', 'sendDate']);
    });

    it('run again into its folder: says so, sends nothing again, changes no file', async () => {
      const before = await readRun(a());
      const runJson = await readFile(join(a(), 'run.json'), 'utf8');
      const again = await outbound('--week', WEEK, '--profiles', profiles, '--out', a());
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(
        /^week 2026-W50 was already run in this folder \(email [\d,]+, .*\); nothing was sent again$/m,
      );
      expect((await readRun(a())).raw).toEqual(before.raw);
      expect(await readFile(join(a(), 'run.json'), 'utf8')).toBe(runJson);
    });

    it("a folder that holds another week's run is refused, and left as it was", async () => {
      const before = await readRun(a());
      const other = await outbound('--week', NEXT, '--profiles', profiles, '--out', a());
      expect(other.code).toBe(1);
      expect(other.stderr).toContain(`holds the run of ${WEEK}`);
      expect((await readRun(a())).raw).toEqual(before.raw);
    });

    it('--json prints the run record, as run.json keeps it', async () => {
      const b = join(dir, 'json');
      const r = await outbound('--week', WEEK, '--profiles', profiles, '--out', b, '--json');
      expect(r.code, r.stderr).toBe(0);
      const printed = JSON.parse(r.stdout);
      expect(printed).toEqual(JSON.parse(await readFile(join(b, 'run.json'), 'utf8')));
      expect(printed).toMatchObject({
        runId: WEEK,
        week: WEEK,
        status: 'done',
        phase: 'done',
        channels: ['email', 'sms', 'direct-mail', 'outbound-call'],
        error: null,
      });
      expect(printed.allocation.gap).toBeLessThanOrEqual(0.01);
      // the same population, the same week: the same contacts as the first run's
      const firstRecord = JSON.parse(await readFile(join(a(), 'run.json'), 'utf8'));
      expect(printed.counts).toEqual(firstRecord.counts);
      expect((await readRun(b)).raw).toEqual((await readRun(a())).raw);
    });

    it('--previous goes on from the week before: its next steps, none of the first week again; --capacity caps a channel', async () => {
      const b = join(dir, 'b');
      const next = await outbound('--week', NEXT, '--profiles', profiles, '--previous', a(), '--out', b, '--json');
      expect(next.code, next.stderr).toBe(0);
      const weekOne = await readRun(b);
      const weekZero = await readRun(a());
      // onboarding's week-1 steps: a text (app) and, for the top segments, a call (vip-welcome)
      expect(weekOne.rows.sms!.filter((r) => r.step === 'app').length).toBeGreaterThan(0);
      expect(weekOne.rows['outbound-call']!.filter((r) => r.step === 'vip-welcome').length).toBeGreaterThan(0);
      expect(weekOne.contacts.filter((r) => r.step === 'welcome' || r.step === 'wave-1')).toEqual([]);
      expect(JSON.parse(next.stdout).entered).toEqual({});
      // without --previous the same week starts everyone afresh
      const fresh = await outbound('--week', NEXT, '--profiles', profiles, '--out', join(dir, 'fresh'), '--json');
      expect(fresh.code, fresh.stderr).toBe(0);
      const afresh = await readRun(join(dir, 'fresh'));
      expect(afresh.rows.sms).toEqual([]);
      expect(afresh.rows.email!.length).toBe(weekZero.rows.email!.length);
      // a third week, chained on, with a tight call capacity
      const c = join(dir, 'c');
      const third = await outbound(
        ...['--week', AFTER, '--profiles', profiles, '--previous', b, '--out', c],
        ...['--capacity', 'outbound-call=5', '--json'],
      );
      expect(third.code, third.stderr).toBe(0);
      const record = JSON.parse(third.stdout);
      expect(record.capacity).toEqual({ 'outbound-call': 5 });
      expect(record.counts['outbound-call']).toBe(5);
      expect(record.allocation.capacity['outbound-call']).toBe(5);
      expect((await readRun(c)).rows['outbound-call']).toHaveLength(5);
      // nobody contacted twice by one step over the three weeks
      const steps = [weekZero, weekOne, await readRun(c)].flatMap((o) =>
        o.contacts.map((r) => `${r.customerId}|${r.journey}|${r.step}`),
      );
      expect(new Set(steps).size).toBe(steps.length);
    });
  });
});
