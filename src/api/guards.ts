import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { ApiError } from '../errors.js';
import { newId } from '../math/ids.js';
import type { AppEnv } from './types.js';

/** The longest X-Request-Id taken from a caller; a longer one, or one with characters outside A-Za-z0-9_-=, is replaced. */
export const REQUEST_ID_MAX_LENGTH = 128;
const SANE_REQUEST_ID = /^[\w=-]+$/;

/**
 * Every request's ID: the caller's X-Request-Id when it is sane, else a new UUID; answered in
 * the X-Request-Id header, and carried by problem bodies and log lines about the request. On
 * a Node server the header goes onto the socket's response at once (node-server merges it into
 * the answer), so a route answering plain headers keeps node-server's fast path; without one
 * (app.request, other runtimes) it goes through hono's headers.
 */
export function requestIds(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const sent = c.req.header('x-request-id');
    const id =
      sent !== undefined && sent.length <= REQUEST_ID_MAX_LENGTH && SANE_REQUEST_ID.test(sent) ? sent : newId();
    c.set('requestId', id);
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (outgoing) outgoing.setHeader('x-request-id', id);
    else c.header('x-request-id', id);
    return next();
  };
}

export const BODY_LIMIT_BYTES = 64 * 1024;
export const BULK_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
const BULK_PATH = '/v1/profiles/bulk';

const tooLarge = (max: number) => new ApiError('payload_too_large', `the body is over ${max} bytes`);

/**
 * Body limits: 64 KiB, 32 MiB for bulk import. A declared Content-Length is checked without
 * touching the body (Node's parser never delivers more than it declares), which keeps
 * @hono/node-server on its fast path; only chunked bodies are counted as they stream in.
 */
export function bodyLimits(): MiddlewareHandler {
  const streamed = (max: number) =>
    bodyLimit({
      maxSize: max,
      onError: () => {
        throw tooLarge(max);
      },
    });
  const small = streamed(BODY_LIMIT_BYTES);
  const bulk = streamed(BULK_BODY_LIMIT_BYTES);
  return (c, next) => {
    const isBulk = c.req.path === BULK_PATH;
    const max = isBulk ? BULK_BODY_LIMIT_BYTES : BODY_LIMIT_BYTES;
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      if (Number(declared) > max) throw tooLarge(max);
      return next();
    }
    return (isBulk ? bulk : small)(c, next);
  };
}

/**
 * CORS for the browser-facing routes, for the origins in CORS_ORIGINS only. Requests without
 * an Origin header (servers, call-center back ends) skip it entirely.
 */
export function browserCors(origins: readonly string[] | undefined): MiddlewareHandler | undefined {
  if (!origins || origins.length === 0) return undefined;
  const allowed = new Set(origins);
  const handler = cors({
    origin: (o) => (allowed.has(o) ? o : null),
    allowHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposeHeaders: ['x-request-id'],
    allowMethods: ['POST', 'OPTIONS'],
    maxAge: 600,
  });
  return (c, next) => (c.req.header('origin') === undefined ? next() : handler(c, next));
}
