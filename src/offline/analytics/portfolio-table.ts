import type { Portfolio } from './portfolio.js';

const formats = new Map<number, Intl.NumberFormat>();

/** A figure as the portfolio's tables write it: grouped digits, `decimals` places, – for none. */
export function formatNumber(value: number | null, decimals = 0): string {
  if (value === null) return '–';
  let f = formats.get(decimals);
  if (!f)
    formats.set(
      decimals,
      (f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })),
    );
  return f.format(value);
}

/** A share as a percentage with one decimal, – for none. */
export const formatPercent = (share: number | null): string =>
  share === null ? '–' : `${formatNumber(share * 100, 1)}%`;

/** The segment table, one row per value segment and the total: what the text and the HTML reports show. */
export function portfolioTable(p: Portfolio): {
  readonly header: readonly string[];
  readonly rows: string[][];
  readonly total: string[];
} {
  const { total } = p;
  const revenue = p.segments.reduce((sum, s) => sum + (s.revenuePerCustomerPerYear ?? 0) * s.customers, 0);
  const n = formatNumber;
  const pct = formatPercent;
  return {
    header: [
      'segment',
      'customers',
      'share',
      'revenue/customer/yr',
      'retention',
      'duration (yrs)',
      'CLV/customer',
      'CLV index',
      'CLV total',
    ],
    rows: p.segments.map((s) => [
      s.segment,
      n(s.customers),
      pct(s.share),
      n(s.revenuePerCustomerPerYear),
      pct(s.retention),
      n(s.duration, 1),
      n(s.clv),
      n(s.clvIndex, 1),
      n(s.clvTotal),
    ]),
    total: [
      'total',
      n(total.customers),
      pct(total.customers === 0 ? 0 : 1),
      n(total.customers === 0 ? null : revenue / total.customers),
      pct(total.retention),
      n(total.duration, 1),
      n(total.clv),
      '',
      n(total.portfolioValue),
    ],
  };
}
