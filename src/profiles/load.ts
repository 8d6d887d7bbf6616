import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { importProfileLines, MAX_REPORTED_LINES, type ImportReport, type LineError } from './ndjson.js';
import type { ProfileStore } from './store.js';

const BATCH = 5_000;

/** Streams an NDJSON profile file into a store; the report is bounded like the bulk route's. */
export async function loadProfileFile(path: string, store: ProfileStore): Promise<ImportReport> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  const rejected: LineError[] = [];
  let imported = 0;
  let rejectedLines = 0;
  let batch: string[] = [];
  let first = 1;
  const flush = async () => {
    const report = await importProfileLines(batch, (p) => store.putMany(p), first);
    imported += report.imported;
    rejectedLines += report.rejectedLines;
    rejected.push(...report.rejected.slice(0, MAX_REPORTED_LINES - rejected.length));
    first += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    batch.push(line);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return { imported, rejectedLines, rejected };
}
