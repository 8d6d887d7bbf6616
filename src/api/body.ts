import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { ApiError } from '../errors.js';
import { fromZod } from './problem.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads and validates a JSON body in one step, for routes on the hot path: the same checks
 * and problems as the OpenAPI validators, without their middleware layers. `fast` may
 * accept the common valid case first; zod decides everything else and words the errors.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  fast?: (data: unknown) => z.output<S> | undefined,
): Promise<z.output<S>> {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? ''))
    throw new ApiError('unsupported_media_type', 'send the body as application/json');
  const text = await c.req.text();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw malformedJson(text);
  }
  const quick = fast?.(data);
  if (quick !== undefined) return quick;
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw fromZod(parsed.error, 'request body', schema, data);
  return parsed.data;
}

/** Where a JSON text stops being JSON, and why; lines and columns count from 1. */
export interface JsonSyntaxError {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** The malformed_json problem of a body: where and why, as "line 3, column 5: …". */
export function malformedJson(text: string): ApiError {
  const at = jsonSyntaxError(text);
  if (!at) return new ApiError('malformed_json', 'the body is not valid JSON');
  const where = `line ${at.line}, column ${at.column}: ${at.message}`;
  return new ApiError('malformed_json', `the body is not valid JSON: ${where}`, [
    { path: '/', message: where, line: at.line, column: at.column },
  ]);
}

/**
 * The problem for an error a route's JSON validator threw (hono's "Malformed JSON in request
 * body", which says nothing of where): the body's text is still in the request's cache, read
 * again to say where. Undefined for every other error.
 */
export async function malformedJsonBody(err: unknown, c: Context): Promise<ApiError | undefined> {
  if (!(err instanceof HTTPException) || err.status !== 400 || !/malformed json/i.test(err.message)) return undefined;
  const cached = c.req.bodyCache.text;
  if (cached === undefined) return undefined;
  try {
    return malformedJson(await cached);
  } catch {
    return undefined;
  }
}

const describeChar = (text: string, at: number): string => {
  if (at >= text.length) return 'the end of the body';
  const code = text.codePointAt(at)!;
  if (code < 0x20 || code === 0x7f || code === 0xfeff || (code >= 0x80 && code < 0xa0))
    return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${String.fromCodePoint(code)}'`;
};

/** Line and column (in characters) of an offset. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  let column = 1;
  for (let i = start; i < offset; i++) {
    const code = text.charCodeAt(i);
    // a surrogate pair is one character
    if (!(code >= 0xd800 && code <= 0xdbff && i + 1 < offset)) column++;
  }
  return { line, column };
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * The first place a text breaks the JSON grammar (RFC 8259), found by a scanner of its own:
 * the same position and words whichever Node version's JSON.parse refused it. Iterative,
 * so deep nesting cannot overflow the stack. Undefined when the text is JSON.
 */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const n = text.length;
  let i = 0;
  const open: ('{' | '[')[] = [];
  const fail = (at: number, message: string): JsonSyntaxError => ({ offset: at, ...position(text, at), message });
  const skip = () => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };
  const inside = () => (open.length === 0 ? 'the body' : open[open.length - 1] === '{' ? 'an object' : 'an array');

  /** A string from its opening quote; an error, or undefined with i past the closing quote. */
  const string = (what: string): JsonSyntaxError | undefined => {
    const start = i;
    i++;
    while (i < n) {
      const ch = text[i]!;
      const code = text.charCodeAt(i);
      if (ch === '"') {
        i++;
        return undefined;
      }
      if (code < 0x20)
        return fail(
          i,
          `${describeChar(text, i)} inside ${what}: a line break or control character is written escaped (\\n, \\t, \\u0001)`,
        );
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6)))
            return fail(i, 'a \\u escape takes four hexadecimal digits, like \\u00e9');
          i += 6;
          continue;
        }
        if (next === undefined || !ESCAPES.has(next))
          return fail(
            i,
            `${next === undefined ? 'a lone \\' : `\\${next}`} is not an escape JSON knows: \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX are`,
          );
        i += 2;
        continue;
      }
      i++;
    }
    return fail(start, `${what} starting here has no closing '"'`);
  };

  /** A number from its first character; an error, or undefined with i past it. */
  const number = (): JsonSyntaxError | undefined => {
    if (text[i] === '-') i++;
    if (!isDigit(text.charCodeAt(i))) return fail(i, `a digit is expected after '-', not ${describeChar(text, i)}`);
    if (text[i] === '0' && isDigit(text.charCodeAt(i + 1)))
      return fail(i, 'a number does not start with 0 (0 itself, or 0.5, are fine)');
    while (isDigit(text.charCodeAt(i))) i++;
    if (text[i] === '.') {
      i++;
      if (!isDigit(text.charCodeAt(i)))
        return fail(i, `a digit is expected after the decimal point, not ${describeChar(text, i)}`);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!isDigit(text.charCodeAt(i)))
        return fail(i, `a digit is expected in the exponent, not ${describeChar(text, i)}`);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    return undefined;
  };

  /** Expecting a value; `closer` is the bracket that may end an empty array here. */
  type State = 'value' | 'first-element' | 'element-after-comma' | 'key' | 'first-key' | 'after-value';
  let state: State = 'value';
  for (;;) {
    skip();
    const ch = text[i];
    if (state === 'after-value') {
      if (open.length === 0) {
        if (i >= n) return undefined;
        return fail(i, `${describeChar(text, i)} after the end of the JSON value: a body holds one value`);
      }
      const top = open[open.length - 1]!;
      const close = top === '{' ? '}' : ']';
      if (ch === ',') {
        i++;
        state = top === '{' ? 'key' : 'element-after-comma';
        continue;
      }
      if (ch === close) {
        i++;
        open.pop();
        continue;
      }
      if (i >= n) return fail(i, `the body ends inside ${inside()}: a '${close}' is missing`);
      return fail(
        i,
        top === '{'
          ? `',' or '}' is expected after a property's value, not ${describeChar(text, i)}`
          : `',' or ']' is expected after an array element, not ${describeChar(text, i)}`,
      );
    }
    if (state === 'key' || state === 'first-key') {
      if (ch === '}' && state === 'first-key') {
        i++;
        open.pop();
        state = 'after-value';
        continue;
      }
      if (ch === '}') return fail(i, "a trailing comma: JSON has no ',' before '}'");
      if (ch === '"') {
        const bad = string('a property name');
        if (bad) return bad;
        skip();
        if (text[i] !== ':') return fail(i, `':' is expected after the property name, not ${describeChar(text, i)}`);
        i++;
        state = 'value';
        continue;
      }
      if (i >= n) return fail(i, `the body ends inside ${inside()}: a '}' is missing`);
      if (ch === "'") return fail(i, 'property names take double quotes, not single quotes');
      return fail(i, `a property name in double quotes is expected, not ${describeChar(text, i)}`);
    }
    // a value
    if (i >= n)
      return fail(i, open.length === 0 ? 'the body is empty' : `the body ends inside ${inside()}: a value is missing`);
    if (ch === ']' && state === 'first-element') {
      i++;
      open.pop();
      state = 'after-value';
      continue;
    }
    if (ch === ']' && state === 'element-after-comma') return fail(i, "a trailing comma: JSON has no ',' before ']'");
    state = 'after-value';
    if (ch === '{' || ch === '[') {
      open.push(ch);
      i++;
      state = ch === '{' ? 'first-key' : 'first-element';
      continue;
    }
    if (ch === '"') {
      const bad = string('a string');
      if (bad) return bad;
      continue;
    }
    if (ch === '-' || isDigit(text.charCodeAt(i))) {
      const bad = number();
      if (bad) return bad;
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(i, i + 64))?.[0];
    if (word === 'true' || word === 'false' || word === 'null') {
      i += word.length;
      continue;
    }
    if (ch === "'") return fail(i, 'strings take double quotes, not single quotes');
    return fail(
      i,
      word
        ? `${word.length > 20 ? `${word.slice(0, 20)}…` : word} is not a JSON value: a string takes double quotes, and true, false and null are lower case`
        : `a value (a string, number, object, array, true, false or null) is expected, not ${describeChar(text, i)}`,
    );
  }
}
