import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiError } from '../errors.js';
import type { RunRecord } from '../outbound/records.js';
import { type OutboundRuns, RunAskError } from '../outbound/runs.js';
import { CHANNEL_PATTERN } from '../profiles/schema.js';
import { jsonBody, problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

const Week = z
  .string()
  .regex(/^\d{4}-W\d{2}$/, 'an ISO week, YYYY-Www')
  .openapi({ example: '2026-W50' });
const Channel = z.string().regex(CHANNEL_PATTERN, 'a channel name');

const RunBody = z
  .object({
    week: Week.describe('the ISO week whose contacts to decide; its Monday is the send date'),
    channels: z
      .array(Channel)
      .min(1)
      .max(8)
      .optional()
      .describe("the outbound channels to decide (default: every one the rule set's manifest declares)"),
    capacity: z
      .record(Channel, z.number().int().min(0).max(100_000_000))
      .optional()
      .describe("contacts per channel for this run, over the manifest's capacities"),
  })
  .strict()
  .openapi('OutboundRunRequest');

const Started = z.object({ runId: z.string(), status: z.enum(['queued', 'running', 'done', 'failed']) });

const Run = z
  .object({
    runId: z.string(),
    week: z.string(),
    status: z.enum(['queued', 'running', 'done', 'failed']),
    phase: z
      .enum(['scan', 'allocate', 'write', 'done'])
      .describe('scan: customers decided; allocate: capacity shared out; write: contacts written'),
    progress: z
      .object({ done: z.number().int(), total: z.number().int().nullable() })
      .describe('customers of the phase'),
    counts: z.record(z.string(), z.number().int()).describe('contacts per channel'),
    files: z.array(z.string()).describe('the channels with a contact list to download, once the run is done'),
    rulesetVersion: z.string(),
    heldOut: z.number().int().describe('control-group customers whose step was due: logged, not contacted'),
    unsent: z
      .number()
      .int()
      .describe('customers whose step was due who got no contact: capacity, a contact-policy rule, nothing eligible'),
    customers: z.number().int().describe('customers written: contacted, entered or left a journey'),
    entered: z.record(z.string(), z.number().int()).describe('customers who entered each journey'),
    exited: z.record(z.string(), z.number().int()).describe('customers who left or completed each journey'),
    allocation: z
      .object({
        candidates: z.number().int(),
        chosen: z.number().int(),
        total: z.number().describe('expected value of the contacts chosen (sum of arbitration scores)'),
        bound: z.number().describe('no allocation within the capacities can reach more (the LP relaxation bound)'),
        gap: z.number().describe('(bound − total) ÷ bound'),
        capacity: z.record(z.string(), z.number().int().nullable()),
      })
      .nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('OutboundRun');

const RunIdParam = z.object({ runId: Week.openapi({ param: { name: 'runId', in: 'path' } }) });

const errors = {
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('The key lacks the admin scope'),
};
const security = [{ apiKey: [] }];

const startRoute = createRoute({
  method: 'post',
  path: '/v1/outbound/runs',
  tags: ['outbound'],
  summary: "Decide a week's outbound contacts for every customer, in the background",
  description:
    'Moves every customer through the journeys of the active rule set, decides their due steps with the inbound engine and contact policy, allocates each channel’s capacity to the contacts worth most, and writes one contact list per channel. A week is run once: asking again answers the run that stands (nothing is sent twice); a run stopped midway resumes from its checkpoint.',
  security,
  request: { body: jsonBody(RunBody) },
  responses: {
    202: { description: 'Started, or the run of that week', content: { 'application/json': { schema: Started } } },
    400: problemResponse('Not a week, or a channel that is not outbound'),
    409: problemResponse('The week was run with other channels or capacities, or another node is running it'),
    503: problemResponse('No rule set is active'),
    ...errors,
  },
});
const getRoute = createRoute({
  method: 'get',
  path: '/v1/outbound/runs/{runId}',
  tags: ['outbound'],
  summary: 'A run: status, progress, contacts per channel, the allocation against its bound',
  security,
  request: { params: RunIdParam },
  responses: {
    200: { description: 'The run', content: { 'application/json': { schema: Run } } },
    404: problemResponse('No such run'),
    ...errors,
  },
});
const fileRoute = createRoute({
  method: 'get',
  path: '/v1/outbound/runs/{runId}/files/{channel}.csv',
  tags: ['outbound'],
  summary: "A finished run's contact list for a channel",
  description:
    'CSV with a header: customerId, offerId, decisionId, sendDate, then the fields of the channel’s treatments, then journey and step.',
  security,
  request: { params: RunIdParam.extend({ channel: Channel.openapi({ param: { name: 'channel', in: 'path' } }) }) },
  responses: {
    200: { description: 'The contact list', content: { 'text/csv': { schema: z.string() } } },
    404: problemResponse('No such run, channel, or the run is not done'),
    ...errors,
  },
});

const view = (r: RunRecord): z.infer<typeof Run> => ({
  runId: r.runId,
  week: r.week,
  status: r.status,
  phase: r.phase,
  progress: r.progress,
  counts: r.counts,
  files: r.status === 'done' ? [...r.channels] : [],
  rulesetVersion: r.rulesetVersion,
  heldOut: r.heldOut,
  unsent: r.unsent,
  customers: r.customers,
  entered: r.entered,
  exited: r.exited,
  allocation: r.allocation,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  error: r.error,
});

function apiError(err: unknown): never {
  if (err instanceof RunAskError)
    throw new ApiError(
      err.kind === 'invalid' ? 'invalid_request' : err.kind === 'conflict' ? 'run_conflict' : 'not_ready',
      err.message,
    );
  throw err;
}

export function registerOutbound(app: OpenAPIHono<AppEnv>, runs: OutboundRuns): void {
  app.openapi(startRoute, async (c) => {
    const body = c.req.valid('json');
    const record = await runs.start(body).catch(apiError);
    return c.json({ runId: record.runId, status: record.status }, 202);
  });
  app.openapi(getRoute, async (c) => {
    const record = await runs.get(c.req.valid('param').runId);
    if (!record) throw new ApiError('not_found', `no outbound run "${c.req.valid('param').runId}"`);
    return c.json(view(record), 200);
  });
  // the path ends in "<channel>.csv", which the router takes as one parameter: checked here
  app.openAPIRegistry.registerPath(fileRoute);
  app.get('/v1/outbound/runs/:runId/files/:file', async (c) => {
    const runId = c.req.param('runId');
    const file = /^([a-z][a-z0-9-]{0,31})\.csv$/.exec(c.req.param('file'));
    if (!file)
      throw new ApiError('not_found', `no such file "${c.req.param('file')}": the contact lists are <channel>.csv`);
    const channel = file[1]!;
    const path = await runs.file(runId, channel);
    const size =
      path === undefined
        ? undefined
        : await stat(path).then(
            (s) => s.size,
            () => undefined,
          );
    if (path === undefined || size === undefined)
      throw new ApiError('not_found', `no contact list for "${channel}" in a finished run "${runId}"`);
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream;
    return c.body(body, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-length': String(size),
      'content-disposition': `attachment; filename="${runId}-${channel}.csv"`,
    }) as never;
  });
}
