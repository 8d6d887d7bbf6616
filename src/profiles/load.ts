import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseProfileLines, type LineError } from './ndjson.js';
import type { ProfileStore } from './store.js';

const BATCH = 5_000;

/** Streams an NDJSON profile file into a store; returns how many were stored and the bad lines. */
export async function loadProfileFile(path: string, store: ProfileStore): Promise<{ imported: number; rejected: LineError[] }> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  const rejected: LineError[] = [];
  let imported = 0;
  let batch: string[] = [];
  let first = 1;
  const flush = async () => {
    const parsed = parseProfileLines(batch.join('\n'), first);
    await store.putMany(parsed.profiles);
    imported += parsed.profiles.length;
    rejected.push(...parsed.rejected);
    first += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    batch.push(line);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return { imported, rejected };
}
