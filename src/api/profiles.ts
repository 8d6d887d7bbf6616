import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { importProfileLines } from '../profiles/ndjson.js';
import { CustomerId, LIFECYCLE_PHASES, Profile, VALUE_SEGMENTS } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import { CustomerIdParam, jsonBody, problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

const errorResponses = {
  400: problemResponse('Invalid profile'),
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('The key lacks the admin scope'),
};

const putRoute = createRoute({
  method: 'put',
  path: '/v1/profiles/{customerId}',
  tags: ['profiles'],
  summary: 'Create or replace a profile; the next decision sees it',
  security: [{ apiKey: [] }],
  request: {
    params: CustomerIdParam,
    body: jsonBody(Profile.extend({ customerId: CustomerId.optional() }).openapi('ProfileInput')),
  },
  responses: {
    200: { description: 'Stored', content: { 'application/json': { schema: Profile } } },
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/profiles/{customerId}',
  tags: ['profiles'],
  summary: 'Read a profile',
  security: [{ apiKey: [] }],
  request: { params: CustomerIdParam },
  responses: {
    200: { description: 'The profile', content: { 'application/json': { schema: Profile } } },
    404: problemResponse('No such customer'),
    ...errorResponses,
  },
});

/**
 * What the agent panel shows of a customer, and all an agent key may read of a profile: no
 * attributes, consents, tenure or revenue.
 */
export const ProfileSummary = z
  .object({
    valueSegment: z.enum(VALUE_SEGMENTS),
    lifecyclePhase: z.enum(LIFECYCLE_PHASES),
    clv: z.number().describe('customer lifetime value, currency units'),
    churnScore: z.number().describe('0–1'),
    npsScore: z.number().int().nullable().describe('0–10; null when the customer was not asked'),
    productsHeld: z.array(z.string()),
  })
  .strict()
  .openapi('ProfileSummary');
export type ProfileSummary = z.output<typeof ProfileSummary>;

/** The summary's path: an agent key may read it, the rest of /v1/profiles is the admin's. */
export const PROFILE_SUMMARY_PATH = /^\/v1\/profiles\/[^/]+\/summary$/;

export const summaryOf = (p: Profile): ProfileSummary => ({
  valueSegment: p.valueSegment,
  lifecyclePhase: p.lifecyclePhase,
  clv: p.clv,
  churnScore: p.churnScore,
  npsScore: p.npsScore ?? null,
  productsHeld: [...p.productsHeld],
});

const summaryRoute = createRoute({
  method: 'get',
  path: '/v1/profiles/{customerId}/summary',
  tags: ['profiles'],
  summary: 'Read what the agent panel shows of a profile: segment, phase, CLV, churn score, NPS, products',
  description:
    'For `agent` keys (and `admin`): the value segment, lifecycle phase, CLV, churn score, NPS and products held, and nothing else of the profile.',
  security: [{ apiKey: [] }],
  request: { params: CustomerIdParam },
  responses: {
    200: { description: 'The summary', content: { 'application/json': { schema: ProfileSummary } } },
    400: problemResponse('Invalid customer ID'),
    401: problemResponse('Missing or unknown API key'),
    403: problemResponse('The key lacks the agent (or admin) scope'),
    404: problemResponse('No such customer'),
  },
});

const BulkResult = z
  .object({
    imported: z.number().int(),
    rejectedLines: z.number().int().describe('lines refused; `rejected` details the first 100, at most 10 errors each'),
    rejected: z.array(
      z.object({ line: z.number().int(), errors: z.array(z.object({ path: z.string(), message: z.string() })) }),
    ),
  })
  .openapi('BulkImportResult');

const bulkRoute = createRoute({
  method: 'post',
  path: '/v1/profiles/bulk',
  tags: ['profiles'],
  summary: 'Load many profiles from NDJSON (one profile per line); bad lines are reported, good ones stored',
  security: [{ apiKey: [] }],
  request: { body: { required: true, content: { 'application/x-ndjson': { schema: z.string() } } } },
  responses: {
    200: {
      description: 'What was imported and which lines were rejected',
      content: { 'application/json': { schema: BulkResult } },
    },
    413: problemResponse('Body over the bulk limit'),
    415: problemResponse('Not application/x-ndjson'),
    ...errorResponses,
  },
});

export function registerProfiles(app: OpenAPIHono<AppEnv>, store: ProfileStore, metrics: Metrics): void {
  app.openapi(putRoute, async (c) => {
    const { customerId } = c.req.valid('param');
    const body = c.req.valid('json');
    if (body.customerId !== undefined && body.customerId !== customerId) {
      throw new ApiError('invalid_request', 'customerId in the body differs from the path', [
        { path: '/customerId', message: `expected "${customerId}"` },
      ]);
    }
    const profile = Profile.parse({ ...body, customerId });
    await store.put(profile);
    return c.json(profile, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { customerId } = c.req.valid('param');
    const profile = await store.get(customerId);
    if (!profile) throw new ApiError('not_found', `no profile for customer "${customerId}"`);
    return c.json(profile, 200);
  });

  app.openapi(summaryRoute, async (c) => {
    const { customerId } = c.req.valid('param');
    const profile = await store.get(customerId);
    if (!profile) throw new ApiError('not_found', `no profile for customer "${customerId}"`);
    return c.json(summaryOf(profile), 200);
  });

  app.openapi(bulkRoute, async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/(x-)?ndjson\b/i.test(type))
      throw new ApiError('unsupported_media_type', 'send application/x-ndjson: one JSON profile per line');
    const report = await importProfileLines((await c.req.text()).split('\n'), (p) => store.putMany(p));
    const size = await store.size();
    if (size !== undefined) metrics.profilesLoaded.set(size);
    return c.json(report, 200);
  });
}
