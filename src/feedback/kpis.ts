import type { Counters } from '../counters/store.js';
import type { Arm } from '../decision/assign.js';
import type { Decision } from '../decision/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { Profile } from '../profiles/schema.js';

export const KPI_OUTCOMES = ['decision', 'impression', 'click', 'accept', 'reject'] as const;
export type KpiOutcome = (typeof KPI_OUTCOMES)[number];
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
  readonly accepts: number;
  readonly rejects: number;
  /** accepts ÷ impressions; null before the first impression */
  readonly acceptanceRate: number | null;
}

/** Control against treatment (champion and challenger together), and each treatment arm alone. */
export interface ArmTallies {
  readonly control: Tallies;
  readonly treatment: Tallies;
  readonly champion: Tallies;
  readonly challenger: Tallies;
}

export interface KpiReport {
  readonly generatedAt: string;
  readonly offers: ({ readonly offerId: string } & ArmTallies)[];
  readonly segments: ({ readonly lifecyclePhase: string; readonly valueSegment: string } & ArmTallies)[];
  readonly offerSegments: ({
    readonly offerId: string;
    readonly lifecyclePhase: string;
    readonly valueSegment: string;
  } & ArmTallies)[];
}

type Raw = Record<KpiOutcome, number>;
const zero = (): Raw => ({ decision: 0, impression: 0, click: 0, accept: 0, reject: 0 });

function tallies(r: Raw): Tallies {
  return {
    decisions: r.decision,
    impressions: r.impression,
    clicks: r.click,
    accepts: r.accept,
    rejects: r.reject,
    acceptanceRate: r.impression > 0 ? Math.round((r.accept / r.impression) * 1e6) / 1e6 : null,
  };
}

function sum(a: Raw, b: Raw): Raw {
  return {
    decision: a.decision + b.decision,
    impression: a.impression + b.impression,
    click: a.click + b.click,
    accept: a.accept + b.accept,
    reject: a.reject + b.reject,
  };
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

/**
 * Decisions and outcomes per offer × lifecycle phase × value segment × arm, in shared counters
 * (`offer|phase|segment|arm|outcome`), with the per-offer and per-outcome totals in /metrics
 * (labels bounded by the rule set: offer, outcome, control or treatment).
 */
/** One row's counter fields and metric slots, built once: the decision path only looks them up. */
interface Cell {
  readonly fields: Readonly<Record<KpiOutcome, string>>;
  readonly slots: Readonly<Record<KpiOutcome, { n: number }>>;
}

export class Kpis {
  /** arm → phase → segment → offer (or ALL) → cell */
  private readonly cells = new Map<Arm, Map<string, Map<string, Map<string, Cell>>>>();

  constructor(
    private readonly counters: Counters,
    private readonly metrics: Metrics,
  ) {}

  private cell(offerId: string, phase: string, segment: string, arm: Arm): Cell {
    const byPhase = this.cells.get(arm) ?? this.cells.set(arm, new Map()).get(arm)!;
    const bySegment = byPhase.get(phase) ?? byPhase.set(phase, new Map()).get(phase)!;
    const byOffer = bySegment.get(segment) ?? bySegment.set(segment, new Map()).get(segment)!;
    let cell = byOffer.get(offerId);
    if (cell) return cell;
    const group = arm === 'control' ? 'control' : 'treatment';
    const fields = {} as Record<KpiOutcome, string>;
    const slots = {} as Record<KpiOutcome, { n: number }>;
    for (const outcome of KPI_OUTCOMES) {
      fields[outcome] = `${offerId}|${phase}|${segment}|${arm}|${outcome}`;
      slots[outcome] =
        offerId !== ALL
          ? this.metrics.offerOutcomes.slot(offerId, outcome, group)
          : this.metrics.segmentOutcomes.slot(named(phase), named(segment), outcome, group);
    }
    byOffer.set(offerId, (cell = { fields, slots }));
    return cell;
  }

  private add(
    offerId: string,
    profile: Pick<Decision['profile'], 'valueSegment' | 'lifecyclePhase'> | undefined,
    arm: Arm,
    outcome: KpiOutcome,
  ): void {
    const cell = this.cell(offerId, profile?.lifecyclePhase ?? UNKNOWN, profile?.valueSegment ?? UNKNOWN, arm);
    this.counters.add(cell.fields[outcome]);
    cell.slots[outcome].n++;
  }

  decision(d: Decision): void {
    this.add(ALL, d.profile, d.arm, 'decision');
    for (const o of d.offers) this.add(o.offerId, d.profile, d.arm, 'decision');
  }

  outcome(
    offerId: string,
    profile: Pick<Profile, 'valueSegment' | 'lifecyclePhase'> | undefined,
    arm: Arm,
    outcome: Exclude<KpiOutcome, 'decision'>,
  ): void {
    this.add(ALL, profile, arm, outcome);
    this.add(offerId, profile, arm, outcome);
  }

  async report(): Promise<KpiReport> {
    const offers = new ArmRows();
    const segments = new ArmRows();
    const cells = new ArmRows();
    for (const [field, n] of await this.counters.totals()) {
      const [offerId, phase, segment, arm, outcome] = field.split('|') as [string, string, string, Arm, KpiOutcome];
      if (!ARMS.includes(arm) || !KPI_OUTCOMES.includes(outcome)) continue;
      if (offerId === ALL) segments.add(`${phase}|${segment}`, arm, outcome, n);
      else {
        offers.add(offerId, arm, outcome, n);
        cells.add(`${offerId}|${phase}|${segment}`, arm, outcome, n);
      }
    }
    const sorted = <T>(rows: Map<string, T>) => [...rows].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      generatedAt: new Date().toISOString(),
      offers: sorted(offers.rows).map(([offerId, byArm]) => ({ offerId, ...ArmRows.arms(byArm) })),
      segments: sorted(segments.rows).map(([key, byArm]) => {
        const [phase, segment] = key.split('|') as [string, string];
        return { lifecyclePhase: named(phase), valueSegment: named(segment), ...ArmRows.arms(byArm) };
      }),
      offerSegments: sorted(cells.rows).map(([key, byArm]) => {
        const [offerId, phase, segment] = key.split('|') as [string, string, string];
        return { offerId, lifecyclePhase: named(phase), valueSegment: named(segment), ...ArmRows.arms(byArm) };
      }),
    };
  }
}
