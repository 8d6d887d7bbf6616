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

/** A parsed JSON file that can say where any of its values stands. */
export class SourceFile {
  private constructor(
    readonly file: string,
    readonly data: unknown,
    private readonly pointers: Pointers,
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
      const { data, pointers } = parseWithPointers(text);
      return new SourceFile(file, data, pointers as Pointers, text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const at = /position (\d+)/.exec(message);
      const offset = at ? Number(at[1]) : text.length;
      return {
        file,
        path: '',
        ...lineColumn(text, offset),
        message: `invalid JSON: ${message.replace(/ in JSON at position \d+/, '')}`,
        severity: 'error',
      };
    }
  }

  pointerList(): string[] {
    return Object.keys(this.pointers);
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
