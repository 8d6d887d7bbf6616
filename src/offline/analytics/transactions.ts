/**
 * Reads NDJSON transactions `{customerId, at, amount, product?}` (see transaction.ts) into one
 * small history per customer, so memory grows with customers, not transactions.
 *
 * Definitions, for an as-of instant `asOf` (epoch ms; the CLI's `--as-of 2026-03-01` means the
 * last millisecond of that UTC day):
 * - this year = (asOf − 365 days, asOf]; last year = (asOf − 730 days, asOf − 365 days];
 *   before = up to asOf − 730 days. A date-only `at` is its UTC midnight, a date-time its instant.
 * - a purchase is a transaction with amount > 0; amount ≤ 0 (refunds, credits) only moves revenue.
 * - transactions after asOf are ignored (counted in `ignoredAfterAsOf`).
 */
import { jsonPointer } from '../../errors.js';
import { type LineError, MAX_ERRORS_PER_LINE, MAX_REPORTED_LINES } from '../../profiles/ndjson.js';
import { DAY_MS } from './timestamps.js';
import { checkTransaction, Transaction } from './transaction.js';

export interface CustomerHistory {
  readonly customerId: string;
  /** epoch ms of the first purchase (amount > 0) up to asOf; NaN when the customer never purchased (refunds only) */
  first: number;
  /** epoch ms of the latest purchase up to asOf; NaN when none */
  last: number;
  /** net revenue (purchases minus refunds) in this year: (asOf − 365 days, asOf] */
  thisYear: number;
  /** net revenue in last year: (asOf − 730 days, asOf − 365 days] */
  lastYear: number;
  /** a purchase in this year */
  activeThisYear: boolean;
  /** a purchase in last year */
  activeLastYear: boolean;
  /** a purchase before last year (up to asOf − 730 days) */
  activeBefore: boolean;
  /** distinct UTC days with a purchase, up to asOf, whatever the order of the lines (exact) */
  purchaseDays: number;
  /** the `product` of this year's purchases (refund lines do not add one) */
  products: Set<string>;
}

export interface HistoryReport {
  readonly customers: Map<string, CustomerHistory>;
  /** valid transactions up to asOf (each counted, purchases and refunds alike) */
  readonly transactions: number;
  /** valid transactions after asOf, left out */
  readonly ignoredAfterAsOf: number;
  /** how many lines were refused; `rejected` details the first MAX_REPORTED_LINES */
  readonly rejectedLines: number;
  readonly rejected: LineError[];
}

export interface ReadOptions {
  /** refuse the whole input when any line is bad: `result()` throws RejectedLinesError after reading it all */
  readonly strict?: boolean;
}

/** With --strict: the input had bad lines; the report lists them. */
export class RejectedLinesError extends Error {
  constructor(
    readonly rejectedLines: number,
    readonly rejected: LineError[],
  ) {
    super(`${rejectedLines} line(s) rejected`);
  }
}

/** The same bounds as the profile import: the first 100 bad lines, 10 errors each. */
export { type LineError, MAX_ERRORS_PER_LINE, MAX_REPORTED_LINES };
/** Longer lines are refused unread: a transaction fits in a few hundred characters. */
export const MAX_LINE_CHARS = 65_536;
const MAX_INTERNED_PRODUCTS = 10_000;
const YEAR_MS = 365 * DAY_MS;

class History implements CustomerHistory {
  first = Number.NaN;
  last = Number.NaN;
  thisYear = 0;
  lastYear = 0;
  activeThisYear = false;
  activeLastYear = false;
  activeBefore = false;
  purchaseDays = 0;
  products = new Set<string>();
  /** every distinct purchase day, ascending, once there are two (one day is the day of `first`); dropped by result() */
  days: number[] | null = null;

  constructor(readonly customerId: string) {}

  /** Counts day d once: ordered input appends in O(1), out-of-order input inserts by binary search. */
  addPurchaseDay(d: number): void {
    if (this.purchaseDays === 0) {
      this.purchaseDays = 1;
      return;
    }
    let days = this.days;
    if (days === null) {
      const only = Math.floor(this.first / DAY_MS);
      if (d === only) return;
      this.days = days = d < only ? [d, only] : [only, d];
      this.purchaseDays = 2;
      return;
    }
    const top = days[days.length - 1]!;
    if (d > top) days.push(d);
    else if (d === top) return;
    else {
      let lo = 0,
        hi = days.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (days[mid]! < d) lo = mid + 1;
        else hi = mid;
      }
      if (days[lo] === d) return;
      days.splice(lo, 0, d);
    }
    this.purchaseDays = days.length;
  }
}

/** Push-style reader: `add` each line in order (they are numbered from 1), then `result()`. */
export class HistoryReader {
  private readonly customers = new Map<string, History>();
  private readonly productNames = new Map<string, string>();
  private readonly rejected: LineError[] = [];
  private readonly lastYearStart: number;
  private readonly thisYearStart: number;
  private line = 0;
  private transactions = 0;
  private ignoredAfterAsOf = 0;
  private rejectedLines = 0;
  private done = false;

  constructor(
    private readonly asOf: number,
    private readonly options: ReadOptions = {},
  ) {
    if (!Number.isFinite(asOf)) throw new RangeError(`asOf must be epoch milliseconds, got ${asOf}`);
    this.thisYearStart = asOf - YEAR_MS; // exclusive
    this.lastYearStart = asOf - 2 * YEAR_MS; // exclusive
  }

  add(text: string): void {
    if (this.done) throw new Error('HistoryReader: add() after result()');
    const line = ++this.line;
    if (text.length === 0) return;
    if (text.length > MAX_LINE_CHARS) {
      this.reject(line, [{ path: '/', message: `line longer than ${MAX_LINE_CHARS} characters` }]);
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(text); // JSON allows surrounding whitespace, \r included
    } catch (err) {
      const trimmed = text.replace(/^\uFEFF/, '').trim();
      if (trimmed === '') return;
      try {
        data = JSON.parse(trimmed);
      } catch {
        this.reject(line, [{ path: '/', message: `invalid JSON: ${(err as Error).message}` }]);
        return;
      }
    }
    const t = checkTransaction(data);
    if (t === undefined) {
      this.explain(line, data);
      return;
    }
    this.count(t.customerId, t.at, t.amount, t.product);
  }

  /** A line refused before it was read (the stream reader's overlong lines). */
  skipOverlong(): void {
    this.reject(++this.line, [{ path: '/', message: `line longer than ${MAX_LINE_CHARS} characters` }]);
  }

  private count(customerId: string, at: number, amount: number, product: string | undefined): void {
    if (at > this.asOf) {
      this.ignoredAfterAsOf++;
      return;
    }
    this.transactions++;
    let h = this.customers.get(customerId);
    if (h === undefined) this.customers.set(customerId, (h = new History(customerId)));
    const thisYear = at > this.thisYearStart;
    const lastYear = !thisYear && at > this.lastYearStart;
    if (thisYear) h.thisYear += amount;
    else if (lastYear) h.lastYear += amount;
    if (amount <= 0) return;
    h.addPurchaseDay(Math.floor(at / DAY_MS));
    if (!(at >= h.first)) h.first = at; // NaN-safe: the first purchase sets it
    if (!(at <= h.last)) h.last = at;
    if (thisYear) {
      h.activeThisYear = true;
      if (product !== undefined) h.products.add(this.intern(product));
    } else if (lastYear) h.activeLastYear = true;
    else h.activeBefore = true;
  }

  /** One string per product name, so a million customers share the few names instead of copying them. */
  private intern(product: string): string {
    const known = this.productNames.get(product);
    if (known !== undefined) return known;
    if (this.productNames.size < MAX_INTERNED_PRODUCTS) this.productNames.set(product, product);
    return product;
  }

  /** The slow path: zod says why a line was refused. */
  private explain(line: number, data: unknown): void {
    const parsed = Transaction.safeParse(data);
    const errors = parsed.success
      ? [{ path: '/', message: 'not a valid transaction' }] // unreachable while checkTransaction equals the schema
      : parsed.error.issues
          .slice(0, MAX_ERRORS_PER_LINE)
          .map((e) => ({ path: jsonPointer(e.path), message: e.message }));
    this.reject(line, errors);
  }

  private reject(line: number, errors: { path: string; message: string }[]): void {
    this.rejectedLines++;
    if (this.rejected.length < MAX_REPORTED_LINES) this.rejected.push({ line, errors });
  }

  /** The histories and counts; with `strict` and any bad line, throws RejectedLinesError instead. */
  result(): HistoryReport {
    this.done = true;
    if (this.options.strict && this.rejectedLines > 0) throw new RejectedLinesError(this.rejectedLines, this.rejected);
    for (const h of this.customers.values()) h.days = null;
    return {
      customers: this.customers,
      transactions: this.transactions,
      ignoredAfterAsOf: this.ignoredAfterAsOf,
      rejectedLines: this.rejectedLines,
      rejected: this.rejected,
    };
  }
}

/** Reads lines (an array, a generator, readline…) into customer histories; see the definitions above. */
export async function readHistories(
  lines: AsyncIterable<string> | Iterable<string>,
  asOf: number,
  options: ReadOptions = {},
): Promise<HistoryReport> {
  const reader = new HistoryReader(asOf, options);
  if (Symbol.asyncIterator in lines) for await (const line of lines) reader.add(line);
  else for (const line of lines) reader.add(line);
  return reader.result();
}

/**
 * Calls `line` for each line of a byte stream (without its \n), and `overlong` for each line
 * longer than MAX_LINE_CHARS, which is skipped unread: splitting chunks here is several times
 * cheaper than one promise per line through readline.
 */
export async function forEachLine(
  input: AsyncIterable<string | Buffer>,
  line: (text: string) => void,
  overlong: () => void,
): Promise<void> {
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let tooLong = false;
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      if (tooLong) overlong();
      else line(carry === '' ? text.slice(start, end) : carry + text.slice(start, end));
      carry = '';
      tooLong = false;
      start = end + 1;
    }
    if (!tooLong) carry += text.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      carry = '';
      tooLong = true;
    }
  }
  const tail = carry + decoder.decode();
  if (tooLong) overlong();
  else if (tail !== '') line(tail);
}

/** The fast way from a byte stream (a file, stdin) into customer histories. */
export async function readHistoriesFromStream(
  input: AsyncIterable<string | Buffer>,
  asOf: number,
  options: ReadOptions = {},
): Promise<HistoryReport> {
  const reader = new HistoryReader(asOf, options);
  await forEachLine(
    input,
    (text) => reader.add(text),
    () => reader.skipOverlong(),
  );
  return reader.result();
}
