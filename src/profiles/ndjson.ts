import { jsonPointer } from '../errors.js';
import { fastProfile } from './fast-profile.js';
import { Profile } from './schema.js';

export interface LineError {
  readonly line: number;
  readonly errors: { path: string; message: string }[];
}

export interface ParsedLines {
  readonly profiles: Profile[];
  readonly rejected: LineError[];
}

/** A line's report is bounded: a wildly wrong line cannot make the answer huge. */
export const MAX_ERRORS_PER_LINE = 10;

/** Parses NDJSON profiles; a bad line is reported with its 1-based number and the rest go on. */
export function parseProfileLines(lines: readonly string[], firstLine = 1): ParsedLines {
  const profiles: Profile[] = [];
  const rejected: LineError[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/^\uFEFF/, '').trim();
    if (raw === '') continue;
    const line = firstLine + i;
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (err) {
      rejected.push({ line, errors: [{ path: '/', message: `invalid JSON: ${(err as Error).message}` }] });
      continue;
    }
    const fast = fastProfile(data);
    if (fast) {
      profiles.push(fast);
      continue;
    }
    const parsed = Profile.safeParse(data);
    if (parsed.success) profiles.push(parsed.data);
    else
      rejected.push({
        line,
        errors: parsed.error.issues
          .slice(0, MAX_ERRORS_PER_LINE)
          .map((e) => ({ path: jsonPointer(e.path), message: e.message })),
      });
  }
  return { profiles, rejected };
}

export const MAX_REPORTED_LINES = 100;
const BATCH = 2_000;

export interface ImportReport {
  readonly imported: number;
  /** how many lines were refused; `rejected` details the first MAX_REPORTED_LINES */
  readonly rejectedLines: number;
  readonly rejected: LineError[];
}

/**
 * Validates and stores NDJSON lines in batches, from an array or a stream, yielding between
 * batches so other requests keep flowing; the report stays bounded.
 */
export async function importProfileLines(
  lines: Iterable<string> | AsyncIterable<string>,
  putMany: (p: Profile[]) => Promise<void>,
): Promise<ImportReport> {
  let imported = 0;
  let rejectedLines = 0;
  const rejected: LineError[] = [];
  let batch: string[] = [];
  let first = 1;
  const flush = async () => {
    const parsed = parseProfileLines(batch, first);
    await putMany(parsed.profiles);
    imported += parsed.profiles.length;
    rejectedLines += parsed.rejected.length;
    rejected.push(...parsed.rejected.slice(0, MAX_REPORTED_LINES - rejected.length));
    first += batch.length;
    batch = [];
    await new Promise((resolve) => setImmediate(resolve));
  };
  for await (const line of lines) {
    batch.push(line);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return { imported, rejectedLines, rejected };
}
