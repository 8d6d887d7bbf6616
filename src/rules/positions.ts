import { parse as parseWithPointers } from 'json-source-map';
import { pointerToken } from '../errors.js';

/** A message about one place in one rule file; line and column are 1-based. */
export interface RuleIssue {
  readonly file: string;
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

export function formatIssue(issue: RuleIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.severity === 'warning' ? 'warning: ' : ''}${issue.message}`;
}

/** Warnings logged one by one at most: a generated catalogue can have thousands, and each is a log line. */
const WARNINGS_LOGGED = 20;

/** Logs a rule set's warnings, the first few each on its line and a count of the rest. */
export function logWarnings(
  log: { warn(details: object, message: string): void },
  warnings: readonly RuleIssue[],
  details: object = {},
): void {
  for (const w of warnings.slice(0, WARNINGS_LOGGED)) log.warn(details, formatIssue(w));
  if (warnings.length > WARNINGS_LOGGED)
    log.warn(
      { ...details, warnings: warnings.length },
      `… and ${(warnings.length - WARNINGS_LOGGED).toLocaleString('en-US')} more warnings: nextbest rules validate lists them all`,
    );
}

type Pointers = Record<string, { value: { pos: number }; key?: { pos: number } }>;

/** Deeper than this, a rule file is refused before any parser recurses into it. */
export const MAX_DEPTH = 64;

/** The offset where the nesting first goes past MAX_DEPTH, outside strings; undefined when it never does. */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > MAX_DEPTH) return i;
    } else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}

/** 1-based line and column of a character offset; a tab counts as one column, as editors report it. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** The JSON Pointer of every value in a parsed document, the document itself first (`""`). */
function pointersOf(value: unknown, at = '', into: string[] = []): string[] {
  into.push(at);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) pointersOf(v, `${at}/${i}`, into);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) pointersOf(v, `${at}/${pointerToken(k)}`, into);
  return into;
}

/** Where a value ends: a string's closing quote, a number's last digit, a closing bracket, true, false, null. */
const VALUE_END = /["\d}\]el]$/;
/** Where a value or a key begins. */
const VALUE_START = /^["\d{[\-tfn]/;

/**
 * The two slips hand-edited JSON has most, said where they are rather than where the parser
 * stumbled: a missing comma (the parser stops at the next line's value; the comma belongs after
 * the previous one) and a comma before a closing bracket.
 */
function commonSlip(text: string, offset: number): { offset: number; message: string } | undefined {
  const next = text.slice(offset).trimStart();
  const before = text.slice(0, offset).trimEnd();
  if (VALUE_START.test(next) && VALUE_END.test(before))
    return { offset: before.length, message: 'a comma is missing after this value' };
  if (/^[}\]]/.test(next) && before.endsWith(','))
    return { offset: before.length - 1, message: `a comma before "${next[0]}" is not allowed in JSON: remove it` };
  return undefined;
}

/**
 * A parsed JSON file that can say where any of its values stands. Parsed by JSON.parse; the
 * slower position-tracking parse runs only for a file that has something to say.
 */
export class SourceFile {
  private located: Pointers | undefined;

  private constructor(
    readonly file: string,
    readonly data: unknown,
    private readonly text: string,
  ) {}

  static parse(file: string, raw: string): SourceFile | RuleIssue {
    const text = raw.replace(/^\uFEFF/, ''); // some editors save a byte-order mark
    const deep = tooDeep(text);
    if (deep !== undefined) {
      return {
        file,
        path: '',
        ...lineColumn(text, deep),
        message: `nested more than ${MAX_DEPTH} levels deep: split the condition up`,
        severity: 'error',
      };
    }
    try {
      return new SourceFile(file, JSON.parse(text), text);
    } catch {
      // the position-tracking parser says where, in the same words on every Node version
      try {
        return new SourceFile(file, parseWithPointers(text).data, text);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const at = /position (\d+)/.exec(message);
        const offset = at ? Number(at[1]) : text.length;
        const slip = commonSlip(text, offset);
        return {
          file,
          path: '',
          ...lineColumn(text, slip?.offset ?? offset),
          message: `invalid JSON: ${slip?.message ?? message.replace(/ in JSON at position \d+/, '')}`,
          severity: 'error',
        };
      }
    }
  }

  private get pointers(): Pointers {
    this.located ??= parseWithPointers(this.text).pointers as Pointers;
    return this.located;
  }

  /** The JSON Pointer of every value, from the parsed data: no positions needed. */
  pointerList(): string[] {
    return pointersOf(this.data);
  }

  /** The issue at the deepest existing prefix of `path` (a missing key points at its parent). */
  issue(
    path: readonly PropertyKey[],
    message: string,
    severity: RuleIssue['severity'] = 'error',
    where: 'key' | 'value' = 'value',
  ): RuleIssue {
    const parts = path.map(pointerToken);
    for (let n = parts.length; n >= 0; n--) {
      const pointer = n === 0 ? '' : `/${parts.slice(0, n).join('/')}`;
      const found = this.pointers[pointer];
      if (found) {
        const pos = n === parts.length && where === 'key' && found.key ? found.key : found.value;
        return { file: this.file, path: pointer || '/', ...lineColumn(this.text, pos.pos), message, severity };
      }
    }
    return { file: this.file, path: '/', line: 1, column: 1, message, severity };
  }
}
