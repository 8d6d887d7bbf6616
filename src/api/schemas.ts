import { z } from '@hono/zod-openapi';
import { CustomerId, SafeKey } from '../profiles/schema.js';

/** Shapes shared by several routes. */
export const MAX_CONTEXT_KEYS = 32;

export const Context = z
  .record(SafeKey, z.union([z.string().max(256), z.number(), z.boolean()]))
  .refine((value) => Object.keys(value).length <= MAX_CONTEXT_KEYS, `at most ${MAX_CONTEXT_KEYS} keys`)
  .openapi({ example: { intent: 'cancel' } });

export const CustomerIdParam = z.object({
  customerId: CustomerId.openapi({ param: { name: 'customerId', in: 'path' } }),
});

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z
      .string()
      .describe('the request’s X-Request-Id, as answered in that header: quote it to an operator')
      .optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** Every answer carries it; a caller's own X-Request-Id is kept when it is sane. */
export const RequestIdHeader = z
  .string()
  .describe('the caller’s X-Request-Id (up to 128 of A-Za-z0-9_-=), else a new UUID');

export const problemResponse = (description: string) => ({
  description,
  headers: z.object({ 'X-Request-Id': RequestIdHeader }),
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});
