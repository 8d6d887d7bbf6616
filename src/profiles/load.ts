import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type ImportReport, importProfileLines } from './ndjson.js';
import type { ProfileStore } from './store.js';

/** Streams an NDJSON profile file into a store; the report is bounded like the bulk route's. */
export function loadProfileFile(path: string, store: ProfileStore): Promise<ImportReport> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  return importProfileLines(lines, (p) => store.putMany(p));
}
