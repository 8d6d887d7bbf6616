import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/process.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/cli).
const nextbest = (...args: string[]) => run(['bin/nextbest.js', ...args]);

const CUSTOMERS = 8000;
/**
 * Some 30 intervals are checked, each holding the truth 95 % of the time: about one world in
 * three has one outside by chance. This world is one of the others; how often the intervals
 * hold the truth over many worlds is what `npm run bench:impact` measures.
 */
const SEED = 44;
/** The effects the README documents for the world, in points on the chance of buying in the 90 days after t0. */
const EFFECT_POINTS: Record<string, Record<string, number>> = {
  new: { super: 0, top: 0, middle: 0, bottom: 0 },
  loyalty: { super: 0, top: 0, middle: 0, bottom: 0 },
  retain: { super: 6, top: 6, middle: 6, bottom: 6 },
  regain: { super: 0, top: 0, middle: 4, bottom: 4 },
};

/** The documented chance of buying in the 90 days after t0 without the decisions, by phase. */
const BUYS_AFTER: Record<string, number> = { new: 0.85, loyalty: 0.9, retain: 0.55, regain: 0.25 };

interface Interval {
  difference: number;
  ciLow: number;
  ciHigh: number;
}
interface Group {
  lifecyclePhase: string;
  valueSegment: string;
  arms: Record<string, { customers: number; activeRate: number | null }>;
  revenuePerCustomer: Interval | null;
  revenuePerCustomerCuped: (Interval & { varianceReduction: number }) | null;
  activeRate: Interval | null;
}
interface Report {
  customers: number;
  measured: number;
  pending: number;
  comparisons: { name: string; groups: Group[] }[];
}
interface Profile {
  customerId: string;
  lifecyclePhase: string;
  valueSegment: string;
  annualRevenue: number;
}

const lines = (text: string) => text.trimEnd().split('\n');
/** A world's decision log: its files (a UTC day each, named as the decision log names them) in order, as one text. */
async function logOf(world: string): Promise<string> {
  const names = (await readdir(join(world, 'decisions'))).sort();
  for (const n of names) expect(n).toMatch(/^decisions-\d{4}-\d{2}-\d{2}\.ndjson$/);
  return (await Promise.all(names.map((n) => readFile(join(world, 'decisions', n), 'utf8')))).join('');
}

describe('nextbest demo-data --world', () => {
  let dir: string;
  let profiles: Profile[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-world-'));
    const r = await nextbest(
      'demo-data',
      '--world',
      join(dir, 'a'),
      '--customers',
      String(CUSTOMERS),
      '--seed',
      String(SEED),
    );
    // stdout empty, the summary on stderr
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^wrote a world of 8,000 customers to \S+ in [\d.]+ s: 8,000 profiles, [\d,]+ transactions, [\d,]+ decisions in \d+ daily log files\n$/,
    );
    expect(r.code).toBe(0);
    profiles = lines(await readFile(join(dir, 'a', 'profiles.ndjson'), 'utf8')).map((l) => JSON.parse(l) as Profile);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('logs 180 days of decisions in the decision-log format, with a 10 % control group held out of marketing on the web', async () => {
    expect(profiles).toHaveLength(CUSTOMERS);
    const records = lines(await logOf(join(dir, 'a')));
    const parsed = records.map((l) => JSON.parse(l));
    // the log's own serialization: the keys in its order, numbers as JSON writes them
    for (const [i, line] of records.entries()) expect(JSON.stringify(parsed[i])).toBe(line);
    expect(Object.keys(parsed[0])).toEqual([
      'decisionId',
      'at',
      'customerId',
      'channel',
      'interactionId',
      'arm',
      'rulesetVersion',
      'degraded',
      'preview',
      'profile',
      'offers',
    ]);
    const times = parsed.map((r) => Date.parse(r.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(Date.parse('2026-01-05T00:00:00Z'));
    expect(Math.max(...times)).toBeLessThan(Date.parse('2026-01-05T00:00:00Z') + 180 * 86_400_000);
    expect(new Set(parsed.map((r) => r.decisionId)).size).toBe(parsed.length);
    const perCustomer = new Map<string, number>();
    const armOf = new Map<string, string>();
    for (const r of parsed) {
      perCustomer.set(r.customerId, (perCustomer.get(r.customerId) ?? 0) + 1);
      // a customer's arm is sticky
      expect(armOf.get(r.customerId) ?? r.arm).toBe(r.arm);
      armOf.set(r.customerId, r.arm);
      expect(['web', 'call-center']).toContain(r.channel);
      expect(r.interactionId === null).toBe(r.channel === 'web');
    }
    expect(perCustomer.size).toBe(CUSTOMERS);
    expect(Math.min(...perCustomer.values())).toBeGreaterThanOrEqual(2);
    expect(Math.max(...perCustomer.values())).toBeLessThanOrEqual(5);
    const control = [...armOf.values()].filter((a) => a === 'control').length / CUSTOMERS;
    expect(control).toBeGreaterThan(0.085);
    expect(control).toBeLessThan(0.115);
    // the shipped rules hold the marketing groups out on the web; service and save are answered for everyone
    const marketing = new Set(['onboard', 'care', 'develop', 'anti-churn', 'end', 'winback']);
    const controlWeb = parsed.filter((r) => r.arm === 'control' && r.channel === 'web');
    expect(controlWeb.length).toBeGreaterThan(100);
    for (const r of controlWeb) for (const o of r.offers) expect(marketing.has(o.group)).toBe(false);
    const treatedWeb = parsed.filter((r) => r.arm === 'champion' && r.channel === 'web');
    expect(treatedWeb.some((r) => r.offers.some((o: { group: string }) => marketing.has(o.group)))).toBe(true);
    // each decision logs the profile it was made for
    const byId = new Map(profiles.map((p) => [p.customerId, p]));
    for (const r of parsed.slice(0, 500)) {
      const p = byId.get(r.customerId)!;
      expect(r.profile).toMatchObject({ found: true, lifecyclePhase: p.lifecyclePhase, valueSegment: p.valueSegment });
    }
  });

  /** The world of the tests above measured by `nextbest impact --json`, once. */
  let measured: ReturnType<typeof nextbest> | undefined;
  const impactOfWorld = () =>
    (measured ??= nextbest(
      'impact',
      '--decisions',
      join(dir, 'a', 'decisions'),
      '--transactions',
      join(dir, 'a', 'transactions.ndjson'),
      '--json',
    ));

  it('gives impact the effects it was made with: inside the 95 % intervals, none where there is none, CUPED narrower', async () => {
    const r = await impactOfWorld();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({ customers: CUSTOMERS, measured: CUSTOMERS, pending: 0 });
    // the truth, from the profiles and the documented model: the chance of buying rises by the
    // group's points, and the customers it brings spend their level (annual revenue ÷ 365 a day) for 90 days
    const truth = new Map<string, { n: number; active: number; revenue: number }>();
    const add = (key: string, active: number, revenue: number) => {
      const t = truth.get(key) ?? { n: 0, active: 0, revenue: 0 };
      truth.set(key, { n: t.n + 1, active: t.active + active, revenue: t.revenue + revenue });
    };
    for (const p of profiles) {
      const effect = EFFECT_POINTS[p.lifecyclePhase]![p.valueSegment]! / 100;
      const revenue = (effect * p.annualRevenue * 90) / 365;
      add('all × all', effect, revenue);
      add(`${p.lifecyclePhase} × ${p.valueSegment}`, effect, revenue);
    }
    const groups = report.comparisons[0]!.groups;
    const measured = groups.filter((g) => g.revenuePerCustomer !== null);
    const withEffect = measured.filter((g) => (EFFECT_POINTS[g.lifecyclePhase]?.[g.valueSegment] ?? 1) > 0);
    const without = measured.filter((g) => EFFECT_POINTS[g.lifecyclePhase]?.[g.valueSegment] === 0);
    // enough groups of both kinds to say something
    expect(withEffect.length).toBeGreaterThanOrEqual(4); // the total, retain and regain groups
    expect(without.length).toBeGreaterThanOrEqual(5);
    for (const g of measured) {
      const key = `${g.lifecyclePhase} × ${g.valueSegment}`;
      const t = truth.get(key)!;
      const revenue = t.revenue / t.n;
      const active = t.active / t.n;
      for (const [what, e, value] of [
        ['revenue', g.revenuePerCustomer!, revenue],
        ['revenue with CUPED', g.revenuePerCustomerCuped!, revenue],
        ['active', g.activeRate!, active],
      ] as const) {
        expect(e.ciLow, `${key} ${what}: ${value} in [${e.ciLow}, ${e.ciHigh}]`).toBeLessThanOrEqual(value);
        expect(e.ciHigh, `${key} ${what}: ${value} in [${e.ciLow}, ${e.ciHigh}]`).toBeGreaterThanOrEqual(value);
      }
    }
    for (const g of without) {
      expect(g.revenuePerCustomer!.ciLow).toBeLessThanOrEqual(0);
      expect(g.revenuePerCustomer!.ciHigh).toBeGreaterThanOrEqual(0);
      expect(g.revenuePerCustomerCuped!.ciLow).toBeLessThanOrEqual(0);
      expect(g.revenuePerCustomerCuped!.ciHigh).toBeGreaterThanOrEqual(0);
    }
    const total = groups[0]!;
    expect(total).toMatchObject({ lifecyclePhase: 'all', valueSegment: 'all' });
    expect(truth.get('all × all')!.revenue).toBeGreaterThan(0);
    const plain = total.revenuePerCustomer!;
    const adjusted = total.revenuePerCustomerCuped!;
    expect(adjusted.ciHigh - adjusted.ciLow).toBeLessThanOrEqual(0.7 * (plain.ciHigh - plain.ciLow));
  });

  it('has each arm buy after t0 at the documented rates, the treated with the effect added', async () => {
    const r = await impactOfWorld();
    const groups = (JSON.parse(r.stdout) as Report).comparisons[0]!.groups.slice(1);
    for (const phase of Object.keys(BUYS_AFTER))
      for (const arm of ['treatment', 'control']) {
        let n = 0;
        let active = 0;
        let expected = 0;
        for (const g of groups.filter((g) => g.lifecyclePhase === phase)) {
          const a = g.arms[arm]!;
          const lift = arm === 'treatment' ? EFFECT_POINTS[phase]![g.valueSegment]! / 100 : 0;
          n += a.customers;
          active += (a.activeRate ?? 0) * a.customers;
          expected += (BUYS_AFTER[phase]! + lift) * a.customers;
        }
        const p = expected / n;
        // within 3 standard errors of a binomial share
        expect(Math.abs(active / n - p), `${phase} ${arm}: ${active / n} against ${p} of ${n}`).toBeLessThan(
          3 * Math.sqrt((p * (1 - p)) / n),
        );
      }
  });

  it('writes the same files for the same seed, other files for another', async () => {
    const make = async (name: string, seed: number) => {
      const r = await nextbest('demo-data', '--world', join(dir, name), '--customers', '300', '--seed', String(seed));
      expect(r.code, r.stderr).toBe(0);
      const read = (f: string) => readFile(join(dir, name, f), 'utf8');
      return Promise.all([read('profiles.ndjson'), logOf(join(dir, name)), read('transactions.ndjson')]);
    };
    const [first, again, other] = [await make('b', 7), await make('c', 7), await make('d', 8)];
    expect(again).toEqual(first);
    for (let i = 0; i < 3; i++) expect(other[i]).not.toBe(first[i]);
    expect(lines(first[1]!).length).toBeGreaterThanOrEqual(600);
  });

  it('refuses flags that do not go with --world', async () => {
    for (const args of [
      ['--world', join(dir, 'e'), '--out', join(dir, 'x.ndjson')],
      ['--world', join(dir, 'e'), '--transactions'],
      ['--world', ''],
      ['--world', join(dir, 'e'), '--customers', '0'],
    ]) {
      const r = await nextbest('demo-data', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^demo-data: .*\nusage: nextbest demo-data/s);
    }
  });
});
