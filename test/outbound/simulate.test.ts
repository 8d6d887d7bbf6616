import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProfiles } from '../../src/offline/demo/index.js';
import type { RunDecision } from '../../src/outbound/files.js';
import type { RunRecord } from '../../src/outbound/records.js';
import { simulateWeeks } from '../../src/outbound/simulate.js';
import { parseWeek, weekAt } from '../../src/outbound/week.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import type { Profile } from '../../src/profiles/schema.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { rulesCopy, SHIPPED_RULES, shippedRuleSet } from '../support/rules.js';

const WEEKS = 12;
const FROM = parseWeek('2026-W50')!;
const population = () => generateProfiles({ customers: 400, seed: 7 });
const cellKey = (segment: string, phase: string) => `${phase}/${segment}`;

/** A simulation, with every decision the runs wrote and every run record, counted here on their own. */
async function simulate(ruleset: RuleSet, seed?: number) {
  const profiles = new MemoryProfileStore();
  await profiles.putMany(population());
  const written: RunDecision[] = [];
  const records: RunRecord[] = [];
  const report = await simulateWeeks({
    ruleset,
    profiles,
    from: FROM,
    weeks: WEEKS,
    ...(seed === undefined ? {} : { seed }),
    onDecision: (d) => written.push(d),
    onWeek: (_, record) => records.push(record),
  });
  // by week: a run's decisions are dated its Monday
  const decisions = records.map((_, i) => written.filter((d) => d.at === weekAt(FROM.index + i).start));
  return { report, decisions, records, profiles };
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

let tight: RuleSet;
let dirs: string[] = [];
let run: Awaited<ReturnType<typeof simulate>>;

beforeAll(async () => {
  // small capacities, so a population of 400 fills them
  const dir = await rulesCopy({
    'manifest.json': (m) => {
      m.outbound.channels.email.capacityPerRun = 60;
      m.outbound.channels['outbound-call'].capacityPerRun = 8;
    },
  });
  dirs.push(dir);
  tight = await shippedRuleSet(dir);
  run = await simulate(tight);
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe('outbound simulation', () => {
  it('counts every contact once: cells, weeks, the run records and the decisions written agree', () => {
    const { report, decisions, records } = run;
    expect(records).toHaveLength(WEEKS);
    expect(report.weekly.map((w) => w.week)).toEqual(records.map((r) => r.week));
    for (const channel of report.channels) {
      const byCells = report.cells.reduce((n, c) => n + c.contacts[channel]!, 0);
      const byWeeks = report.weekly.reduce((n, w) => n + w.contacts[channel]!, 0);
      const byRecords = records.reduce((n, r) => n + r.counts[channel]!, 0);
      const written = decisions.flat().filter((d) => d.decision.channel === channel && d.decision.offers.length > 0);
      expect([byCells, byWeeks, report.totals.contacts[channel]]).toEqual([byRecords, byRecords, byRecords]);
      expect(written).toHaveLength(byRecords);
    }
    expect(total(report.totals.contacts)).toBeGreaterThan(0);
    report.weekly.forEach((w, i) => {
      const r = records[i]!;
      expect(w.contacts).toEqual(r.counts);
      expect([w.heldOut, w.unsent]).toEqual([r.heldOut, r.unsent]);
      const held = decisions[i]!.filter((d) => d.decision.offers.length === 0);
      expect(held.length).toBe(r.heldOut + r.unsent);
      // every customer is counted every week, in exactly one cell
      expect(w.customers).toBe(400);
      expect(w.cells.reduce((n, c) => n + c.customers, 0)).toBe(400);
    });
    // the journey moves tallied in the first pass are the ones the runs wrote
    for (const j of report.journeys) {
      expect(j.entered).toBe(records.reduce((n, r) => n + (r.entered[j.journey] ?? 0), 0));
      expect(total(j.exited)).toBe(records.reduce((n, r) => n + (r.exited[j.journey] ?? 0), 0));
    }
  });

  it('never sends more on a channel than its capacity, and fills the small ones', () => {
    const { report } = run;
    for (const w of report.weekly) {
      expect(w.capacity).toMatchObject({ email: 60, 'outbound-call': 8, sms: null });
      for (const channel of report.channels) {
        const cap = w.capacity[channel];
        if (cap !== null && cap !== undefined) expect(w.contacts[channel]).toBeLessThanOrEqual(cap);
      }
    }
    const use = Object.fromEntries(report.capacity.map((c) => [c.channel, c]));
    expect(use.email!.weeksAtCapacity).toBeGreaterThan(0);
    expect(use.email!.maxUse).toBe(1);
    expect(use.sms).toMatchObject({ capacity: null, meanUse: null, maxUse: null, weeksAtCapacity: 0 });
    const shares = report.weekly.map((w) => w.contacts['outbound-call']! / 8);
    expect(use['outbound-call']!.meanUse).toBeCloseTo(shares.reduce((a, b) => a + b, 0) / WEEKS, 12);
    expect(use['outbound-call']!.weeksAtCapacity).toBe(shares.filter((s) => s >= 1).length);
  });

  it('gives contacts per customer per week as the raw tallies recount them', () => {
    const { report, decisions } = run;
    // contacts per cell counted from the decisions written, customers per cell from the weeks' cells
    const contacts = new Map<string, number>();
    for (const d of decisions.flat())
      if (d.decision.offers.length > 0) {
        const k = cellKey(d.profile.valueSegment, d.profile.lifecyclePhase);
        contacts.set(k, (contacts.get(k) ?? 0) + 1);
      }
    const customerWeeks = new Map<string, number>();
    for (const w of report.weekly)
      for (const c of w.cells) {
        const k = cellKey(c.valueSegment, c.lifecyclePhase);
        customerWeeks.set(k, (customerWeeks.get(k) ?? 0) + c.customers);
      }
    expect(report.cells).toHaveLength(16);
    for (const cell of report.cells) {
      const k = cellKey(cell.valueSegment, cell.lifecyclePhase);
      expect(cell.customerWeeks).toBe(customerWeeks.get(k) ?? 0);
      if (cell.customerWeeks === 0) {
        expect(cell.perCustomerWeek.all).toBeNull();
        continue;
      }
      expect(cell.perCustomerWeek.all).toBeCloseTo((contacts.get(k) ?? 0) / cell.customerWeeks, 12);
      for (const ch of report.channels)
        expect(cell.perCustomerWeek[ch]).toBeCloseTo(cell.contacts[ch]! / cell.customerWeeks, 12);
    }
    const all = report.totals;
    expect(all.customerWeeks).toBe(400 * WEEKS);
    expect(all.perCustomerWeek.all).toBeCloseTo(total(all.contacts) / (400 * WEEKS), 12);
    // the share contacted: distinct customers with a contact, overall and per segment
    const reached = new Set(
      decisions
        .flat()
        .filter((d) => d.decision.offers.length > 0)
        .map((d) => d.profile.customerId),
    );
    expect(all.contacted).toBe(reached.size);
    expect(all.contactedShare).toBeCloseTo(reached.size / 400, 12);
    for (const s of report.segments) {
      const members = population().filter((p) => p.valueSegment === s.valueSegment);
      expect(s.customers).toBe(members.length);
      expect(s.contacted).toBe(members.filter((p) => reached.has(p.customerId)).length);
    }
  });

  it('ages the customers: tenure grows by a week a week, new customers past 100 days become loyal', async () => {
    const { report, profiles } = run;
    const start = new Map(population().map((p) => [p.customerId, p] as const));
    const phaseIn = (p: Profile, week: number) =>
      p.lifecyclePhase === 'new' && p.tenureDays + 7 * week > 100 ? 'loyalty' : p.lifecyclePhase;
    report.weekly.forEach((w, i) => {
      const expected = new Map<string, number>();
      for (const p of start.values()) {
        const k = cellKey(p.valueSegment, phaseIn(p, i));
        expected.set(k, (expected.get(k) ?? 0) + 1);
      }
      expect(new Map(w.cells.map((c) => [cellKey(c.valueSegment, c.lifecyclePhase), c.customers]))).toEqual(expected);
    });
    for await (const batch of profiles.scan(100))
      for (const p of batch) {
        const before = start.get(p.customerId)!;
        expect(p.tenureDays).toBe(before.tenureDays + 7 * WEEKS);
        expect(p.lifecyclePhase).toBe(phaseIn(before, WEEKS));
      }
    expect(report.journeys.find((j) => j.journey === 'onboarding')!.exited.phase).toBeGreaterThan(0);
  });

  it('is reproducible: the same seed gives the same report, another seed other accepts', async () => {
    const again = await simulate(tight);
    expect(JSON.stringify(again.report)).toBe(JSON.stringify(run.report));
    expect(run.report.seed).toBe(1);
    const other = await simulate(tight, 99);
    expect(other.report.seed).toBe(99);
    expect(other.report.weekly.map((w) => w.accepts)).not.toEqual(run.report.weekly.map((w) => w.accepts));
  });

  it('lets accepts end journeys: with high propensities, customers leave on accept', async () => {
    const names = (await readdir(join(SHIPPED_RULES, 'offers'))).filter((n) => n.endsWith('.json'));
    const edits = Object.fromEntries(
      names.map((n) => [
        `offers/${n}`,
        (offer: Record<string, any>) => {
          for (const channel of Object.keys(offer.propensity ?? {})) offer.propensity[channel] = 0.9;
        },
      ]),
    );
    const dir = await rulesCopy(edits);
    dirs.push(dir);
    const { report } = await simulate(await shippedRuleSet(dir));
    const accepts = total(report.totals.accepts);
    const contacts = total(report.totals.contacts);
    // 0.9 of the contacts, within five standard deviations of a binomial draw
    expect(Math.abs(accepts - 0.9 * contacts)).toBeLessThan(5 * Math.sqrt(contacts * 0.09));
    const byAccept = Object.fromEntries(report.journeys.map((j) => [j.journey, j.exited.accept]));
    expect(byAccept.onboarding).toBeGreaterThan(0);
    expect(byAccept.loyalty).toBeGreaterThan(0);
    const shipped = run.report.journeys.reduce((n, j) => n + j.exited.accept, 0);
    expect(report.journeys.reduce((n, j) => n + j.exited.accept, 0)).toBeGreaterThan(shipped);
    // an accept also holds the offer back afterwards ("stop after accept")
    expect(report.capsHit.find((c) => c.rule === 'stop after accept')?.heldBack).toBeGreaterThan(0);
  });

  it('refuses a number of weeks outside 1 to 104', async () => {
    const profiles = new MemoryProfileStore();
    for (const weeks of [0, 105, 1.5])
      await expect(simulateWeeks({ ruleset: tight, profiles, from: FROM, weeks })).rejects.toThrow(/1 to 104/);
  });
});
