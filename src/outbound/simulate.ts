/**
 * Many weeks of outbound runs on a population in memory, the world between them simulated:
 * the contact frequency each segment gets from the journeys, caps and capacities over time.
 */
import { MemoryContactStore } from '../contacts/memory.js';
import type { ResponseEvent } from '../contacts/store.js';
import { priorPropensity } from '../learning/model.js';
import { mixSeed, seededRng } from '../math/random.js';
import type { MemoryProfileStore } from '../profiles/memory.js';
import { LIFECYCLE_PHASES, type Profile, VALUE_SEGMENTS } from '../profiles/schema.js';
import type { RuleSet } from '../rules/index.js';
import type { CustomerWeek } from './customer.js';
import type { RunDecision, RunSink } from './files.js';
import type { RunRecord, RunRecords } from './records.js';
import { runWeek } from './run.js';
import { WEEK_MS, type Week, weekAt } from './week.js';

export const MAX_WEEKS = 104;
export const DEFAULT_SEED = 1;
/** Days of contact counts kept: every simulated day, wherever the weeks lie in time. */
const KEEP_DAYS = 1_000_000;
const CELLS = VALUE_SEGMENTS.length * LIFECYCLE_PHASES.length;

/** What the simulation takes for the world between runs; the report carries it. */
export const ASSUMPTIONS = [
  "Each contact sent is accepted with probability equal to its offer's propensity in the decision (the model's estimate for the channel); the accept is recorded as a response naming the decision, at a random moment of the week it was sent, after the send.",
  'Nothing else comes back: no clicks, rejects or inbound contacts, so only these accepts end journeys, answer waves and start suppressions.',
  'Customers age: tenureDays grows by 7 a week, and a new customer whose tenure passes 100 days becomes a loyalty customer.',
  'Nothing else about a customer changes: value segment, churn score, consents and the other phases stay as loaded; no customer joins or leaves.',
  "Propensities are the rule set's priors, as `outbound run` uses them; the accepts do not teach the model.",
  "Every week gets each channel's capacity from the manifest; a fixed seed makes the simulation reproducible.",
] as const;

/** The report: see the JSON shape in src/cli/outbound-simulate.ts. */
export type OutboundSimulation = ReturnType<typeof report>;

/** Customers and contacts of a group of cells (one cell, a segment's four, all) over the weeks. */
export interface GroupTally {
  /** Σ over the weeks of the group's customers that week */
  readonly customerWeeks: number;
  /** customers in the group at least one week, and of them those contacted while in it */
  readonly customers: number;
  readonly contacted: number;
  readonly contactedShare: number | null;
  readonly contacts: Record<string, number>;
  /** contacts ÷ customerWeeks, per channel and `all`; null for a group no one was in */
  readonly perCustomerWeek: Record<string, number | null>;
}

export interface SimulationOptions {
  readonly ruleset: RuleSet;
  /** the population; it ages in place as the weeks pass */
  readonly profiles: MemoryProfileStore;
  readonly from: Week;
  readonly weeks: number;
  readonly seed?: number;
  /** told after each week */
  readonly onWeek?: (done: number, record: RunRecord) => void;
  /** told of every decision the runs write, besides the tallies (a test's own count) */
  readonly onDecision?: (d: RunDecision) => void;
}

const cellOf = (p: Profile) =>
  LIFECYCLE_PHASES.indexOf(p.lifecyclePhase) * VALUE_SEGMENTS.length + VALUE_SEGMENTS.indexOf(p.valueSegment);
const cellName = (c: number) => ({
  valueSegment: VALUE_SEGMENTS[c % VALUE_SEGMENTS.length]!,
  lifecyclePhase: LIFECYCLE_PHASES[Math.floor(c / VALUE_SEGMENTS.length)]!,
});
type Counts = Record<string, number>;
const perChannel = <T>(channels: readonly string[], f: (i: number) => T): Record<string, T> =>
  Object.fromEntries(channels.map((c, i) => [c, f(i)]));

/** Raw counts of one week, flat: customers per cell, contacts per cell × channel. */
interface WeekCounts {
  readonly week: Week;
  readonly customers: Uint32Array;
  readonly contacts: Uint32Array;
  readonly accepts: Uint32Array;
  heldOut: number;
  unsent: number;
  record?: RunRecord;
}

/** What the weeks add up, kept small: arrays per week, and per customer two 16-bit sets of cells. */
const tallies = (channels: readonly string[], ruleset: RuleSet, customers: number) => ({
  channels,
  weeks: [] as WeekCounts[],
  /** per customer (in the order first seen): the cells they were in, the cells they were contacted in */
  inCells: new Uint16Array(customers),
  contactedIn: new Uint16Array(customers),
  seen: new Map<string, number>(),
  journeys: new Map(ruleset.journeys.map((j) => [j.id, { entered: 0, exited: { phase: 0, accept: 0, complete: 0 } }])),
  caps: new Map<string, Uint32Array>(),
  noConsent: 0,
});
type Tallies = ReturnType<typeof tallies>;

/** A week older: tenure grows, a new customer past 100 days becomes a loyal one (a new object: profiles are frozen). */
async function age(profiles: MemoryProfileStore): Promise<void> {
  for await (const batch of profiles.scan(1_000))
    await profiles.putMany(
      batch.map((p) => {
        const tenureDays = p.tenureDays + 7;
        return {
          ...p,
          tenureDays,
          lifecyclePhase: p.lifecyclePhase === 'new' && tenureDays > 100 ? 'loyalty' : p.lifecyclePhase,
        };
      }),
    );
}

/** Runs `weeks` consecutive weeks from `from` on the population, the world simulated in between. */
export async function simulateWeeks(o: SimulationOptions): Promise<OutboundSimulation> {
  if (!Number.isInteger(o.weeks) || o.weeks < 1 || o.weeks > MAX_WEEKS)
    throw new RangeError(`weeks must be a whole number from 1 to ${MAX_WEEKS}, got ${o.weeks}`);
  const seed = o.seed ?? DEFAULT_SEED;
  const channels = [...o.ruleset.outbound.channels.keys()];
  const C = channels.length;
  const channelIndex = new Map(channels.map((c, i) => [c, i]));
  const customers = await o.profiles.size();
  const t = tallies(channels, o.ruleset, customers);
  // a customer's place in the bit sets: given on first sight
  const slot = (id: string) => t.seen.get(id) ?? t.seen.set(id, t.seen.size).size - 1;
  // room for every customer: an evicted state would forget their journeys and caps
  const contacts = new MemoryContactStore(() => KEEP_DAYS, customers + 1_000);
  const saved = new Map<string, RunRecord>();
  const records: RunRecords = { load: async (w) => saved.get(w), save: async (r) => void saved.set(r.week, r) };
  for (let i = 0; i < o.weeks; i++) {
    const week = weekAt(o.from.index + i);
    const w: WeekCounts = {
      week,
      customers: new Uint32Array(CELLS),
      contacts: new Uint32Array(CELLS * C),
      accepts: new Uint32Array(C),
      heldOut: 0,
      unsent: 0,
    };
    t.weeks.push(w);
    const accepts: ResponseEvent[] = [];
    // every customer of the first pass: their cell, journey moves, the offers caps held back
    const onCustomer = (cw: CustomerWeek, profile: Profile) => {
      const cell = cellOf(profile);
      w.customers[cell]!++;
      t.inCells[slot(profile.customerId)]! |= 1 << cell;
      for (const j of cw.moves.entered) t.journeys.get(j)!.entered++;
      for (const x of cw.moves.exited) t.journeys.get(x.journey)!.exited[x.reason]++;
      t.noConsent += cw.moves.noConsent;
      for (const choice of cw.choices)
        for (const rule of choice.outcome.suppressed.values()) {
          if (!t.caps.has(rule)) t.caps.set(rule, new Uint32Array(C));
          t.caps.get(rule)![channelIndex.get(choice.channel)!]!++;
        }
    };
    // every decision written: a contact (its accept drawn), a held-out step or an unsent one
    const write = (d: RunDecision) => {
      o.onDecision?.(d);
      const { decision, profile } = d;
      const offer = decision.offers[0];
      if (offer === undefined) return void (decision.arm === 'control' ? w.heldOut++ : w.unsent++);
      const ch = channelIndex.get(decision.channel)!;
      const cell = cellOf(profile);
      w.contacts[cell * C + ch]!++;
      t.contactedIn[slot(profile.customerId)]! |= 1 << cell;
      // one stream per decision: the draw does not depend on the order decisions come in
      const rng = seededRng(mixSeed(seed, Number.parseInt(decision.decisionId.slice(0, 8), 16)));
      if (rng() >= offer.propensity) return;
      w.accepts[ch]!++;
      const { customerId, decisionId, channel } = decision;
      // strictly after the send: a wave's "no response since the send" must see it
      const at = week.start + 1 + Math.floor(rng() * (WEEK_MS - 1));
      accepts.push({
        eventId: `simulated-accept-${decisionId}`,
        customerId,
        offerId: offer.offerId,
        outcome: 'accept',
        channel,
        decisionId,
        at,
      });
    };
    const sink: RunSink = { write, flush: () => ({}), close: () => {} };
    w.record = await runWeek(
      { profiles: o.profiles, contacts },
      { week, ruleset: o.ruleset, model: priorPropensity, dir: '', sink, records, onCustomer, now: () => week.start },
    );
    await contacts.record(accepts);
    await age(o.profiles);
    o.onWeek?.(i + 1, w.record);
  }
  return report(o, seed, customers, t);
}

const sum = (xs: Iterable<number>) => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

function report(o: SimulationOptions, seed: number, customers: number, t: Tallies) {
  const { channels } = t;
  const C = channels.length;
  const at = (w: WeekCounts, c: number, i: number) => w.contacts[c * C + i]!;
  const weekly = t.weeks.map((w) => {
    const cells: (ReturnType<typeof cellName> & { customers: number; contacts: Counts })[] = [];
    for (let c = 0; c < CELLS; c++)
      if (w.customers[c]! > 0)
        cells.push({ ...cellName(c), customers: w.customers[c]!, contacts: perChannel(channels, (i) => at(w, c, i)) });
    const capacity = w.record?.allocation?.capacity ?? {};
    return {
      week: w.week.key,
      sendDate: w.week.sendDate,
      customers: sum(w.customers),
      contacts: perChannel(channels, (i) => sum(cells.map((x) => x.contacts[channels[i]!]!))),
      capacity: perChannel(channels, (i) => capacity[channels[i]!] ?? null),
      heldOut: w.heldOut,
      unsent: w.unsent,
      accepts: sum(w.accepts),
      cells,
    };
  });
  // a group of cells (one cell, a segment's four, all): customers ever in it and contacted while in it
  const group = (mask: number): GroupTally => {
    let customers = 0;
    let contacted = 0;
    for (let s = 0; s < t.seen.size; s++) {
      if ((t.inCells[s]! & mask) !== 0) customers++;
      if ((t.contactedIn[s]! & mask) !== 0) contacted++;
    }
    const inMask = (c: number) => ((mask >> c) & 1) === 1;
    const customerWeeks = sum(t.weeks.flatMap((w) => [...w.customers].filter((_, c) => inMask(c))));
    const contacts = perChannel(channels, (i) =>
      sum(t.weeks.flatMap((w) => Array.from({ length: CELLS }, (_, c) => (inMask(c) ? at(w, c, i) : 0)))),
    );
    const per = (n: number) => (customerWeeks === 0 ? null : n / customerWeeks);
    return {
      customerWeeks,
      customers,
      contacted,
      contactedShare: customers === 0 ? null : contacted / customers,
      contacts,
      perCustomerWeek: {
        ...perChannel(channels, (i) => per(contacts[channels[i]!]!)),
        all: per(sum(Object.values(contacts))),
      },
    };
  };
  const cells = Array.from({ length: CELLS }, (_, c) => ({ ...cellName(c), ...group(1 << c) }));
  const segments = VALUE_SEGMENTS.map((valueSegment, k) => {
    let mask = 0;
    for (let ph = 0; ph < LIFECYCLE_PHASES.length; ph++) mask |= 1 << (ph * VALUE_SEGMENTS.length + k);
    return { valueSegment, ...group(mask) };
  });
  const capacity = channels.map((channel) => {
    const uses = weekly.flatMap((w) => {
      const cap = w.capacity[channel];
      return cap === null || cap === undefined || cap === 0 ? [] : [w.contacts[channel]! / cap];
    });
    const cap = weekly[0]?.capacity[channel] ?? null;
    return {
      channel,
      capacity: cap,
      contacts: sum(weekly.map((w) => w.contacts[channel]!)),
      meanUse: uses.length === 0 ? null : sum(uses) / uses.length,
      maxUse: uses.length === 0 ? null : Math.max(...uses),
      weeksAtCapacity: weekly.filter((w) => w.capacity[channel] != null && w.contacts[channel]! >= w.capacity[channel]!)
        .length,
    };
  });
  const all = group((1 << CELLS) - 1);
  return {
    rulesetVersion: o.ruleset.version,
    seed,
    from: o.from.key,
    to: weekAt(o.from.index + o.weeks - 1).key,
    weeks: o.weeks,
    customers,
    channels,
    assumptions: [...ASSUMPTIONS],
    totals: {
      ...all,
      heldOut: sum(weekly.map((w) => w.heldOut)),
      unsent: sum(weekly.map((w) => w.unsent)),
      noConsent: t.noConsent,
      accepts: perChannel(channels, (i) => sum(t.weeks.map((w) => w.accepts[i]!))),
    },
    segments,
    cells,
    capacity,
    capsHit: [...t.caps]
      .map(([rule, by]) => ({ rule, heldBack: sum(by), byChannel: perChannel(channels, (i) => by[i]!) }))
      .sort((a, b) => b.heldBack - a.heldBack || (a.rule < b.rule ? -1 : 1)),
    journeys: [...t.journeys].map(([journey, j]) => ({ journey, ...j })),
    weekly,
  };
}
