import { DAY_MS } from '../contacts/state.js';

export const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, the first Monday after the epoch: week indexes count from it. */
const FIRST_MONDAY_MS = 4 * DAY_MS;
const WEEK_PATTERN = /^(\d{4})-W(\d{2})$/;

/** An ISO week, as a run is named by: "2026-W50" runs from Monday 2026-12-07. */
export interface Week {
  /** "2026-W50" */
  readonly key: string;
  /** weeks since the Monday of 1970-01-05: what journeys count weeks in */
  readonly index: number;
  /** its Monday, 00:00 UTC, epoch ms */
  readonly start: number;
  /** its Monday as YYYY-MM-DD: when its contacts are sent */
  readonly sendDate: string;
}

function mondayOfWeekOne(year: number): number {
  // ISO week 1 holds the year's first Thursday, so its Monday is within 3 days of 4 January
  const jan4 = Date.UTC(year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7;
  return jan4 - weekday * DAY_MS;
}

const weeksInYear = (year: number) => Math.round((mondayOfWeekOne(year + 1) - mondayOfWeekOne(year)) / WEEK_MS);

export function weekAt(index: number): Week {
  const start = FIRST_MONDAY_MS + index * WEEK_MS;
  // the ISO year is the year of the week's Thursday
  const year = new Date(start + 3 * DAY_MS).getUTCFullYear();
  const n = Math.round((start - mondayOfWeekOne(year)) / WEEK_MS) + 1;
  return {
    key: `${year}-W${String(n).padStart(2, '0')}`,
    index,
    start,
    sendDate: new Date(start).toISOString().slice(0, 10),
  };
}

/** The week of a "YYYY-Www" name, or undefined when there is no such week (2026-W54, 2025-W00). */
export function parseWeek(text: string): Week | undefined {
  const m = WEEK_PATTERN.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const n = Number(m[2]);
  if (year < 1971 || n < 1 || n > weeksInYear(year)) return undefined;
  return weekAt(Math.round((mondayOfWeekOne(year) - FIRST_MONDAY_MS) / WEEK_MS) + n - 1);
}

/** The week a moment falls in. */
export const weekOf = (ms: number): Week => weekAt(Math.floor((ms - FIRST_MONDAY_MS) / WEEK_MS));

export const WEEK_FORMAT = 'YYYY-Www, an ISO week such as 2026-W50';
