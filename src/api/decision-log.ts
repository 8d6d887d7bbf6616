import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ContactStore } from '../contacts/store.js';
import type { DecisionLog } from '../decision-log/store.js';
import { ApiError } from '../errors.js';
import { problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

const Token = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, '1-128 characters of A-Za-z0-9._:-');

const LoggedDecision = z
  .object({
    decisionId: z.string(),
    at: z.string().describe('ISO time'),
    customerId: z.string(),
    channel: z.string(),
    interactionId: z.string().nullable(),
    arm: z.enum(['control', 'champion', 'challenger']),
    rulesetVersion: z.string(),
    degraded: z.boolean(),
    preview: z.boolean().describe('an explain request, which reached no customer'),
    profile: z.object({
      found: z.boolean(),
      valueSegment: z.string().nullable(),
      lifecyclePhase: z.string().nullable(),
      clv: z.number().nullable(),
      churnScore: z.number().nullable(),
    }),
    offers: z.array(
      z.object({
        offerId: z.string(),
        group: z.string(),
        rank: z.number().int(),
        score: z.number(),
        propensity: z.number(),
      }),
    ),
    responses: z
      .array(
        z.object({
          eventId: z.string(),
          offerId: z.string(),
          outcome: z.string(),
          channel: z.string(),
          at: z.string().describe('ISO time'),
        }),
      )
      .describe("the responses received for it, oldest first, from the customer's contact history"),
  })
  .openapi('LoggedDecision');

const route = createRoute({
  method: 'get',
  path: '/v1/decisions/{decisionId}',
  tags: ['decisions'],
  summary: 'A logged decision, with the responses received for it',
  description:
    'Found within RESPONSE_WINDOW_MINUTES from any node with Redis; with the memory store also further back, in the files of the decision log.',
  security: [{ apiKey: [] }],
  request: { params: z.object({ decisionId: Token.openapi({ param: { name: 'decisionId', in: 'path' } }) }) },
  responses: {
    200: { description: 'The decision as logged', content: { 'application/json': { schema: LoggedDecision } } },
    400: problemResponse('Not a decision ID'),
    401: problemResponse('Missing or unknown API key'),
    403: problemResponse('The key lacks the admin scope'),
    404: problemResponse('No such decision in the log'),
  },
});

export function registerDecisionLog(app: OpenAPIHono<AppEnv>, log: DecisionLog, contacts: ContactStore): void {
  app.openapi(route, async (c) => {
    const { decisionId } = c.req.valid('param');
    const record = await log.get(decisionId);
    if (!record) throw new ApiError('not_found', `no decision "${decisionId}" in the decision log`);
    const history = await contacts.history(record.customerId);
    const responses = history
      .filter((e) => e.decisionId === decisionId)
      .map((e) => ({
        eventId: e.eventId,
        offerId: e.offerId,
        outcome: e.outcome,
        channel: e.channel,
        at: new Date(e.at).toISOString(),
      }));
    return c.json({ ...record, offers: [...record.offers], responses }, 200);
  });
}
