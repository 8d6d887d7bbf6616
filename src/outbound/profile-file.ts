import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type LineError, MAX_REPORTED_LINES, parseProfileLines } from '../profiles/ndjson.js';
import type { Profile } from '../profiles/schema.js';

/**
 * A population read from its NDJSON file each time it is scanned, in the file's order: a run
 * over a million customers holds a batch of them at a time, not the million. Bad lines are
 * skipped and counted (the first scan's count and first lines are kept for the report).
 */
export class ProfileFile {
  /** lines refused by the last full scan */
  rejectedLines = 0;
  readonly rejected: LineError[] = [];
  private customers: number | undefined;

  constructor(readonly path: string) {}

  /** Customers in the file, once a scan has read it to its end. */
  async size(): Promise<number | undefined> {
    return this.customers;
  }

  async *scan(batchSize: number): AsyncIterable<readonly Profile[]> {
    const lines = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
    let batch: string[] = [];
    let first = 1;
    let customers = 0;
    let rejectedLines = 0;
    const rejected: LineError[] = [];
    const parse = () => {
      const parsed = parseProfileLines(batch, first);
      first += batch.length;
      batch = [];
      customers += parsed.profiles.length;
      rejectedLines += parsed.rejected.length;
      rejected.push(...parsed.rejected.slice(0, MAX_REPORTED_LINES - rejected.length));
      return parsed.profiles;
    };
    for await (const line of lines) {
      batch.push(line);
      if (batch.length >= batchSize) yield parse();
    }
    if (batch.length > 0) yield parse();
    this.customers = customers;
    this.rejectedLines = rejectedLines;
    this.rejected.splice(0, this.rejected.length, ...rejected);
  }
}
