/**
 * The effect of the decisions against the control group, from the decision log and the
 * customers' transactions, each read once as a stream: memory grows with the customers
 * decided, not with the records.
 *
 * Definitions (the README explains them for a marketer):
 * - population: every customer with a decision in [from, to] that reached them (not a
 *   preview); their arm, lifecycle phase × value segment and t0 are those of their first such
 *   decision;
 * - outcome over [t0, t0 + outcomeDays): net revenue (purchases minus refunds), active (a
 *   purchase: amount > 0), and for the customers active over [t0 − outcomeDays, t0) retained
 *   (a purchase in the outcome window); the net revenue of that pre-period is the covariate;
 * - a customer whose outcome window has not ended by asOf is pending, not measured;
 * - comparisons: treatment (champion and challenger) against control, and challenger against
 *   champion; differences are the first-named minus the second, intervals 95 %.
 */

import { DAY_MS } from '../analytics/timestamps.js';
import { checkTransaction } from '../analytics/transaction.js';
import { cuped, type Difference, holm, Moments, minimumDetectableEffect, newcombe, welch } from './stats.js';

/** Fewer customers than this in an arm: counts only, no interval. */
export const MIN_ARM_CUSTOMERS = 30;

type Arm = 'control' | 'champion' | 'challenger';
const ARMS: ReadonlySet<string> = new Set(['control', 'champion', 'challenger']);

interface Customer {
  t0: number;
  arm: Arm;
  phase: string;
  segment: string;
  /** net revenue in [t0 − D, t0) and [t0, t0 + D) */
  pre: number;
  post: number;
  preActive: boolean;
  active: boolean;
}

export interface ImpactWindow {
  /** epoch ms, inclusive */
  readonly from: number;
  /** epoch ms, inclusive */
  readonly to: number;
  readonly outcomeDays: number;
  /** epoch ms: transactions after it are left out; default the latest transaction read */
  readonly asOf?: number | undefined;
}

/** Lines a reader passed over, and why (the first few). */
export interface Skipped {
  lines: number;
  readonly first: string[];
}

const skip = (s: Skipped, why: string) => {
  s.lines++;
  if (s.first.length < 10) s.first.push(why);
};

/** Push-style: the decision-log records, then the transactions, then `result()`. */
export class ImpactReader {
  private readonly customers = new Map<string, Customer>();
  readonly skippedDecisions: Skipped = { lines: 0, first: [] };
  readonly skippedTransactions: Skipped = { lines: 0, first: [] };
  private decisionLine = 0;
  private transactionLine = 0;
  decisions = 0;
  transactions = 0;
  /** the latest transaction read, epoch ms */
  latest = Number.NEGATIVE_INFINITY;
  private firstDecision = Number.POSITIVE_INFINITY;
  private lastDecision = Number.NEGATIVE_INFINITY;
  /** net revenue in the outcome window by day since t0, per arm and UTC day of t0 (`arm\tday`) */
  private readonly byDay = new Map<string, Float64Array>();

  constructor(private readonly window: ImpactWindow) {}

  /** One decision-log record (a line of NDJSON). */
  decision(text: string): void {
    const line = ++this.decisionLine;
    if (text.trim() === '') return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(text) as Record<string, unknown>;
    } catch {
      skip(this.skippedDecisions, `line ${line}: not JSON`);
      return;
    }
    const at = typeof r.at === 'string' ? Date.parse(r.at) : Number.NaN;
    const profile = r.profile as Record<string, unknown> | null | undefined;
    if (
      typeof r.customerId !== 'string' ||
      typeof r.arm !== 'string' ||
      !ARMS.has(r.arm) ||
      Number.isNaN(at) ||
      typeof profile !== 'object' ||
      profile === null
    ) {
      skip(this.skippedDecisions, `line ${line}: not a decision-log record`);
      return;
    }
    if (r.preview === true || at < this.window.from || at > this.window.to) return;
    this.decisions++;
    if (at < this.firstDecision) this.firstDecision = at;
    if (at > this.lastDecision) this.lastDecision = at;
    const known = this.customers.get(r.customerId);
    if (known !== undefined && known.t0 <= at) return;
    const phase = typeof profile.lifecyclePhase === 'string' ? profile.lifecyclePhase : 'unknown';
    const segment = typeof profile.valueSegment === 'string' ? profile.valueSegment : 'unknown';
    if (known !== undefined) Object.assign(known, { t0: at, arm: r.arm as Arm, phase, segment });
    else
      this.customers.set(r.customerId, {
        t0: at,
        arm: r.arm as Arm,
        phase,
        segment,
        pre: 0,
        post: 0,
        preActive: false,
        active: false,
      });
  }

  /** One transaction (a line of NDJSON in the `portfolio` format); call after every decision. */
  transaction(text: string): void {
    const line = ++this.transactionLine;
    if (text.trim() === '') return;
    let t: ReturnType<typeof checkTransaction>;
    try {
      t = checkTransaction(JSON.parse(text));
    } catch {
      t = undefined;
    }
    if (t === undefined) {
      skip(this.skippedTransactions, `line ${line}: not a transaction`);
      return;
    }
    if (this.window.asOf !== undefined && t.at > this.window.asOf) return;
    this.transactions++;
    if (t.at > this.latest) this.latest = t.at;
    const c = this.customers.get(t.customerId);
    if (c === undefined) return;
    const span = this.window.outcomeDays * DAY_MS;
    if (t.at >= c.t0 - span && t.at < c.t0) {
      c.pre += t.amount;
      if (t.amount > 0) c.preActive = true;
    } else if (t.at >= c.t0 && t.at < c.t0 + span) {
      c.post += t.amount;
      if (t.amount > 0) c.active = true;
      const key = `${c.arm}\t${Math.floor(c.t0 / DAY_MS)}`;
      let days = this.byDay.get(key);
      if (!days) this.byDay.set(key, (days = new Float64Array(this.window.outcomeDays)));
      days[Math.floor((t.at - c.t0) / DAY_MS)]! += t.amount;
    }
  }

  /**
   * The cumulative net revenue per customer by day since t0, per comparison arm: entry d is the
   * mean over the arm's customers of their revenue in [t0, t0 + d + 1 days). It covers the
   * measured customers whose UTC day of t0 is measured in full (all of them as of the end of a
   * day, as `--as-of` gives; as of the latest transaction, that day's customers may be left out).
   */
  cumulative(): CumulativeRevenue {
    const asOf = this.window.asOf ?? this.latest;
    const span = this.window.outcomeDays * DAY_MS;
    const pendingDays = new Set<string>();
    for (const c of this.customers.values())
      if (c.t0 + span > asOf) pendingDays.add(`${c.arm}\t${Math.floor(c.t0 / DAY_MS)}`);
    const customers = new Map<Arm, number>();
    let hasChallenger = false;
    for (const c of this.customers.values()) {
      if (c.arm === 'challenger' && c.t0 + span <= asOf) hasChallenger = true;
      if (!pendingDays.has(`${c.arm}\t${Math.floor(c.t0 / DAY_MS)}`))
        customers.set(c.arm, (customers.get(c.arm) ?? 0) + 1);
    }
    const sums = new Map<Arm, Float64Array>();
    for (const [key, days] of this.byDay) {
      if (pendingDays.has(key)) continue;
      const arm = key.split('\t')[0] as Arm;
      let sum = sums.get(arm);
      if (!sum) sums.set(arm, (sum = new Float64Array(this.window.outcomeDays)));
      for (let d = 0; d < days.length; d++) sum[d]! += days[d]!;
    }
    const curve = (name: string, arms: readonly Arm[]) => {
      const n = arms.reduce((total, a) => total + (customers.get(a) ?? 0), 0);
      const revenue: number[] = [];
      let running = 0;
      for (let d = 0; d < this.window.outcomeDays; d++) {
        for (const a of arms) running += sums.get(a)?.[d] ?? 0;
        revenue.push(n > 0 ? running / n : 0);
      }
      return { arm: name, customers: n, revenue };
    };
    const arms = [curve('treatment', ['champion', 'challenger']), curve('control', ['control'])];
    if (hasChallenger) arms.push(curve('champion', ['champion']), curve('challenger', ['challenger']));
    return { outcomeDays: this.window.outcomeDays, arms };
  }

  /** The report, as of the window's asOf or else the latest transaction read. */
  result(): ImpactReport {
    const asOf = this.window.asOf ?? this.latest;
    const span = this.window.outcomeDays * DAY_MS;
    let pending = 0;
    const cells = new Map<string, Map<Arm, ArmTally>>();
    const tally = (key: string, arm: Arm, c: Customer) => {
      let byArm = cells.get(key);
      if (!byArm) cells.set(key, (byArm = new Map()));
      let t = byArm.get(arm);
      if (!t) byArm.set(arm, (t = new ArmTally()));
      t.add(c);
    };
    let measured = 0;
    let hasChallenger = false;
    for (const c of this.customers.values()) {
      if (c.t0 + span > asOf) {
        pending++;
        continue;
      }
      measured++;
      if (c.arm === 'challenger') hasChallenger = true;
      tally(ALL_KEY, c.arm, c);
      tally(`${c.phase}\t${c.segment}`, c.arm, c);
    }
    const keys = [ALL_KEY, ...[...cells.keys()].filter((k) => k !== ALL_KEY).sort()];
    // challenger against champion only where a challenger decided
    const compared = COMPARISONS.filter((c) => c.name !== 'challenger-vs-champion' || hasChallenger);
    const comparisons = compared.map(({ name, first, second }) => {
      const groups = keys.map((key) => {
        const byArm = cells.get(key) ?? new Map<Arm, ArmTally>();
        const join = (arms: readonly Arm[]) => ArmTally.joined(arms.map((a) => byArm.get(a)));
        return compare(key, [first.name, join(first.arms)], [second.name, join(second.arms)]);
      });
      // several groups: each group's p-values adjusted for the others (the total is not one of them)
      for (const metric of ['revenuePerCustomer', 'activeRate', 'retentionRate'] as const) {
        const tested = groups.slice(1).filter((g) => g[metric] !== null);
        const adjusted = holm(tested.map((g) => g[metric]!.pValue));
        tested.forEach((g, i) => {
          g[metric]!.pValueHolm = adjusted[i]!;
        });
      }
      return { name, groups };
    });
    return {
      window: {
        // an open end: the decisions read say where it lies
        from: iso(Number.isFinite(this.window.from) ? this.window.from : this.firstDecision),
        to: iso(Number.isFinite(this.window.to) ? this.window.to : this.lastDecision),
        outcomeDays: this.window.outcomeDays,
        asOf: iso(asOf),
      },
      customers: this.customers.size,
      measured,
      pending,
      decisions: this.decisions,
      transactions: this.transactions,
      skipped: { decisions: this.skippedDecisions, transactions: this.skippedTransactions },
      comparisons,
    };
  }
}

const ALL_KEY = 'all\tall';
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

const COMPARISONS = [
  {
    name: 'treatment-vs-control',
    first: { name: 'treatment', arms: ['champion', 'challenger'] as const },
    second: { name: 'control', arms: ['control'] as const },
  },
  {
    name: 'challenger-vs-champion',
    first: { name: 'challenger', arms: ['challenger'] as const },
    second: { name: 'champion', arms: ['champion'] as const },
  },
] as const;

/** One arm's customers in one group: outcome moments, and the counts of the rates. */
class ArmTally {
  readonly revenue = new Moments();
  active = 0;
  preActive = 0;
  retained = 0;

  add(c: Customer): void {
    this.revenue.add(c.pre, c.post);
    if (c.active) this.active++;
    if (c.preActive) {
      this.preActive++;
      if (c.active) this.retained++;
    }
  }

  static joined(tallies: readonly (ArmTally | undefined)[]): ArmTally {
    const out = new ArmTally();
    let revenue = new Moments();
    for (const t of tallies) {
      if (!t) continue;
      revenue = Moments.merged(revenue, t.revenue);
      out.active += t.active;
      out.preActive += t.preActive;
      out.retained += t.retained;
    }
    Object.assign(out.revenue, revenue);
    return out;
  }

  get n(): number {
    return this.revenue.n;
  }
}

export interface ArmSummary {
  readonly customers: number;
  readonly revenuePerCustomer: number | null;
  readonly activeRate: number | null;
  /** customers active in the pre-period */
  readonly activeBefore: number;
  readonly retentionRate: number | null;
}

export interface Estimate {
  readonly difference: number;
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly pValue: number;
  /** Holm-adjusted over the phase × segment groups (absent on the total) */
  pValueHolm?: number;
}

export interface GroupImpact {
  readonly lifecyclePhase: string;
  readonly valueSegment: string;
  readonly arms: Record<string, ArmSummary>;
  readonly revenuePerCustomer: (Estimate & { readonly relativeLift: number | null }) | null;
  readonly revenuePerCustomerCuped: {
    readonly difference: number;
    readonly ciLow: number;
    readonly ciHigh: number;
    readonly varianceReduction: number;
  } | null;
  readonly activeRate: Estimate | null;
  readonly retentionRate: Estimate | null;
  readonly incrementalRevenue: { readonly total: number; readonly ciLow: number; readonly ciHigh: number } | null;
  readonly minimumDetectableEffect: { readonly revenuePerCustomer: number; readonly activeRate: number } | null;
  readonly note?: string;
}

/** Cumulative net revenue per customer by day since t0, per comparison arm (`ImpactReader.cumulative`). */
export interface CumulativeRevenue {
  readonly outcomeDays: number;
  /** `revenue[d]`: mean net revenue per customer over days 0..d since t0 */
  readonly arms: { readonly arm: string; readonly customers: number; readonly revenue: number[] }[];
}

export interface ImpactReport {
  readonly window: {
    readonly from: string | null;
    readonly to: string | null;
    readonly outcomeDays: number;
    readonly asOf: string | null;
  };
  /** customers with a decision in the window */
  readonly customers: number;
  readonly measured: number;
  /** customers whose outcome window had not ended by asOf */
  readonly pending: number;
  /** decisions in the window that reached a customer */
  readonly decisions: number;
  readonly transactions: number;
  readonly skipped: { readonly decisions: Skipped; readonly transactions: Skipped };
  readonly comparisons: { readonly name: string; readonly groups: GroupImpact[] }[];
}

const estimate = (d: Difference): Estimate => ({
  difference: d.difference,
  ciLow: d.ciLow,
  ciHigh: d.ciHigh,
  pValue: d.pValue,
});

function summary(t: ArmTally): ArmSummary {
  return {
    customers: t.n,
    revenuePerCustomer: t.n > 0 ? t.revenue.meanY : null,
    activeRate: t.n > 0 ? t.active / t.n : null,
    activeBefore: t.preActive,
    retentionRate: t.preActive > 0 ? t.retained / t.preActive : null,
  };
}

function compare(key: string, [aName, a]: [string, ArmTally], [bName, b]: [string, ArmTally]): GroupImpact {
  const [lifecyclePhase, valueSegment] = key.split('\t') as [string, string];
  const base = { lifecyclePhase, valueSegment, arms: { [aName]: summary(a), [bName]: summary(b) } };
  const none = {
    revenuePerCustomer: null,
    revenuePerCustomerCuped: null,
    activeRate: null,
    retentionRate: null,
    incrementalRevenue: null,
    minimumDetectableEffect: null,
  };
  if (a.n < MIN_ARM_CUSTOMERS || b.n < MIN_ARM_CUSTOMERS)
    return {
      ...base,
      ...none,
      note: `fewer than ${MIN_ARM_CUSTOMERS} customers in an arm (${aName} ${a.n}, ${bName} ${b.n}): counts only, no interval`,
    };
  const revenue = welch(
    { mean: a.revenue.meanY, variance: a.revenue.varY, n: a.n },
    { mean: b.revenue.meanY, variance: b.revenue.varY, n: b.n },
  );
  const adjusted = cuped(a.revenue, b.revenue);
  const active = newcombe({ x: a.active, n: a.n }, { x: b.active, n: b.n });
  const retention =
    a.preActive >= MIN_ARM_CUSTOMERS && b.preActive >= MIN_ARM_CUSTOMERS
      ? estimate(newcombe({ x: a.retained, n: a.preActive }, { x: b.retained, n: b.preActive }))
      : null;
  return {
    ...base,
    revenuePerCustomer: {
      ...estimate(revenue),
      relativeLift: b.revenue.meanY !== 0 ? revenue.difference / b.revenue.meanY : null,
    },
    revenuePerCustomerCuped: {
      difference: adjusted.difference,
      ciLow: adjusted.ciLow,
      ciHigh: adjusted.ciHigh,
      varianceReduction: adjusted.varianceReduction,
    },
    activeRate: estimate(active),
    retentionRate: retention,
    incrementalRevenue: {
      total: revenue.difference * a.n,
      ciLow: revenue.ciLow * a.n,
      ciHigh: revenue.ciHigh * a.n,
    },
    minimumDetectableEffect: {
      revenuePerCustomer: minimumDetectableEffect(revenue.standardError),
      activeRate: minimumDetectableEffect(active.standardError),
    },
    ...(retention === null && {
      note: `fewer than ${MIN_ARM_CUSTOMERS} customers active before t0 in an arm: no retention interval`,
    }),
  };
}
