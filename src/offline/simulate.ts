import { EMPTY_CONTACTS } from '../contacts/state.js';
import { decide } from '../decision/decide.js';
import type { ContextValue } from '../decision/types.js';
import { priorPropensity } from '../learning/model.js';
import {
  LIFECYCLE_PHASES,
  type LifecyclePhase,
  type Profile,
  VALUE_SEGMENTS,
  type ValueSegment,
} from '../profiles/schema.js';
import type { RuleSet } from '../rules/ruleset.js';

/**
 * A preview of what a rule set would answer for a population: per channel, the share of
 * customers per top offer (the first offer of the answer) overall and per lifecycle phase ×
 * value segment, and, against a baseline rule set, how that mix shifts and who moves where.
 * Pure and reproducible: offers' prior propensities (no learning, no exploration), no contact
 * history, the champion arm (no control group), one fixed moment.
 */
export interface SimulationSettings {
  readonly rules: RuleSet;
  readonly baseline?: RuleSet | undefined;
  /** every one declared by `rules` (checked by the caller) */
  readonly channels: readonly string[];
  readonly context?: Readonly<Record<string, ContextValue>> | undefined;
  /** the request's placement, for weights that depend on it */
  readonly placement?: string | undefined;
  /** the moment every decision is made at; contact policy reads it, with an empty history it changes nothing */
  readonly now?: number;
}

/** A number of customers and its share (0–1) of the customers it is counted among. */
export interface Count {
  readonly customers: number;
  readonly share: number;
}

export interface OfferCount extends Count {
  readonly offerId: string;
}

/** What the customers of one group get first; `noOffer` plus every `topOffers` share make 1. */
export interface Mix {
  readonly customers: number;
  readonly noOffer: Count;
  /** most customers first */
  readonly topOffers: readonly OfferCount[];
}

export interface Cell {
  readonly lifecyclePhase: LifecyclePhase;
  readonly valueSegment: ValueSegment;
}

export type CellMix = Cell & Mix;

/** One rule set's answers on one channel: overall, and per phase × segment (all 16 cells, in schema order). */
export interface ChannelMix extends Mix {
  readonly segments: readonly CellMix[];
}

export interface OfferShift {
  /** null: no offer */
  readonly offerId: string | null;
  readonly before: Count;
  readonly after: Count;
  /** after.share − before.share */
  readonly shareChange: number;
}

/** Customers whose top offer was `from` under the baseline and is `to` under the rules (null: no offer). */
export interface Flow extends Count {
  readonly from: string | null;
  readonly to: string | null;
  /** where the move happens, most customers first */
  readonly segments: readonly (Cell & { readonly customers: number })[];
}

export interface Shift {
  /** customers whose top offer changes */
  readonly changed: Count;
  /** every top offer (and no offer) either rule set gives, largest change first */
  readonly offers: readonly OfferShift[];
  /** largest first */
  readonly flows: readonly Flow[];
}

export interface ChannelSimulation {
  readonly channel: string;
  readonly customers: number;
  readonly rules: ChannelMix;
  /** null without a baseline */
  readonly baseline: ChannelMix | null;
  /** false when the baseline does not declare the channel: there it counts as no offer for everyone */
  readonly baselineDeclaresChannel: boolean | null;
  readonly shift: Shift | null;
}

export interface SimulationReport {
  readonly rulesVersion: string;
  readonly baselineVersion: string | null;
  readonly context: Readonly<Record<string, ContextValue>>;
  readonly placement: string | null;
  readonly channels: readonly ChannelSimulation[];
}

type Top = string | null;

interface CellTally {
  customers: number;
  readonly after: Map<Top, number>;
  readonly before: Map<Top, number>;
}

interface ChannelTally {
  readonly channel: string;
  readonly baselineDeclares: boolean;
  /** index: phase × 4 + segment */
  readonly cells: CellTally[];
  /** key `from \n to` (offer ids hold no line feed); value: customers per cell index */
  readonly flows: Map<string, { from: Top; to: Top; cells: Map<number, number> }>;
}

const share = (n: number, of: number): number => (of === 0 ? 0 : n / of);
const bump = <K>(map: Map<K, number>, key: K, by = 1): void => void map.set(key, (map.get(key) ?? 0) + by);
const PHASE_INDEX = new Map(LIFECYCLE_PHASES.map((p, i) => [p, i]));
const SEGMENT_INDEX = new Map(VALUE_SEGMENTS.map((s, i) => [s, i]));
const cellOf = (i: number): Cell => ({
  lifecyclePhase: LIFECYCLE_PHASES[Math.floor(i / VALUE_SEGMENTS.length)]!,
  valueSegment: VALUE_SEGMENTS[i % VALUE_SEGMENTS.length]!,
});
const byCustomers =
  <T extends { customers: number }>(key: (t: T) => string) =>
  (a: T, b: T) =>
    b.customers - a.customers || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

function mixOf(counts: ReadonlyMap<Top, number>, customers: number): Mix {
  const topOffers: OfferCount[] = [];
  for (const [offerId, n] of counts)
    if (offerId !== null) topOffers.push({ offerId, customers: n, share: share(n, customers) });
  const none = counts.get(null) ?? 0;
  return {
    customers,
    noOffer: { customers: none, share: share(none, customers) },
    topOffers: topOffers.sort(byCustomers((o) => o.offerId)),
  };
}

function merged(cells: readonly CellTally[], side: 'after' | 'before'): Map<Top, number> {
  const total = new Map<Top, number>();
  for (const cell of cells) for (const [k, n] of cell[side]) bump(total, k, n);
  return total;
}

/** Feed profiles one at a time (a stream of any length), then read the report. */
export class Simulation {
  private readonly tallies: ChannelTally[];
  private readonly now: number;
  private readonly context: Readonly<Record<string, ContextValue>>;

  constructor(private readonly settings: SimulationSettings) {
    this.now = settings.now ?? Date.now();
    this.context = Object.freeze({ ...settings.context });
    this.tallies = settings.channels.map((channel) => ({
      channel,
      baselineDeclares: settings.baseline?.manifest.channels.includes(channel) ?? false,
      cells: Array.from({ length: LIFECYCLE_PHASES.length * VALUE_SEGMENTS.length }, () => ({
        customers: 0,
        after: new Map(),
        before: new Map(),
      })),
      flows: new Map(),
    }));
  }

  /** The first offer this rule set would present to this customer on this channel, or null. */
  private top(ruleset: RuleSet, profile: Profile, channel: string): Top {
    const request = {
      customerId: profile.customerId,
      channel,
      context: this.context,
      placement: this.settings.placement,
    };
    const { decision } = decide(ruleset, { request, profile, degraded: false }, priorPropensity, {
      contacts: EMPTY_CONTACTS,
      arm: 'champion',
      now: this.now,
    });
    return decision.offers[0]?.offerId ?? null;
  }

  add(profile: Profile): void {
    const cellIndex =
      PHASE_INDEX.get(profile.lifecyclePhase)! * VALUE_SEGMENTS.length + SEGMENT_INDEX.get(profile.valueSegment)!;
    const { rules, baseline } = this.settings;
    for (const tally of this.tallies) {
      const cell = tally.cells[cellIndex]!;
      cell.customers++;
      const after = this.top(rules, profile, tally.channel);
      bump(cell.after, after);
      if (!baseline) continue;
      const before = tally.baselineDeclares ? this.top(baseline, profile, tally.channel) : null;
      bump(cell.before, before);
      if (before === after) continue;
      const key = `${before ?? ''}\n${after ?? ''}`;
      let flow = tally.flows.get(key);
      if (!flow) tally.flows.set(key, (flow = { from: before, to: after, cells: new Map() }));
      bump(flow.cells, cellIndex);
    }
  }

  report(): SimulationReport {
    const { rules, baseline } = this.settings;
    return {
      rulesVersion: rules.version,
      baselineVersion: baseline?.version ?? null,
      context: this.context,
      placement: this.settings.placement ?? null,
      channels: this.tallies.map((t) => channelReport(t, baseline !== undefined)),
    };
  }
}

function channelMix(tally: ChannelTally, side: 'after' | 'before', customers: number): ChannelMix {
  return {
    ...mixOf(merged(tally.cells, side), customers),
    segments: tally.cells.map((cell, i) => ({ ...cellOf(i), ...mixOf(cell[side], cell.customers) })),
  };
}

function channelReport(tally: ChannelTally, withBaseline: boolean): ChannelSimulation {
  const customers = tally.cells.reduce((n, c) => n + c.customers, 0);
  const rules = channelMix(tally, 'after', customers);
  if (!withBaseline)
    return { channel: tally.channel, customers, rules, baseline: null, baselineDeclaresChannel: null, shift: null };
  const baseline = channelMix(tally, 'before', customers);
  return {
    channel: tally.channel,
    customers,
    rules,
    baseline,
    baselineDeclaresChannel: tally.baselineDeclares,
    shift: shiftOf(tally, customers),
  };
}

function shiftOf(tally: ChannelTally, customers: number): Shift {
  const before = merged(tally.cells, 'before');
  const after = merged(tally.cells, 'after');
  const offers: OfferShift[] = [...new Set([...before.keys(), ...after.keys()])].map((offerId) => {
    const b = before.get(offerId) ?? 0;
    const a = after.get(offerId) ?? 0;
    return {
      offerId,
      before: { customers: b, share: share(b, customers) },
      after: { customers: a, share: share(a, customers) },
      shareChange: share(a - b, customers),
    };
  });
  const label = (id: Top): string => id ?? '';
  offers.sort(
    (x, y) =>
      Math.abs(y.shareChange) - Math.abs(x.shareChange) ||
      y.after.customers - x.after.customers ||
      (label(x.offerId) < label(y.offerId) ? -1 : 1),
  );
  const flows: Flow[] = [...tally.flows.values()].map(({ from, to, cells }) => {
    const n = [...cells.values()].reduce((s, c) => s + c, 0);
    const segments = [...cells]
      .sort(([i, x], [j, y]) => y - x || i - j)
      .map(([i, c]) => ({ ...cellOf(i), customers: c }));
    return { from, to, customers: n, share: share(n, customers), segments };
  });
  flows.sort(byCustomers((f) => `${label(f.from)}\n${label(f.to)}`));
  const changed = flows.reduce((s, f) => s + f.customers, 0);
  return { changed: { customers: changed, share: share(changed, customers) }, offers, flows };
}

/** The whole population at once: for arrays and tests; the command streams into a Simulation. */
export function simulate(settings: SimulationSettings, profiles: Iterable<Profile>): SimulationReport {
  const simulation = new Simulation(settings);
  for (const profile of profiles) simulation.add(profile);
  return simulation.report();
}
