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

/**
 * What the agent panel shows of a customer, and all an agent key may read of a profile: no
 * attributes, consents or revenue.
 */
export const ProfileSummary = z
  .object({
    customerId: CustomerId,
    valueSegment: z.enum(VALUE_SEGMENTS),
    lifecyclePhase: z.enum(LIFECYCLE_PHASES),
    clv: z.number().describe('customer lifetime value, currency units'),
    churnScore: z.number().describe('0–1'),
    npsScore: z.number().int().nullable().describe('0–10; null when the customer was not asked'),
    tenureDays: z.number().int(),
    productsHeld: z.array(z.string()),
  })
  .strict()
  .openapi('ProfileSummary');
export type ProfileSummary = z.output<typeof ProfileSummary>;

/** A profile's own path (not /v1/profiles/bulk): what an agent key may GET. */
export const PROFILE_PATH = /^\/v1\/profiles\/(?!bulk$)[^/]+$/;

export const summaryOf = (p: Profile): ProfileSummary => ({
  customerId: p.customerId,
  valueSegment: p.valueSegment,
  lifecyclePhase: p.lifecyclePhase,
  clv: p.clv,
  churnScore: p.churnScore,
  npsScore: p.npsScore ?? null,
  tenureDays: p.tenureDays,
  productsHeld: [...p.productsHeld],
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/profiles/{customerId}',
  tags: ['profiles'],
  summary: 'Read a profile; an agent key reads its summary',
  description:
    'An `admin` key reads the whole profile; an `agent` key its summary: customer ID, value segment, lifecycle phase, CLV, churn score, NPS, tenure and products held, nothing else.',
  security: [{ apiKey: [] }],
  request: { params: CustomerIdParam },
  responses: {
    200: {
      description: 'The profile, or its summary for an agent key',
      content: { 'application/json': { schema: z.union([Profile, ProfileSummary]) } },
    },
    404: problemResponse('No such customer'),
    ...errorResponses,
    403: problemResponse('The key lacks the agent (or admin) scope'),
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
    return c.json(c.get('scope') === 'agent' ? summaryOf(profile) : profile, 200);
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
