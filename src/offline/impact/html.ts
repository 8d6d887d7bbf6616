/**
 * The impact report as one self-contained HTML page: per comparison, the revenue difference per
 * lifecycle phase × value segment with its 95 % interval, plain and with CUPED; the cumulative
 * revenue per customer by arm over the days since t0; and the table.
 */
import type { TopLevelSpec } from 'vega-lite';
import { chartSvg, escapeHtml, figure, htmlPage, htmlTable } from '../report/page.js';
import type { CumulativeRevenue, GroupImpact, ImpactReport } from './impact.js';

const METHODS = ['plain', 'CUPED'] as const;
const ARM_COLOURS: Record<string, string> = {
  treatment: '#1f77b4',
  control: '#7f7f7f',
  champion: '#2ca02c',
  challenger: '#d62728',
};

const money = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
const points = (n: number) => (Math.round(n * 1000) / 10 + 0).toLocaleString('en-US', { maximumFractionDigits: 1 });
const interval = (e: { difference: number; ciLow: number; ciHigh: number } | null, f: (n: number) => string) =>
  e === null ? '–' : `${f(e.difference)} [${f(e.ciLow)}, ${f(e.ciHigh)}]`;
const groupName = (g: GroupImpact) =>
  g.lifecyclePhase === 'all' && g.valueSegment === 'all' ? 'all' : `${g.lifecyclePhase} × ${g.valueSegment}`;
const day = (iso: string | null) => iso?.slice(0, 10) ?? '–';

/** The lift chart of one comparison: a point and an error bar per group and method. */
function liftSpec(name: string, groups: readonly GroupImpact[]): TopLevelSpec {
  const values = groups.flatMap((g) =>
    METHODS.flatMap((method) => {
      const e = method === 'plain' ? g.revenuePerCustomer : g.revenuePerCustomerCuped;
      return e === null
        ? []
        : [{ group: groupName(g), method, difference: e.difference, ciLow: e.ciLow, ciHigh: e.ciHigh }];
    }),
  );
  const order = [...new Set(values.map((v) => v.group))];
  const [first, second] = name.split('-vs-');
  const y = { field: 'group', type: 'nominal', sort: order, title: 'lifecycle phase × value segment' } as const;
  const yOffset = { field: 'method', type: 'nominal', sort: [...METHODS] } as const;
  const color = {
    field: 'method',
    type: 'nominal',
    sort: [...METHODS],
    title: 'estimate',
    scale: { domain: [...METHODS], range: ['#1f77b4', '#ff7f0e'] },
  } as const;
  return {
    title: `${name}: revenue per customer, ${first} − ${second}`,
    width: 560,
    height: { step: 34 },
    data: { values },
    layer: [
      { mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: 'errorbar', ticks: true, thickness: 2 },
        encoding: {
          y,
          yOffset,
          color,
          x: { field: 'ciLow', type: 'quantitative', title: `difference per customer, 95 % interval` },
          x2: { field: 'ciHigh' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          y,
          yOffset,
          color,
          x: { field: 'difference', type: 'quantitative' },
          tooltip: [
            { field: 'group' },
            { field: 'method' },
            { field: 'difference', format: ',.2f' },
            { field: 'ciLow', format: ',.2f' },
            { field: 'ciHigh', format: ',.2f' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/** Cumulative revenue per customer by arm: day 0 is t0 (nothing yet), day d the revenue of days 0..d−1. */
function cumulativeSpec(c: CumulativeRevenue): TopLevelSpec {
  const values = c.arms.flatMap((a) => [
    { arm: a.arm, day: 0, revenue: 0 },
    ...a.revenue.map((revenue, d) => ({ arm: a.arm, day: d + 1, revenue })),
  ]);
  const arms = c.arms.map((a) => a.arm);
  return {
    title: 'cumulative revenue per customer since t0, by arm',
    width: 560,
    height: 280,
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'day', type: 'quantitative', title: 'days since t0', scale: { domain: [0, c.outcomeDays] } },
      y: { field: 'revenue', type: 'quantitative', title: 'net revenue per customer' },
      color: {
        field: 'arm',
        type: 'nominal',
        sort: arms,
        title: 'arm',
        scale: { domain: arms, range: arms.map((a) => ARM_COLOURS[a] ?? '#8c564b') },
      },
    },
  } as TopLevelSpec;
}

function comparisonTable(name: string, groups: readonly GroupImpact[]): string {
  const [first, second] = name.split('-vs-') as [string, string];
  const header = [
    'group',
    `${first} customers`,
    `${second} customers`,
    `${first} revenue/customer`,
    `${second} revenue/customer`,
    'difference [95 %]',
    'with CUPED [95 %]',
    'active, points [95 %]',
    'p (Holm)',
    'note',
  ];
  const rows = groups.map((g) => {
    const p = g.revenuePerCustomer;
    return [
      groupName(g),
      String(g.arms[first]?.customers ?? 0),
      String(g.arms[second]?.customers ?? 0),
      money(g.arms[first]?.revenuePerCustomer),
      money(g.arms[second]?.revenuePerCustomer),
      interval(p, money),
      interval(g.revenuePerCustomerCuped, money),
      interval(g.activeRate, points),
      p === null ? '–' : (p.pValueHolm ?? p.pValue).toFixed(3),
      g.note ?? '',
    ];
  });
  return htmlTable(header, rows, { className: 'impact' });
}

/** The impact report as one HTML document, charts inlined as SVG. */
export async function impactHtml(report: ImpactReport, cumulative: CumulativeRevenue): Promise<string> {
  const w = report.window;
  const parts: string[] = [
    `<p class="meta">Decisions ${escapeHtml(day(w.from))} – ${escapeHtml(day(w.to))}, outcome over ${w.outcomeDays} days from each customer's first decision (t0), as of ${escapeHtml(day(w.asOf))}. Customers: ${report.customers.toLocaleString('en-US')} decided, ${report.measured.toLocaleString('en-US')} measured, ${report.pending.toLocaleString('en-US')} pending (window not ended).</p>`,
  ];
  for (const c of report.comparisons) {
    const [first, second] = c.name.split('-vs-') as [string, string];
    parts.push(
      `<section class="comparison" data-comparison="${escapeHtml(c.name)}">`,
      `<h2>${escapeHtml(c.name)}</h2>`,
      figure(
        await chartSvg(liftSpec(c.name, c.groups)),
        `Each row is a group; the dot is the difference in net revenue per customer (${first} − ${second}) over the outcome window, the bar its 95 % interval, plain and with CUPED. A bar that does not cross the dashed zero line is an effect the data can tell from chance; groups with fewer than 30 customers in an arm are in the table only.`,
        `lift-${c.name}`,
      ),
      comparisonTable(c.name, c.groups),
      '</section>',
    );
  }
  const counts = cumulative.arms.map((a) => `${a.arm} ${a.customers.toLocaleString('en-US')}`).join(', ');
  parts.push(
    '<section class="cumulative">',
    '<h2>Revenue over the outcome window</h2>',
    figure(
      await chartSvg(cumulativeSpec(cumulative)),
      `Net revenue per customer accumulated day by day since t0, one line per arm (customers: ${counts}). Lines that part early and keep apart show an effect that lasts; lines that meet again show revenue moved earlier, not made.`,
      'cumulative',
    ),
    '</section>',
  );
  return htmlPage('Impact of the decisions against the control group', parts.join('\n'));
}
