import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Kpis } from '../feedback/kpis.js';
import { problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

const Tallies = z
  .object({
    decisions: z.number().int().describe('decisions that presented the offer (segments: every decision)'),
    impressions: z.number().int(),
    clicks: z.number().int(),
    clickThroughRate: z.number().nullable().describe('clicks ÷ impressions; null before the first impression'),
    accepts: z.number().int(),
    acceptanceRate: z
      .number()
      .nullable()
      .describe("accepts ÷ impressions on the row's channel; null before the first impression"),
    rejects: z.number().int(),
    unattributed: z
      .number()
      .int()
      .describe(
        'responses among the above that named no decision (counted for the customer’s profile and arm when they arrived)',
      ),
  })
  .openapi('Tallies');

const Arms = {
  control: Tallies.describe('the control group'),
  treatment: Tallies.describe('everyone else: champion and challenger together'),
  champion: Tallies.describe('decided by the active rule set'),
  challenger: Tallies.describe('decided by the challenger rule set'),
};

const Report = z
  .object({
    generatedAt: z.string(),
    offers: z.array(z.object({ offerId: z.string(), channel: z.string(), ...Arms })).describe('per offer × channel'),
    segments: z
      .array(z.object({ lifecyclePhase: z.string(), valueSegment: z.string(), channel: z.string(), ...Arms }))
      .describe('per lifecycle phase × value segment × channel; "unknown" for customers without a profile'),
    offerSegments: z
      .array(
        z.object({
          offerId: z.string(),
          lifecyclePhase: z.string(),
          valueSegment: z.string(),
          channel: z.string(),
          ...Arms,
        }),
      )
      .describe('per offer × lifecycle phase × value segment × channel'),
  })
  .openapi('OfferReport');

const route = createRoute({
  method: 'get',
  path: '/v1/reports/offers',
  tags: ['reports'],
  summary:
    'Decisions and outcomes per offer × channel and per lifecycle phase × value segment × channel, control against treatment',
  security: [{ apiKey: [] }],
  responses: {
    200: {
      description: "The report (every node's counts with Redis; this process's with the memory store)",
      content: { 'application/json': { schema: Report } },
    },
    401: problemResponse('Missing or unknown API key'),
    403: problemResponse('The key lacks the admin scope'),
    503: problemResponse('Redis is unavailable'),
  },
});

export function registerReports(app: OpenAPIHono<AppEnv>, kpis: Kpis): void {
  app.openAPIRegistry.registerPath(route);
  app.get(route.path, async (c) => c.json(await kpis.report(), 200));
}
