import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiError } from '../errors.js';
import type { Kpis } from '../feedback/kpis.js';
import type { ImpactReport } from '../offline/impact/index.js';
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
    complaints: z.number().int().describe('complaints about a contact of the offer'),
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

/** The impact report over the store's decision log and the configured transactions. */
export interface ImpactReports {
  report(window: { from?: string | undefined; to?: string | undefined; outcomeDays: number }): Promise<ImpactReport>;
}

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(d)), 'a date YYYY-MM-DD');

const ImpactQuery = z
  .object({
    from: Day.optional().describe('first UTC day of the decisions considered (default: the whole log)'),
    to: Day.optional().describe('last UTC day of the decisions considered, included'),
    outcomeDays: z.coerce.number().int().min(1).max(730).default(90).describe('days of outcome from each t0'),
  })
  .strict()
  .refine((q) => !(q.from && q.to && q.from > q.to), { message: 'from is after to', path: ['from'] });

const impactRoute = createRoute({
  method: 'get',
  path: '/v1/reports/impact',
  tags: ['reports'],
  summary: 'Revenue, activity and retention of the decided-for customers against the control group',
  description:
    'The same JSON as `nextbest impact --json`, over the store’s decision log (the files of DECISION_LOG_DIR, or the Redis stream) and TRANSACTIONS_PATH, computed in a thread of its own; one at a time.',
  security: [{ apiKey: [] }],
  request: { query: ImpactQuery },
  responses: {
    200: { description: 'The impact report', content: { 'application/json': { schema: z.unknown() } } },
    400: problemResponse('A malformed query'),
    401: problemResponse('Missing or unknown API key'),
    403: problemResponse('The key lacks the admin scope'),
    404: problemResponse('No transactions configured (TRANSACTIONS_PATH)'),
    503: problemResponse('Another report is being computed, or the inputs could not be read'),
  },
});

export function registerReports(app: OpenAPIHono<AppEnv>, kpis: Kpis, impact: ImpactReports | undefined): void {
  app.openAPIRegistry.registerPath(route);
  app.get(route.path, async (c) => c.json(await kpis.report(), 200));
  app.openapi(impactRoute, async (c) => {
    if (!impact)
      throw new ApiError(
        'not_found',
        'no transactions are configured: set TRANSACTIONS_PATH to an NDJSON transactions file or folder',
      );
    return c.json((await impact.report(c.req.valid('query'))) as unknown as Record<string, unknown>, 200);
  });
}
