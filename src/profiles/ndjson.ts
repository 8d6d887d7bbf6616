import { Profile } from './schema.js';

export interface LineError {
  readonly line: number;
  readonly errors: { path: string; message: string }[];
}

export interface ParsedLines {
  readonly profiles: Profile[];
  readonly rejected: LineError[];
}

const pointer = (path: readonly PropertyKey[]) => '/' + path.map(String).join('/');

/** Parses NDJSON profiles; a bad line is reported with its 1-based number and the rest go on. */
export function parseProfileLines(text: string, firstLine = 1): ParsedLines {
  const profiles: Profile[] = [];
  const rejected: LineError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
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
    else rejected.push({ line, errors: parsed.error.issues.map((e) => ({ path: pointer(e.path), message: e.message })) });
  }
  return { profiles, rejected };
}
