/**
 * Numbers as the command line writes them for a person: one format everywhere, en-US grouping
 * (594,186), the same as the portfolio's tables and HTML reports. `--json` keeps plain numbers.
 */
import { formatNumber } from '../offline/analytics/portfolio-table.js';

/** A count or an amount: grouped digits, `decimals` places. */
export const num = (n: number, decimals = 0): string => formatNumber(n, decimals);

/** A duration in seconds: two decimals under one second, one above (0.08 s, 7.4 s, 1,204.5 s). */
export const seconds = (ms: number): string => `${formatNumber(ms / 1e3, ms < 1_000 ? 2 : 1)} s`;

/** A size: bytes, kB, MB or GB (decimal units, one decimal). */
export function bytes(n: number): string {
  if (n < 1e3) return `${num(n)} B`;
  if (n < 1e6) return `${num(n / 1e3, 1)} kB`;
  if (n < 1e9) return `${num(n / 1e6, 1)} MB`;
  return `${num(n / 1e9, 1)} GB`;
}

/** So many a second, over `ms` milliseconds. */
export const perSecond = (n: number, ms: number): string => num(Math.round(n / Math.max(ms / 1e3, 1e-3)));

/** `1 line` / `2 lines`: a count with its noun, grouped. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${num(n)} ${n === 1 ? one : many}`;
