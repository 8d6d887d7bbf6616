import type { Context } from 'hono';
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
  let data: unknown;
  try {
    data = await c.req.json();
  } catch {
    throw new ApiError('malformed_json', 'the body is not valid JSON');
  }
  const quick = fast?.(data);
  if (quick !== undefined) return quick;
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
}
