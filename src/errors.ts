/** The closed list of error codes. Each has a status and a title in api/problem.ts and a row in the README. */
export const ERROR_CODES = [
  'invalid_request',
  'malformed_json',
  'unknown_channel',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'invalid_ruleset',
  'decision_mismatch',
  'ruleset_unavailable',
  'run_conflict',
  'rate_limited',
  'not_ready',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** One reference token of a JSON Pointer (RFC 6901): `~` and `/` escaped. */
export const pointerToken = (key: PropertyKey): string => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

/** The JSON Pointer of a path of keys; `/` for the whole value, as FieldError paths write it. */
export const jsonPointer = (path: readonly PropertyKey[]): string => `/${path.map(pointerToken).join('/')}`;

export interface FieldError {
  readonly path: string;
  readonly message: string;
  /** for problems in rule files: where, as `nextbest rules validate` prints it */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** The one error class: services throw it, the API turns it into a problem response. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: readonly FieldError[],
    /** seconds after which a retry may succeed (429 and 503 answers) */
    readonly retryAfter?: number,
    /** the methods the path takes (405 answers), for the Allow header */
    readonly allow?: readonly string[],
  ) {
    super(detail);
  }
}
