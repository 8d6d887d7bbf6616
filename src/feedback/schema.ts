import { z } from '@hono/zod-openapi';
import { OUTCOMES } from '../contacts/store.js';
import { CHANNEL_PATTERN, CUSTOMER_ID_PATTERN, CustomerId, INTERACTION_ID_PATTERN } from '../profiles/schema.js';

/** Most events one request may carry. */
export const MAX_EVENTS = 500;
/** How far ahead of the server clock an event's `at` may be (clock skew). */
const MAX_FUTURE_MS = 5 * 60_000;
/** How old an event may be: older ones could change no decision and no report period. */
const MAX_AGE_MS = 400 * 24 * 3600_000;

const Token = z.string().regex(CUSTOMER_ID_PATTERN, '1-128 characters of A-Za-z0-9._:-');

export const ResponseEventSchema = z
  .object({
    customerId: CustomerId,
    offerId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'an offer ID: lower-case letters, digits and dashes')
      .openapi({ example: 'save-discount-12m' }),
    outcome: z
      .enum(OUTCOMES)
      .describe('what the customer did; complaint: they complained about this contact ("stop sending me this")'),
    channel: z.string().regex(CHANNEL_PATTERN, 'a channel name such as "web"').openapi({ example: 'web' }),
    decisionId: Token.optional().describe('the decision that showed the offer'),
    interactionId: z
      .string()
      .regex(INTERACTION_ID_PATTERN, '1–64 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"')
      .optional()
      .describe(
        'the interaction (call, page view) the decision answered, as the caller knows it; the decisionId is what counts',
      ),
    eventId: Token.optional().describe(
      'idempotency key, unique per customer: an event sent twice with the same eventId is counted once; assigned by the server when absent',
    ),
    at: z.iso
      .datetime({ offset: true })
      .refine((at) => !(Date.parse(at) > Date.now() + MAX_FUTURE_MS), 'more than 5 minutes in the future')
      .refine((at) => !(Date.parse(at) < Date.now() - MAX_AGE_MS), 'more than 400 days in the past')
      .optional()
      .describe('when it happened (ISO 8601, within the last 400 days); the time of receipt when absent'),
  })
  .strict()
  .openapi('ResponseEvent');

export type ResponseEventInput = z.output<typeof ResponseEventSchema>;

export const ResponseBatchSchema = z
  .object({ events: z.array(ResponseEventSchema).min(1).max(MAX_EVENTS) })
  .strict()
  .openapi('ResponseBatch');

export interface RecordResult {
  /** events stored or queued for storing */
  readonly accepted: number;
  /** events whose eventId was seen before; not counted again */
  readonly duplicates: number;
}
