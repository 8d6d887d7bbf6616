import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { ApiError, type ErrorCode, jsonPointer } from '../errors.js';
import type { AppEnv } from './types.js';

/** Status and title of every error code; the one place that maps codes to HTTP. */
export const PROBLEMS: Readonly<Record<ErrorCode, { status: ContentfulStatusCode; title: string }>> = {
  invalid_request: { status: 400, title: 'The request is invalid' },
  malformed_json: { status: 400, title: 'The body is not valid JSON' },
  unknown_channel: { status: 400, title: 'The channel is not declared by the active rule set' },
  unauthorized: { status: 401, title: 'A valid API key is required' },
  forbidden: { status: 403, title: 'The API key does not allow this' },
  not_found: { status: 404, title: 'No such resource' },
  payload_too_large: { status: 413, title: 'The body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  invalid_ruleset: { status: 422, title: 'The rule set is invalid; the previous version keeps serving' },
  decision_mismatch: { status: 422, title: 'A response does not belong to a decision this service made' },
  ruleset_unavailable: { status: 409, title: 'The rule-set version this needs is no longer loaded' },
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
  return c.body(JSON.stringify(body), body.status, headers);
}

export function fromZod(error: ZodError, what = 'request body'): ApiError {
  const errors = error.issues.slice(0, 50).map((i) => ({ path: jsonPointer(i.path), message: i.message }));
  return new ApiError('invalid_request', `the ${what} has ${error.issues.length} problem(s)`, errors);
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
      case 413:
        return new ApiError('payload_too_large', err.message);
      case 415:
        return new ApiError('unsupported_media_type', err.message || 'send application/json');
    }
    if (err.status < 500) return new ApiError('invalid_request', err.message);
  }
  return new ApiError('internal', 'an unexpected error occurred; it has been logged');
}
