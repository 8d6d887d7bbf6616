import { Profile } from './schema.js';

export interface LineError {
  readonly line: number;
  readonly errors: { path: string; message: string }[];
}

export interface ParsedLines {
  readonly profiles: Profile[];
  readonly rejected: LineError[];
}

const pointer = (path: readonly PropertyKey[]) => '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
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
    const parsed = Profile.safeParse(data);
    if (parsed.success) profiles.push(parsed.data);
    else rejected.push({ line, errors: parsed.error.issues.slice(0, MAX_ERRORS_PER_LINE).map((e) => ({ path: pointer(e.path), message: e.message })) });
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

/** Validates and stores NDJSON in batches, yielding between them so other requests keep flowing. */
export async function importProfileLines(lines: readonly string[], putMany: (p: Profile[]) => Promise<void>, firstLine = 1): Promise<ImportReport> {
  let imported = 0;
  let rejectedLines = 0;
  const rejected: LineError[] = [];
  for (let start = 0; start < lines.length; start += BATCH) {
    const parsed = parseProfileLines(lines.slice(start, start + BATCH), firstLine + start);
    await putMany(parsed.profiles);
    imported += parsed.profiles.length;
    rejectedLines += parsed.rejected.length;
    rejected.push(...parsed.rejected.slice(0, MAX_REPORTED_LINES - rejected.length));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { imported, rejectedLines, rejected };
}
