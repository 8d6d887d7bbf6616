import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { TrieRouter } from 'hono/router/trie-router';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError, z } from 'zod';
import { ApiError, type ErrorCode, type FieldError, jsonPointer } from '../errors.js';
import type { AppEnv } from './types.js';

/** Status and title of every error code; the one place that maps codes to HTTP. */
export const PROBLEMS: Readonly<Record<ErrorCode, { status: ContentfulStatusCode; title: string }>> = {
  invalid_request: { status: 400, title: 'The request is invalid' },
  malformed_json: { status: 400, title: 'The body is not valid JSON' },
  unknown_channel: { status: 400, title: 'The channel is not declared by the active rule set' },
  unauthorized: { status: 401, title: 'A valid API key is required' },
  forbidden: { status: 403, title: 'The API key does not allow this' },
  not_found: { status: 404, title: 'No such resource' },
  method_not_allowed: { status: 405, title: 'The resource does not take this method' },
  payload_too_large: { status: 413, title: 'The body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  invalid_ruleset: { status: 422, title: 'The rule set is invalid; the previous version keeps serving' },
  decision_mismatch: { status: 422, title: 'A response does not belong to a decision this service made' },
  ruleset_unavailable: { status: 409, title: 'The rule-set version this needs is no longer loaded' },
  run_conflict: { status: 409, title: 'Another outbound run of this week stands or is under way' },
  rate_limited: { status: 429, title: 'Too many requests for this API key' },
  not_ready: { status: 503, title: 'The service is not ready' },
  unavailable: { status: 503, title: 'A backing store is unavailable; retry later' },
  internal: { status: 500, title: 'Internal error' },
};

export const PROBLEM_TYPE_PREFIX = 'urn:nextbest:problem:';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemBody(err: ApiError, instance?: string, requestId?: string) {
  const { status, title } = PROBLEMS[err.code];
  return {
    type: `${PROBLEM_TYPE_PREFIX}${err.code}`,
    title,
    status,
    detail: err.detail,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
    ...(err.errors ? { errors: err.errors } : {}),
  };
}

/** The one place that writes application/problem+json. */
export function problem(c: Context<AppEnv>, err: ApiError): Response {
  const body = problemBody(err, c.req.path, c.get('requestId'));
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  if (err.allow !== undefined) headers.allow = err.allow.join(', ');
  return c.body(JSON.stringify(body), body.status, headers);
}

/**
 * A validation failure as a problem: each issue's JSON Pointer and a message that says what is
 * allowed there (and what came instead), the first few repeated in `detail` with a dotted
 * path. With the schema and the input validated the messages name lengths, ranges and the
 * allowed keys; without them, what the issues themselves say.
 */
export function fromZod(
  error: ZodError,
  what = 'request body',
  schema?: z.ZodType,
  input: unknown = NO_INPUT,
): ApiError {
  const errors: FieldError[] = error.issues
    .slice(0, 50)
    .map((i) => ({ path: jsonPointer(i.path), message: messageOf(i as Issue, schema, input) }));
  const n = error.issues.length;
  const shown = errors.slice(0, 3).map((e) => `${dotted(e.path)}${e.message}`);
  const more = n > shown.length ? `; and ${n - shown.length} more (see errors)` : '';
  return new ApiError(
    'invalid_request',
    `the ${what} has ${n} problem${n === 1 ? '' : 's'}: ${shown.join('; ')}${more}`,
    errors,
  );
}

// --- what a schema allows, in words --------------------------------------------------------

/** The parts of a zod issue read here (zod 4's issue shapes). */
interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: string;
  readonly origin?: string;
  readonly maximum?: number | bigint;
  readonly minimum?: number | bigint;
  readonly inclusive?: boolean;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
  readonly errors?: readonly (readonly Issue[])[];
  readonly issues?: readonly Issue[];
}

interface Def {
  readonly type: string;
  readonly [key: string]: unknown;
}
type Schema = { readonly _zod: { readonly def: Def } };
const defOf = (s: unknown): Def | undefined => (s as Partial<Schema> | undefined)?._zod?.def;

const NO_INPUT: unique symbol = Symbol('no input');

/** Wrappers that do not change what a value may be (besides null). */
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'readonly', 'catch', 'nonoptional', 'nullable']);

function unwrap(schema: unknown): { def: Def | undefined; nullable: boolean } {
  let def = defOf(schema);
  let nullable = false;
  for (let depth = 0; def && depth < 16; depth++) {
    if (def.type === 'nullable') nullable = true;
    if (WRAPPERS.has(def.type)) def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(def.in);
    else if (def.type === 'lazy') def = defOf((def.getter as () => unknown)());
    else break;
  }
  return { def, nullable };
}

/** The schema of the value at `key` inside a value of `schema`. */
function child(schema: unknown, key: PropertyKey): unknown {
  const { def } = unwrap(schema);
  switch (def?.type) {
    case 'object': {
      const shape = def.shape as Record<string, unknown>;
      return Object.hasOwn(shape, key) ? shape[key as string] : undefined;
    }
    case 'record':
      return def.valueType;
    case 'array':
      return def.element;
    case 'tuple':
      return (def.items as unknown[])[Number(key)] ?? def.rest ?? undefined;
    case 'union':
      for (const option of def.options as unknown[]) {
        const found = child(option, key);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

const schemaAt = (schema: unknown, path: readonly PropertyKey[]) =>
  path.reduce<unknown>((s, key) => (s === undefined ? undefined : child(s, key)), schema);

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === NO_INPUT) return NO_INPUT;
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** What a schema allows: kinds of value ("string", "integer"), literal values, and limits. */
interface Allowed {
  readonly kinds: string[];
  readonly values: string[];
  readonly notes: string[];
}

const checksOf = (def: Def) =>
  ((def.checks as { _zod: { def: Record<string, unknown> } }[] | undefined) ?? []).map((c) => c._zod.def);

/** The message a schema's author gave a check (`.regex(re, 'message')`), if any. */
function authorsMessage(check: Record<string, unknown>): string | undefined {
  if (typeof check.error !== 'function') return undefined;
  try {
    const m = (check.error as (issue: unknown) => unknown)({ code: 'custom', input: undefined });
    return typeof m === 'string'
      ? m
      : typeof (m as { message?: unknown })?.message === 'string'
        ? (m as { message: string }).message
        : undefined;
  } catch {
    return undefined;
  }
}

const range = (min: string | undefined, max: string | undefined, unit = '') =>
  min !== undefined && max !== undefined
    ? min === max
      ? `exactly ${max}${unit}`
      : `${min} to ${max}${unit}`
    : max !== undefined
      ? `at most ${max}${unit}`
      : min !== undefined
        ? `at least ${min}${unit}`
        : undefined;

function lengthNote(def: Def, unit: string): string | undefined {
  let min: string | undefined;
  let max: string | undefined;
  for (const c of checksOf(def)) {
    if (c.check === 'min_length') min = String(c.minimum);
    if (c.check === 'max_length') max = String(c.maximum);
    if (c.check === 'length_equals') min = max = String(c.length);
  }
  return range(min, max, max === '1' || (max === undefined && min === '1') ? unit.replace(/s$/, '') : unit);
}

function describe(schema: unknown, depth = 0): Allowed | undefined {
  const { def, nullable } = unwrap(schema);
  if (!def || depth > 8) return undefined;
  const allowed: Allowed = { kinds: [], values: [], notes: [] };
  if (nullable) allowed.kinds.push('null');
  const note = (n: string | undefined) => void (n && !allowed.notes.includes(n) && allowed.notes.push(n));
  switch (def.type) {
    case 'string':
      allowed.kinds.push('string');
      note(lengthNote(def, ' characters'));
      for (const c of checksOf(def))
        if (c.check === 'string_format')
          note(authorsMessage(c) ?? (c.format === 'regex' ? undefined : String(c.format)));
      break;
    case 'number': {
      const checks = checksOf(def);
      allowed.kinds.push(
        checks.some((c) => c.check === 'number_format' && /int/.test(String(c.format))) ? 'integer' : 'number',
      );
      let min: string | undefined;
      let max: string | undefined;
      for (const c of checks) {
        if (c.check === 'greater_than') min = c.inclusive ? String(c.value) : `above ${c.value}`;
        if (c.check === 'less_than') max = c.inclusive ? String(c.value) : `below ${c.value}`;
      }
      if (min?.startsWith('above') || max?.startsWith('below')) note([min, max].filter(Boolean).join(' and '));
      else if (min !== undefined && max !== undefined) note(`from ${min} to ${max}`);
      else note(range(min, max));
      break;
    }
    case 'boolean':
      allowed.kinds.push('boolean');
      break;
    case 'null':
      allowed.kinds.push('null');
      break;
    case 'object':
    case 'record':
      allowed.kinds.push('object');
      break;
    case 'array':
      allowed.kinds.push('array');
      note(lengthNote(def, ' items'));
      break;
    case 'enum':
      allowed.values.push(...Object.values(def.entries as Record<string, unknown>).map((v) => JSON.stringify(v)));
      break;
    case 'literal':
      allowed.values.push(...(def.values as unknown[]).map((v) => JSON.stringify(v)));
      break;
    case 'union':
      for (const option of def.options as unknown[]) {
        const a = describe(option, depth + 1);
        if (!a) return undefined;
        for (const k of a.kinds) if (!allowed.kinds.includes(k)) allowed.kinds.push(k);
        allowed.values.push(...a.values);
        for (const n of a.notes) note(n);
      }
      break;
    default:
      return undefined;
  }
  return allowed;
}

const orList = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
const andList = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** "a string, number or boolean (at most 256 characters)", "one of "a" or "b"". */
function phrase(a: Allowed): string {
  const kinds = a.kinds.filter((k) => k !== 'null' || a.kinds.length === 1);
  const parts: string[] = [];
  if (kinds.length > 0) parts.push(`${article(kinds[0]!)} ${orList(kinds)}`);
  if (a.values.length > 0) parts.push(a.values.length === 1 ? a.values[0]! : `one of ${orList(a.values)}`);
  if (kinds.length !== a.kinds.length) parts.push('null');
  const text = parts.join(' or ');
  return a.notes.length > 0 ? `${text} (${a.notes.join('; ')})` : text;
}

/** What came instead, in words: `30`, `"x"`, `an object`, `a string of 300 characters`. */
function shown(value: unknown, sized = false): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    if (sized) return value.length === 0 ? 'an empty string' : `a string of ${value.length} characters`;
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (Array.isArray(value)) return sized ? `an array of ${value.length} items` : 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** What an issue says came instead, when the input is not at hand: zod's "received object". */
function receivedOf(issue: Issue): string | undefined {
  const m = /received (\w+)/.exec(issue.message ?? '') ?? /received (\w+)/.exec(issue.errors?.[0]?.[0]?.message ?? '');
  if (!m) return undefined;
  const kind = m[1]!;
  return kind === 'undefined' ? 'nothing' : kind === 'null' ? 'null' : `${article(kind)} ${kind}`;
}

/** The kinds a union's branches expected, when each refused the value outright. */
function branchKinds(issue: Issue): Allowed | undefined {
  const branches = issue.errors ?? [];
  if (branches.length === 0) return undefined;
  const allowed: Allowed = { kinds: [], values: [], notes: [] };
  for (const branch of branches) {
    const [only] = branch;
    if (branch.length !== 1 || !only || only.path.length > 0) return undefined;
    if (only.code === 'invalid_type' && only.expected) allowed.kinds.push(only.expected);
    else if (only.code === 'invalid_value' && only.values)
      allowed.values.push(...only.values.map((v) => JSON.stringify(v)));
    else return undefined;
  }
  return allowed;
}

function messageOf(issue: Issue, schema: unknown, input: unknown): string {
  const target = schema === undefined ? undefined : schemaAt(schema, issue.path);
  const allowed = target === undefined ? undefined : describe(target);
  const value = valueAt(input, issue.path);
  const got = (sized = false) => (value === NO_INPUT ? receivedOf(issue) : shown(value, sized));
  switch (issue.code) {
    case 'invalid_type':
    case 'invalid_union': {
      // a union whose branches failed inside the value (objects of other shapes) is not a wrong kind of value
      const branches = issue.code === 'invalid_union' ? branchKinds(issue) : undefined;
      if (issue.code === 'invalid_union' && !branches) return issue.message;
      const what =
        allowed ?? branches ?? (issue.expected ? { kinds: [issue.expected], values: [], notes: [] } : undefined);
      if (!what) return issue.message;
      const instead = got();
      if (instead === 'nothing') return `missing: ${phrase(what)} is required here`;
      return `${phrase(what)} is allowed here${instead ? `, not ${instead}` : ''}`;
    }
    case 'too_big':
    case 'too_small': {
      if (allowed) {
        const instead = got(true);
        return `${phrase(allowed)} is allowed here${instead ? `, not ${instead}` : ''}`;
      }
      const bound = String(issue.code === 'too_big' ? issue.maximum : issue.minimum);
      const which =
        issue.code === 'too_big' ? (issue.inclusive ? 'at most' : 'below') : issue.inclusive ? 'at least' : 'above';
      const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
      if (issue.origin !== 'string' && issue.origin !== 'array' && issue.origin !== 'number') return issue.message;
      return `${which} ${bound}${unit} ${unit && bound !== '1' ? 'are' : 'is'} allowed here`;
    }
    case 'invalid_value': {
      const values = (issue.values ?? []).map((v) => JSON.stringify(v));
      if (values.length === 0) return issue.message;
      const instead = got();
      return `${values.length === 1 ? values[0] : `one of ${orList(values)}`} is allowed here${instead ? `, not ${instead}` : ''}`;
    }
    case 'unrecognized_keys': {
      const keys = (issue.keys ?? []).map((k) => JSON.stringify(k));
      const { def } = unwrap(target);
      const known = def?.type === 'object' ? Object.keys(def.shape as object) : [];
      const refused = `${keys.length === 1 ? 'the key' : 'the keys'} ${andList(keys)} ${keys.length === 1 ? 'is' : 'are'} not allowed here`;
      return known.length > 0 ? `${refused}; the allowed keys are ${andList(known)}` : refused;
    }
    case 'invalid_key': {
      const key = issue.path[issue.path.length - 1];
      const why = (issue.issues ?? []).map((i) => i.message).join('; ');
      return `the key ${JSON.stringify(String(key))} is not allowed${why ? `: ${why}` : ''}`;
    }
    default:
      return issue.message;
  }
}

/** `context.intent: `, `events[1].outcome: `; nothing for the whole body. */
function dotted(pointer: string): string {
  if (pointer === '/') return '';
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const text = tokens
    .map((t, i) =>
      /^\d+$/.test(t)
        ? `[${t}]`
        : /^[A-Za-z_$][\w$]*$/.test(t)
          ? `${i === 0 ? '' : '.'}${t}`
          : `[${JSON.stringify(t)}]`,
    )
    .join('');
  return `${text}: `;
}

/**
 * The request schemas of the OpenAPI routes (body, params, query), by method, route path (as
 * hono writes it: `:customerId`) and validation target, for the validation hook's messages.
 */
export function requestSchemas(definitions: readonly unknown[]) {
  const byRoute = new Map<string, z.ZodType>();
  for (const d of definitions as { type?: string; route?: RouteDefinition }[]) {
    if (d.type !== 'route' || !d.route) continue;
    const { method, path, request } = d.route;
    const key = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
    const json = request?.body?.content?.['application/json']?.schema;
    if (json) byRoute.set(`${key} json`, json);
    if (request?.params) byRoute.set(`${key} param`, request.params);
    if (request?.query) byRoute.set(`${key} query`, request.query);
  }
  return (method: string, routePath: string, target: string): z.ZodType | undefined =>
    byRoute.get(`${method.toUpperCase()} ${routePath} ${target}`);
}

interface RouteDefinition {
  readonly method: string;
  readonly path: string;
  readonly request?: {
    readonly body?: { readonly content?: Readonly<Record<string, { readonly schema?: z.ZodType }>> };
    readonly params?: z.ZodType;
    readonly query?: z.ZodType;
  };
}

// --- 405 ----------------------------------------------------------------------------------

/**
 * The methods each route path answers, for 405s: a path some route matches with other methods
 * than the one asked is 405 with `Allow`; a path no route matches stays 404. Middleware (`ALL`)
 * is no route. GET routes answer HEAD too.
 */
export function allowedMethods(routes: readonly { readonly method: string; readonly path: string }[]) {
  const router = new TrieRouter<string>();
  for (const r of routes) if (r.method !== 'ALL') router.add('ALL', r.path, r.method.toUpperCase());
  return (path: string): string[] => {
    const methods = new Set(router.match('GET', path)[0].map(([method]) => method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}

/** The problem for a request no route answered: 405 when the path takes other methods, else 404. */
export function noRoute(method: string, path: string, allowed: readonly string[]): ApiError {
  if (allowed.length === 0 || allowed.includes(method.toUpperCase()))
    return new ApiError('not_found', `no route for ${method} ${path}`);
  return new ApiError(
    'method_not_allowed',
    `${path} does not take ${method}; it takes ${orList([...allowed])}`,
    undefined,
    undefined,
    allowed,
  );
}

/** Maps anything thrown to a problem; unknown errors become a bare 500 without details. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    switch (err.status) {
      case 400:
        return new ApiError('malformed_json', err.message || 'the body could not be parsed');
      case 401:
        return new ApiError('unauthorized', err.message);
      case 403:
        return new ApiError('forbidden', err.message);
      case 404:
        return new ApiError('not_found', err.message);
      case 405:
        return new ApiError('method_not_allowed', err.message);
      case 413:
        return new ApiError('payload_too_large', err.message);
      case 415:
        return new ApiError('unsupported_media_type', err.message || 'send application/json');
    }
    if (err.status < 500) return new ApiError('invalid_request', err.message);
  }
  return new ApiError('internal', 'an unexpected error occurred; it has been logged');
}
