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
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});
