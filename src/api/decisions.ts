import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context as HonoContext } from 'hono';
import type { DecisionService } from '../decision/service.js';
import type { Decision, DecisionRequest } from '../decision/types.js';
import { CustomerId, INTERACTION_ID_PATTERN } from '../profiles/schema.js';
import { readJson } from './body.js';
import { checkPublicChannel, customerFromToken, MAX_TOKEN_LENGTH, type PublicAccess } from './customer-token.js';
import { decisionJson } from './decision-json.js';
import { fastDecisionRequest } from './fast-request.js';
import { Context, jsonBody, problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

export const InteractionId = z
  .string()
  .regex(INTERACTION_ID_PATTERN, '1–64 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"')
  .describe(
    'a call, a page view, an email send: a repeated request with the same customer, channel and interactionId within the rule set’s interactionMinutes gets the same decision, less the offers accepted or rejected since, and presents nothing new',
  )
  .openapi({ example: 'call-2026-12-07-0042' });

export const DecisionRequestSchema = z
  .object({
    customerId: CustomerId,
    channel: z.string().min(1).max(32).openapi({ example: 'call-center' }),
    placement: z.string().min(1).max(64).optional().openapi({ example: 'tips-for-you' }),
    context: Context.optional(),
    limit: z.number().int().min(1).max(20).optional(),
    explain: z.boolean().optional(),
    interactionId: InteractionId.optional(),
  })
  .strict()
  .openapi('DecisionRequest');

/** What a web page sends with a public key: the customer named by a signed token, no explain. */
export const PublicDecisionRequestSchema = DecisionRequestSchema.omit({ customerId: true, explain: true })
  .extend({
    customerToken: z
      .string()
      .min(1)
      .max(MAX_TOKEN_LENGTH)
      .describe('HS256 JWT from the site’s back end: sub = customer ID, exp at most 24 h away'),
  })
  .strict()
  .openapi('PublicDecisionRequest');

const RankedOffer = z.object({
  rank: z.number().int(),
  offerId: z.string(),
  name: z.string(),
  group: z.string(),
  score: z.number(),
  propensity: z.number(),
  treatment: z.record(z.string(), z.string()),
});

export const DecisionSchema = z
  .object({
    decisionId: z.string(),
    customerId: z.string(),
    channel: z.string(),
    placement: z.string().nullable(),
    rulesetVersion: z.string(),
    profile: z.object({
      found: z.boolean(),
      valueSegment: z.string().nullable(),
      lifecyclePhase: z.string().nullable(),
    }),
    offers: z.array(RankedOffer),
    controlGroup: z.boolean().describe('the customer is in the control group (sticky, by a hash of the customer ID)'),
    arm: z
      .enum(['control', 'champion', 'challenger'])
      .describe('which arm answered: the control group, the active rule set, or the challenger rule set'),
    interactionId: z.string().nullable().describe('the interaction the request named, or null'),
    degraded: z.boolean(),
    explanation: z
      .array(
        z.object({
          summary: z
            .string()
            .describe(
              'the outcome in one line: "chosen: rank 1, …", "not eligible: clv must be at least 1500 (it is 820)", "eligible, held back by …", "eligible, not among the 3 shown, …"',
            ),
          offerId: z.string(),
          group: z.string(),
          eligible: z.boolean(),
          selected: z.boolean(),
          rank: z.number().int().nullable(),
          conditions: z.unknown(),
          suppressedBy: z.string().nullable(),
          scoreParts: z.unknown(),
          note: z.string().optional(),
        }),
      )
      .optional(),
  })
  .openapi('Decision');

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

const route = createRoute({
  method: 'post',
  path: '/v1/decisions',
  tags: ['decisions'],
  summary: 'Rank the next best offers for one customer on one channel',
  security: [{ apiKey: [] }],
  description:
    'A `public` key (a web page) sends `customerToken` instead of `customerId`, may use the PUBLIC_CHANNELS only, cannot ask for `explain`, and gets the answer without the profile’s segment and phase.',
  request: { body: jsonBody(z.union([DecisionRequestSchema, PublicDecisionRequestSchema])) },
  responses: {
    200: {
      description: 'Ranked offers (an unknown customer gets the fallback offers)',
      content: { 'application/json': { schema: DecisionSchema } },
    },
    400: problemResponse('Malformed request or unknown channel'),
    401: problemResponse('Missing or unknown API key, or a public key’s customer token missing, invalid or expired'),
    403: problemResponse('The key lacks the decide (or public) scope'),
    413: problemResponse('Body over 64 KiB'),
    415: problemResponse('Not application/json'),
  },
});

/** A public caller's request, its customer taken from the verified token. */
async function publicRequest(c: HonoContext<AppEnv>, access: PublicAccess): Promise<DecisionRequest> {
  const { customerToken, ...rest } = await readJson(c, PublicDecisionRequestSchema);
  checkPublicChannel(rest.channel, access, '/channel');
  const customerId = await customerFromToken(customerToken, access);
  access.count?.(c, customerId);
  return { ...rest, customerId };
}

/** The answer a web page gets: its offers, not the segment and phase the customer was put in. */
const withoutProfile = (d: Decision): Decision => ({
  ...d,
  profile: { found: d.profile.found, valueSegment: null, lifecyclePhase: null },
});

/** The hot route: documented from its schema, served by a plain handler (see readJson). */
export function registerDecisions(app: OpenAPIHono<AppEnv>, service: DecisionService, access: PublicAccess): void {
  app.openAPIRegistry.registerPath(route);
  app.post(route.path, async (c) => {
    if (c.get('scope') === 'public') {
      const decision = await service.decide(await publicRequest(c, access), c.get('requestId'));
      return c.body(decisionJson(withoutProfile(decision)), 200, JSON_HEADERS);
    }
    const decision = await service.decide(
      await readJson(c, DecisionRequestSchema, fastDecisionRequest),
      c.get('requestId'),
    );
    // the same JSON c.json would write (tested), built with the rule set's parts serialised once
    return c.body(decisionJson(decision), 200, JSON_HEADERS);
  });
}
