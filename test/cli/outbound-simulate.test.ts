import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProfiles } from '../../src/offline/demo/index.js';
import { run } from '../support/process.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/cli).

let dir: string;
let population: string;
const simulate = (...args: string[]) => run(['bin/nextbest.js', 'outbound', 'simulate', ...args]);
const small = () => ['--profiles', population, '--weeks', '6', '--from', '2026-W50'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nextbest-outbound-simulate-'));
  population = join(dir, 'customers.ndjson');
  const lines = generateProfiles({ customers: 300, seed: 3 }).map((p) => JSON.stringify(p));
  await writeFile(population, `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nextbest outbound simulate', () => {
  it('prints the frequency table by phase × segment, capacity, caps, journeys and the assumptions', async () => {
    const r = await simulate(...small());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^6 weeks 2026-W50 – 2027-W02, 300 customers \(.*customers\.ndjson\), rules /);
    expect(r.stdout).toContain('contacts per customer per week, by lifecycle phase × value segment');
    expect(r.stdout).toMatch(
      /phase × segment +customers +email +sms +direct-mail +outbound-call +all +one every +contacted/,
    );
    expect(r.stdout).toMatch(/\n {2}loyalty × middle +[\d,]+ +\d\.\d{3} /);
    expect(r.stdout).toMatch(/\n {2}all +300 /);
    expect(r.stdout).toMatch(/\n {2}outbound-call +400 /);
    expect(r.stdout).toContain('journeys entered and left (by reason)');
    expect(r.stdout).toMatch(/\n {2}onboarding +\d+/);
    expect(r.stdout).toContain('assumptions:\n  - Each contact sent is accepted with probability');
  });

  it('--json prints the whole report as one document', async () => {
    const r = await simulate(...small(), '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      rules: { dir: 'rules', version: expect.any(String) },
      profiles: { file: population, customers: 300, rejectedLines: 0 },
      seed: 1,
      from: '2026-W50',
      to: '2027-W02',
      weeks: 6,
      channels: ['email', 'sms', 'direct-mail', 'outbound-call'],
      elapsedMs: expect.any(Number),
    });
    expect(Object.keys(doc)).toEqual([
      'rules',
      'profiles',
      'seed',
      'from',
      'to',
      'weeks',
      'channels',
      'assumptions',
      'totals',
      'segments',
      'cells',
      'capacity',
      'capsHit',
      'journeys',
      'weekly',
      'elapsedMs',
    ]);
    expect(doc.assumptions.length).toBeGreaterThan(3);
    expect(doc.cells).toHaveLength(16);
    expect(doc.segments.map((s: { valueSegment: string }) => s.valueSegment)).toEqual([
      'super',
      'top',
      'middle',
      'bottom',
    ]);
    expect(doc.weekly).toHaveLength(6);
    expect(doc.weekly[0]).toMatchObject({ week: '2026-W50', sendDate: '2026-12-07', customers: 300 });
    expect(Object.keys(doc.totals)).toEqual(
      expect.arrayContaining(['customerWeeks', 'contacted', 'perCustomerWeek', 'heldOut', 'unsent', 'accepts']),
    );
    expect(doc.capacity.find((c: { channel: string }) => c.channel === 'outbound-call').capacity).toBe(400);
    expect(doc.journeys.map((j: { journey: string }) => j.journey).sort()).toEqual([
      'anti-churn',
      'loyalty',
      'onboarding',
      'winback',
    ]);
  });

  it('--html writes a page with the charts as SVG and the tables', async () => {
    const file = join(dir, 'frequency.html');
    const r = await simulate(...small(), '--html', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`HTML report in ${file}`);
    const page = await readFile(file, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page.match(/<svg/g)?.length).toBe(2);
    expect(page).toContain('data-chart="frequency"');
    expect(page).toContain('data-chart="channels"');
    expect(page).toContain('<th>phase × segment</th>');
    expect(page).not.toMatch(/<script/);
  });

  it('uses the demo population without --profiles', async () => {
    const r = await simulate('--weeks', '1', '--from', '2026-W50', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).profiles).toEqual({ file: null, customers: 10_000, rejectedLines: 0 });
  });

  it.each([
    [['--weeks', '0'], '--weeks wants a whole number from 1 to 104, got "0"'],
    [['--weeks', '105'], '--weeks wants a whole number from 1 to 104, got "105"'],
    [['--weeks', 'ten'], '--weeks wants a whole number from 1 to 104, got "ten"'],
    [['--from', '2026-W54'], '--from 2026-W54 is not YYYY-Www, an ISO week such as 2026-W50'],
    [['--from', '2026-12-07'], '--from 2026-12-07 is not YYYY-Www'],
    [['--wekes', '3'], 'unknown option --wekes'],
  ])('a usage error (%s) exits 2 with its message and the usage', async (args, message) => {
    const r = await simulate(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`outbound simulate: ${message}`);
    expect(r.stderr).toContain('usage: nextbest outbound simulate');
    expect(r.stdout).toBe('');
  });

  it('a profile file it cannot read exits 1 with the reason', async () => {
    const r = await simulate('--profiles', join(dir, 'missing.ndjson'), '--weeks', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^outbound simulate: .*missing\.ndjson/);
  });

  it('is listed with the outbound commands', async () => {
    const r = await run(['bin/nextbest.js', 'outbound', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nextbest outbound simulate [--weeks N]');
  });
});
