import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ContactStore } from '../contacts/store.js';
import { explainPast } from '../decision/index.js';
import type { DecisionLog } from '../decision-log/store.js';
import { ApiError } from '../errors.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
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
    explanation: z
      .object({
        rulesetVersion: z.string(),
        basis: z.string().describe('where the facts came from'),
        offers: z.array(
          z.object({
            offerId: z.string(),
            group: z.string(),
            presented: z.boolean(),
            rank: z.number().int().nullable(),
            score: z.number().nullable().describe('as logged, for a presented offer'),
            propensity: z.number().nullable(),
            eligible: z.boolean().describe('evaluated again under the logged rule-set version and profile fields'),
            conditions: z.unknown(),
            note: z.string().optional(),
          }),
        ),
      })
      .optional()
      .describe('with ?explain=true: every offer of the channel under the rule-set version that decided'),
  })
  .openapi('LoggedDecision');

const route = createRoute({
  method: 'get',
  path: '/v1/decisions/{decisionId}',
  tags: ['decisions'],
  summary: 'A logged decision, with the responses received for it',
  description:
    'Found within RESPONSE_WINDOW_MINUTES from any node with Redis; with the memory store also further back, in the files of the decision log. `?explain=true` evaluates the eligibility of every offer of its channel again under the logged rule-set version and profile fields, and reports the logged scores: nothing is drawn again.',
  security: [{ apiKey: [] }],
  request: {
    params: z.object({ decisionId: Token.openapi({ param: { name: 'decisionId', in: 'path' } }) }),
    query: z.object({ explain: z.enum(['true', 'false']).optional() }).strict(),
  },
  responses: {
    200: { description: 'The decision as logged', content: { 'application/json': { schema: LoggedDecision } } },
    400: problemResponse('Not a decision ID'),
    401: problemResponse('Missing or unknown API key'),
    403: problemResponse('The key lacks the admin scope'),
    404: problemResponse('No such decision in the log'),
    409: problemResponse('explain=true for a decision whose rule-set version is no longer loaded'),
  },
});

export function registerDecisionLog(
  app: OpenAPIHono<AppEnv>,
  log: DecisionLog,
  contacts: ContactStore,
  rules: RuleSetRegistry,
  profiles: ProfileStore,
): void {
  app.openapi(route, async (c) => {
    const { decisionId } = c.req.valid('param');
    const record = await log.get(decisionId);
    if (!record) throw new ApiError('not_found', `no decision "${decisionId}" in the decision log`);
    let explanation: Awaited<ReturnType<typeof explainPast>> | undefined;
    if (c.req.valid('query').explain === 'true') {
      const ruleset = rules.get(record.rulesetVersion);
      if (!ruleset)
        throw new ApiError(
          'ruleset_unavailable',
          `rule-set version ${record.rulesetVersion}, which made this decision, is no longer loaded (RULESET_VERSIONS and RULESET_VERSIONS_MB say how many are kept)`,
        );
      const current = record.profile.found ? await profiles.get(record.customerId).catch(() => null) : null;
      explanation = await explainPast(record, ruleset, current ?? null);
    }
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
    return c.json(
      {
        ...record,
        offers: [...record.offers],
        responses,
        ...(explanation && { explanation: { ...explanation, offers: [...explanation.offers] } }),
      },
      200,
    );
  });
}
