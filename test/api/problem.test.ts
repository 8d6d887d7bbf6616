import { readFile } from 'node:fs/promises';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { PROBLEMS, problemBody, toApiError } from '../../src/api/problem.js';
import { ApiError } from '../../src/errors.js';

describe('problems', () => {
  it('every error code is documented in docs/api.md with its status', async () => {
    const api = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(PROBLEMS)) {
      expect(api, code).toContain(`| \`${code}\` | ${status} |`);
    }
  });

  it('unknown errors become a bare internal problem without details', () => {
    const err = toApiError(new TypeError('secret stack detail'));
    expect(err.code).toBe('internal');
    expect(JSON.stringify(problemBody(err))).not.toContain('secret');
  });

  it('maps framework exceptions to their codes', () => {
    expect(toApiError(new HTTPException(400, { message: 'Malformed JSON in request body' })).code).toBe(
      'malformed_json',
    );
    expect(toApiError(new HTTPException(415)).code).toBe('unsupported_media_type');
    expect(toApiError(new ApiError('forbidden', 'no')).code).toBe('forbidden');
  });
});
