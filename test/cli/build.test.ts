import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCustomerId, Kind, planDemo } from '../../src/offline/demo/transactions.js';
import { Profile, VALUE_SEGMENTS } from '../../src/profiles/schema.js';
import { testApp } from '../support/app.js';
import { run } from '../support/process.js';

// Runs the built command (npm test builds dist/ first).
const N = 1500;
const SEED = 3;
const AS_OF = '2026-03-01';
const cli = (...args: string[]) => run(['bin/nextbest.js', ...args]);

describe('nextbest profiles build', () => {
  let dir: string;
  let tx: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-build-'));
    tx = join(dir, 'tx.ndjson');
    expect(
      (
        await cli(
          'demo-data',
          '--transactions',
          '--customers',
          String(N),
          '--seed',
          String(SEED),
          '--as-of',
          AS_OF,
          '--out',
          tx,
        )
      ).code,
    ).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes a valid profile per customer, the segments the history was made with, and a summary', async () => {
    const out = join(dir, 'profiles.ndjson');
    const r = await cli('profiles', 'build', '--transactions', tx, '--as-of', AS_OF, '--out', out, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    const profiles = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => Profile.parse(JSON.parse(l)));
    const plan = planDemo(N, SEED);
    expect(profiles.length).toBe(plan.segmentOf.length);
    expect(summary).toMatchObject({
      asOf: AS_OF,
      profiles: profiles.length,
      skipped: 0,
      settings: { newDays: 100, lapsedDays: 180, atRisk: 0.5, consents: ['web', 'call-center'] },
    });
    // every customer active this year is in the segment the demo gave them
    const byId = new Map(profiles.map((p) => [p.customerId, p]));
    for (let i = 0; i < plan.segmentOf.length; i++) {
      if (plan.kindOf[i] === Kind.Lost) continue;
      expect(byId.get(demoCustomerId(i))!.valueSegment, demoCustomerId(i)).toBe(VALUE_SEGMENTS[plan.segmentOf[i]!]);
    }
    // the lost are regain; the phases add up
    for (let i = 0; i < N; i++)
      if (plan.kindOf[i] === Kind.Lost) expect(byId.get(demoCustomerId(i))!.lifecyclePhase).toBe('regain');
    const counted = summary.phases.reduce(
      (n: number, c: Record<string, number>) => n + VALUE_SEGMENTS.reduce((m, s) => m + c[s]!, 0),
      0,
    );
    expect(counted).toBe(profiles.length);
    for (const phase of ['new', 'loyalty', 'retain', 'regain'])
      expect(
        profiles.some((p) => p.lifecyclePhase === phase),
        phase,
      ).toBe(true);
    // the demo's clockwork monthly purchases do not identify the model: the published estimates, said so
    expect(summary.churnModel).toMatchObject({
      converged: false,
      params: { r: 0.243, a: 0.793, b: 2.426 },
      reason: expect.any(String),
    });
  });

  it('takes its thresholds from flags, writes to stdout with the summary on stderr', async () => {
    const r = await cli(
      'profiles',
      'build',
      '--transactions',
      tx,
      '--as-of',
      AS_OF,
      '--out',
      '-',
      '--new-days',
      '0',
      '--at-risk',
      '1',
      '--consents',
      'web',
    );
    expect(r.code).toBe(0);
    const profiles = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(profiles.filter((p) => p.lifecyclePhase === 'new' || p.lifecyclePhase === 'retain').length).toBe(
      profiles.filter((p) => p.tenureDays === 0).length,
    );
    expect(profiles.every((p) => p.consents.length === 1 && p.consents[0] === 'web')).toBe(true);
    expect(r.stderr).toMatch(
      /^wrote [\d,]+ profiles as of 2026-03-01 from [\d,]+ transactions to stdout in [\d.]+ s\n/,
    );
  });

  it('feeds the service: the built file preloads the memory store', async () => {
    const out = join(dir, 'preload.ndjson');
    expect((await cli('profiles', 'build', '--transactions', tx, '--as-of', AS_OF, '--out', out)).code).toBe(0);
    const t = await testApp({ PROFILES_FILE: out });
    const d = await (await t.post('/v1/decisions', { customerId: demoCustomerId(0), channel: 'web' })).json();
    expect(d.profile.found).toBe(true);
  });

  it('exits 1 on an unreadable file or with --strict and a bad line, 2 on usage', async () => {
    expect((await cli('profiles', 'build', '--transactions', join(dir, 'none'), '--out', join(dir, 'x'))).code).toBe(1);
    for (const args of [
      ['--out', 'x'],
      ['--transactions', tx],
      ['--transactions', tx, '--out', 'x', '--at-risk', '2'],
      ['--transactions', tx, '--out', 'x', '--as-of', 'yesterday'],
      ['--transactions', tx, '--out', 'x', '--consents', 'Web!'],
    ]) {
      const r = await cli('profiles', 'build', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage:');
    }
  });
});
