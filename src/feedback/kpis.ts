import { OUTCOMES, type Outcome } from '../contacts/store.js';
import type { Counters, Tally } from '../counters/store.js';
import type { Arm } from '../decision/assign.js';
import type { Decision } from '../decision/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { Profile } from '../profiles/schema.js';

/** What is tallied: decisions, each outcome, and the responses among them that named no decision. */
export const KPI_OUTCOMES = ['decision', ...OUTCOMES, 'unattributed'] as const;
export type KpiOutcome = (typeof KPI_OUTCOMES)[number];
/** Which event an outcome is, for its tally. */
export type EventTally = Omit<Tally, 'fields'>;
const ARMS: readonly Arm[] = ['control', 'champion', 'challenger'];
/** the row of a segment's own totals (every decision, offers or not) */
const ALL = '*';
const UNKNOWN = '_';
/** how reports and metrics name the unknown customers' segment and phase */
const named = (s: string) => (s === UNKNOWN ? 'unknown' : s);

export interface Tallies {
  readonly decisions: number;
  readonly impressions: number;
  readonly clicks: number;
  /** clicks ÷ impressions; null before the first impression */
  readonly clickThroughRate: number | null;
  readonly accepts: number;
  /** accepts ÷ impressions on this row's channel; null before the first impression */
  readonly acceptanceRate: number | null;
  readonly rejects: number;
  /** complaints about a contact of the offer */
  readonly complaints: number;
  /** responses (of any outcome) that named no decision */
  readonly unattributed: number;
}

/** Control against treatment (champion and challenger together), and each treatment arm alone. */
export interface ArmTallies {
  readonly control: Tallies;
  readonly treatment: Tallies;
  readonly champion: Tallies;
  readonly challenger: Tallies;
}

interface Channelled {
  readonly channel: string;
}

export interface KpiReport {
  readonly generatedAt: string;
  readonly offers: ({ readonly offerId: string } & Channelled & ArmTallies)[];
  readonly segments: ({ readonly lifecyclePhase: string; readonly valueSegment: string } & Channelled & ArmTallies)[];
  readonly offerSegments: ({
    readonly offerId: string;
    readonly lifecyclePhase: string;
    readonly valueSegment: string;
  } & Channelled &
    ArmTallies)[];
}

type Raw = Record<KpiOutcome, number>;
const zero = (): Raw => Object.fromEntries(KPI_OUTCOMES.map((k) => [k, 0])) as Raw;
const rate = (n: number, of: number) => (of > 0 ? Math.round((n / of) * 1e6) / 1e6 : null);

function tallies(r: Raw): Tallies {
  return {
    decisions: r.decision,
    impressions: r.impression,
    clicks: r.click,
    clickThroughRate: rate(r.click, r.impression),
    accepts: r.accept,
    acceptanceRate: rate(r.accept, r.impression),
    rejects: r.reject,
    complaints: r.complaint,
    unattributed: r.unattributed,
  };
}

function sum(a: Raw, b: Raw): Raw {
  const out = zero();
  for (const k of KPI_OUTCOMES) out[k] = a[k] + b[k];
  return out;
}

/** Raw counts by arm, grown on demand. */
class ArmRows {
  readonly rows = new Map<string, Map<Arm, Raw>>();

  add(key: string, arm: Arm, outcome: KpiOutcome, n: number): void {
    let byArm = this.rows.get(key);
    if (!byArm) this.rows.set(key, (byArm = new Map()));
    let raw = byArm.get(arm);
    if (!raw) byArm.set(arm, (raw = zero()));
    raw[outcome] += n;
  }

  static arms(byArm: ReadonlyMap<Arm, Raw>): ArmTallies {
    const of = (arm: Arm) => byArm.get(arm) ?? zero();
    return {
      control: tallies(of('control')),
      treatment: tallies(sum(of('champion'), of('challenger'))),
      champion: tallies(of('champion')),
      challenger: tallies(of('challenger')),
    };
  }
}

/** One row's counter fields and metric slots, built once: the decision path only looks them up. */
interface Cell {
  readonly fields: Readonly<Record<KpiOutcome, string>>;
  /** none for `unattributed`: /metrics counts outcomes, not where they came from */
  readonly slots: Readonly<Partial<Record<KpiOutcome, { n: number }>>>;
}

type Segment = Pick<Decision['profile'], 'valueSegment' | 'lifecyclePhase'>;

/** An arm × channel × phase × segment's cells, by offer. */
interface Row {
  readonly channel: string;
  readonly phase: string;
  readonly segment: string;
  readonly arm: Arm;
  readonly cells: Map<string, Cell>;
}

/**
 * Decisions and outcomes per offer × channel × lifecycle phase × value segment × arm, in
 * shared counters (`offer|channel|phase|segment|arm|outcome`), with the per-offer and
 * per-segment totals by channel in /metrics (labels bounded by the rule set: offer, channel,
 * outcome, control or treatment).
 */
export class Kpis {
  /** arm → channel → phase → segment → row of cells by offer (or ALL): a decision's tallies build no key string */
  private readonly cells = new Map<Arm, Map<string, Map<string, Map<string, Row>>>>();

  constructor(
    private readonly counters: Counters,
    private readonly metrics: Metrics,
  ) {}

  /** The cells of one arm × channel × phase × segment, by offer (and ALL). */
  private row(channel: string, profile: Segment | undefined, arm: Arm): Row {
    const phase = profile?.lifecyclePhase ?? UNKNOWN;
    const segment = profile?.valueSegment ?? UNKNOWN;
    const byChannel = this.cells.get(arm) ?? this.cells.set(arm, new Map()).get(arm)!;
    const byPhase = byChannel.get(channel) ?? byChannel.set(channel, new Map()).get(channel)!;
    const bySegment = byPhase.get(phase) ?? byPhase.set(phase, new Map()).get(phase)!;
    let row = bySegment.get(segment);
    if (!row) bySegment.set(segment, (row = { channel, phase, segment, arm, cells: new Map() }));
    return row;
  }

  private cell(row: Row, offerId: string): Cell {
    let cell = row.cells.get(offerId);
    if (cell) return cell;
    const { channel, phase, segment, arm } = row;
    const group = arm === 'control' ? 'control' : 'treatment';
    const fields = {} as Record<KpiOutcome, string>;
    const slots: Partial<Record<KpiOutcome, { n: number }>> = {};
    for (const outcome of KPI_OUTCOMES) {
      // joined: one flat string, where a template literal keeps a tree of pieces for as long as the cell
      fields[outcome] = [offerId, channel, phase, segment, arm, outcome].join('|');
      if (outcome === 'unattributed') continue;
      slots[outcome] =
        offerId !== ALL
          ? this.metrics.offerOutcomes.slot(offerId, channel, outcome, group)
          : this.metrics.segmentOutcomes.slot(named(phase), named(segment), channel, outcome, group);
    }
    row.cells.set(offerId, (cell = { fields, slots }));
    return cell;
  }

  private add(row: Row, offerId: string, outcome: KpiOutcome): void {
    const cell = this.cell(row, offerId);
    this.counters.add(cell.fields[outcome]);
    const slot = cell.slots[outcome];
    if (slot) slot.n++;
  }

  decision(d: Decision): void {
    const row = this.row(d.channel, d.profile, d.arm);
    this.add(row, ALL, 'decision');
    for (const o of d.offers) this.add(row, o.offerId, 'decision');
  }

  /**
   * `attributed`: the response named its decision (profile and arm are then the decision's).
   * Tallied once per event (`event`), however often it is told; /metrics counts the owed ones.
   */
  outcome(
    offerId: string,
    channel: string,
    profile: Pick<Profile, 'valueSegment' | 'lifecyclePhase'> | undefined,
    arm: Arm,
    outcome: Outcome,
    attributed: boolean,
    event: EventTally,
  ): void {
    const row = this.row(channel, profile, arm);
    const fields: string[] = [];
    for (const offer of [ALL, offerId]) {
      const cell = this.cell(row, offer);
      fields.push(cell.fields[outcome]);
      if (!attributed) fields.push(cell.fields.unattributed);
      const slot = cell.slots[outcome];
      if (slot && event.owed) slot.n++;
    }
    this.counters.tally({ ...event, fields });
  }

  async report(): Promise<KpiReport> {
    const offers = new ArmRows();
    const segments = new ArmRows();
    const cells = new ArmRows();
    for (const [field, n] of await this.counters.totals()) {
      const parts = field.split('|');
      // fields of an older layout (without the channel) are passed over
      if (parts.length !== 6) continue;
      const [offerId, channel, phase, segment, arm, outcome] = parts as [
        string,
        string,
        string,
        string,
        Arm,
        KpiOutcome,
      ];
      if (!ARMS.includes(arm) || !KPI_OUTCOMES.includes(outcome)) continue;
      if (offerId === ALL) segments.add(`${phase}|${segment}|${channel}`, arm, outcome, n);
      else {
        offers.add(`${offerId}|${channel}`, arm, outcome, n);
        cells.add(`${offerId}|${phase}|${segment}|${channel}`, arm, outcome, n);
      }
    }
    const sorted = <T>(rows: Map<string, T>) => [...rows].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      generatedAt: new Date().toISOString(),
      offers: sorted(offers.rows).map(([key, byArm]) => {
        const [offerId, channel] = key.split('|') as [string, string];
        return { offerId, channel, ...ArmRows.arms(byArm) };
      }),
      segments: sorted(segments.rows).map(([key, byArm]) => {
        const [phase, segment, channel] = key.split('|') as [string, string, string];
        return { lifecyclePhase: named(phase), valueSegment: named(segment), channel, ...ArmRows.arms(byArm) };
      }),
      offerSegments: sorted(cells.rows).map(([key, byArm]) => {
        const [offerId, phase, segment, channel] = key.split('|') as [string, string, string, string];
        return {
          offerId,
          lifecyclePhase: named(phase),
          valueSegment: named(segment),
          channel,
          ...ArmRows.arms(byArm),
        };
      }),
    };
  }
}
