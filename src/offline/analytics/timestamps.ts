/**
 * ISO dates and date-times read by hand: `new Date()` per line would cost more than the rest of
 * the line together. Accepts exactly what zod's `z.iso.date()` and `z.iso.datetime({ offset: true })`
 * accept (a fast-check property holds them equal): `YYYY-MM-DD` (a real calendar day, years
 * 0000–9999, proleptic Gregorian) or `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
 */

export const DAY_MS = 86_400_000;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Two digits at s[i]; -1 when either is not a digit (or past the end: NaN fails the test). */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** The day number of `YYYY-MM-DD` at the start of s; NaN when it is not a real date. */
function dateAt(s: string): number {
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN; // '-'
  const century = two(s, 0);
  const yy = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const year = century * 100 + yy;
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1) return Number.NaN;
  const monthDays = month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!;
  return day > monthDays ? Number.NaN : daysFromCivil(year, month, day);
}

/** `HH:MM` at s[i]; minutes since midnight or -1. */
function hoursMinutes(s: string, i: number): number {
  if (s.charCodeAt(i + 2) !== 58) return -1; // ':'
  const h = two(s, i);
  const m = two(s, i + 3);
  return h < 0 || h > 23 || m < 0 || m > 59 ? -1 : h * 60 + m;
}

/**
 * Epoch milliseconds of an ISO date (its UTC midnight) or date-time with `Z` or an offset; NaN
 * when the text is not one. Fraction digits beyond the millisecond are dropped, as Date.parse does.
 */
export function parseTimestamp(s: string): number {
  const n = s.length;
  if (n === 10) return dateAt(s) * DAY_MS;
  if (n < 20 || s.charCodeAt(10) !== 84) return Number.NaN; // 'T'; the shortest is YYYY-MM-DDTHH:MM:SSZ
  const day = dateAt(s);
  const minutes = hoursMinutes(s, 11);
  const seconds = s.charCodeAt(16) === 58 ? two(s, 17) : -1;
  if (Number.isNaN(day) || minutes < 0 || seconds < 0 || seconds > 59) return Number.NaN;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    // '.', then at least one digit
    const start = ++i;
    while (i < n && isDigit(s.charCodeAt(i))) {
      if (i - start < 3) ms += (s.charCodeAt(i) - 48) * 10 ** (2 - (i - start));
      i++;
    }
    if (i === start) return Number.NaN;
  }
  let offsetMinutes = 0;
  const zone = s.charCodeAt(i);
  if (zone === 90) {
    // 'Z'
    if (i + 1 !== n) return Number.NaN;
  } else if (zone === 43 || zone === 45) {
    // '+' or '-'
    if (i + 6 !== n) return Number.NaN;
    const offset = hoursMinutes(s, i + 1);
    if (offset < 0) return Number.NaN;
    offsetMinutes = zone === 43 ? offset : -offset;
  } else {
    return Number.NaN;
  }
  return day * DAY_MS + ((minutes - offsetMinutes) * 60 + seconds) * 1000 + ms;
}

/** The last millisecond of the UTC day `YYYY-MM-DD` (the as-of instant of a date); NaN when not a date. */
export function endOfDay(date: string): number {
  return date.length === 10 ? (dateAt(date) + 1) * DAY_MS - 1 : Number.NaN;
}

/** `YYYY-MM-DD` of the UTC day an instant falls on. */
export function formatDay(epochMs: number): string {
  return new Date(Math.floor(epochMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}
