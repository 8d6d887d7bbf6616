import { createHash } from 'node:crypto';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ApiError, type FieldError } from '../errors.js';
import {
  ResponseBatchSchema,
  type ResponseEventInput,
  ResponseEventSchema,
  type ResponseService,
} from '../feedback/index.js';
import { CUSTOMER_ID_PATTERN } from '../profiles/schema.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import { readJson } from './body.js';
import { checkPublicChannel, customerFromToken, type PublicAccess } from './customer-token.js';
import { fromZod } from './problem.js';
import { problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

const Receipt = z
  .object({
    accepted: z.number().int().describe('events taken: stored now, or buffered'),
    duplicates: z
      .number()
      .int()
      .describe(
        'events whose eventId was already recorded for that customer; not counted again (buffered events are checked when written, so they count as accepted here)',
      ),
    buffered: z
      .number()
      .int()
      .describe('of the accepted, events waiting in memory for Redis to return; written in order when it does'),
  })
  .openapi('ResponseReceipt');

const route = createRoute({
  method: 'post',
  path: '/v1/responses',
  tags: ['responses'],
  summary:
    'Record what customers did with offers: impression, click, accept, reject, complaint (one event or a batch of up to 500)',
  description:
    'A `public` key (a web page) sends `customerToken` beside the event or the `events`, and leaves `customerId` out of the events: they are the token’s customer’s. It reports impressions and clicks on the PUBLIC_CHANNELS, each naming its decisionId; the eventId is derived from decision, offer and outcome, and the time is the time of receipt.',
  security: [{ apiKey: [] }],
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.union([ResponseEventSchema, ResponseBatchSchema]) } },
    },
  },
  responses: {
    202: {
      description: 'Recorded (or buffered while Redis is unavailable)',
      content: { 'application/json': { schema: Receipt } },
    },
    400: problemResponse('Malformed event, or an offer or channel no loaded rule set knows'),
    401: problemResponse('Missing or unknown API key, or a public key’s customer token missing, invalid or expired'),
    403: problemResponse('The key lacks the decide (or public) scope'),
    413: problemResponse('Body over 64 KiB'),
    415: problemResponse('Not application/json'),
    503: problemResponse(
      'Redis is unavailable and the buffer is full: nothing was recorded; retry after Retry-After seconds',
    ),
  },
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBatch = (body: unknown) => isObject(body) && Object.hasOwn(body, 'events');

/** Events must name offers and channels a loaded rule set knows, and an offer it treats on that channel: nothing else is learned or counted. */
function unknownNames(events: readonly ResponseEventInput[], batch: boolean, rules: RuleSetRegistry): FieldError[] {
  const { offers, channels, treated } = rules.knows();
  const errors: FieldError[] = [];
  events.forEach((e, i) => {
    const at = batch ? `/events/${i}` : '';
    if (!offers.has(e.offerId))
      errors.push({ path: `${at}/offerId`, message: `no loaded rule set has an offer "${e.offerId}"` });
    if (!channels.has(e.channel))
      errors.push({ path: `${at}/channel`, message: `no loaded rule set declares the channel "${e.channel}"` });
    else if (offers.has(e.offerId) && !treated.has(`${e.offerId}|${e.channel}`))
      errors.push({
        path: `${at}/channel`,
        message: `no loaded rule set has a treatment of "${e.offerId}" on "${e.channel}"`,
      });
  });
  return errors;
}

/** What a web page reports: that a card was seen or clicked. Accepts and rejects come from agents and back ends. */
const PUBLIC_OUTCOMES: readonly unknown[] = ['impression', 'click'];

/**
 * A public caller's body with its events given the token's customer: `customerToken` beside
 * one event or `events`, and no `customerId` of its own (a page speaks for its customer only).
 * Each event names the decision that showed the offer and is an impression or a click on a
 * public channel; its eventId is derived (decision, offer, outcome) and its time is the time of
 * receipt, so a page can report each card once and cannot back-date.
 */
/** The longest eventId (as customer IDs, 128 characters). */
const MAX_EVENT_ID = 128;

async function withTokenCustomer(c: Context<AppEnv>, body: unknown, access: PublicAccess): Promise<unknown> {
  if (!isObject(body))
    throw new ApiError('invalid_request', 'expected an object with customerToken and an event or events');
  const { customerToken, ...rest } = body;
  const customerId = await customerFromToken(customerToken, access);
  access.count?.(c, customerId);
  const batch = isBatch(rest);
  const events = batch ? rest.events : [rest];
  if (!Array.isArray(events)) return rest;
  const problems: FieldError[] = [];
  events.forEach((e, i) => {
    if (!isObject(e)) return;
    const at = batch ? `/events/${i}` : '';
    if (Object.hasOwn(e, 'customerId'))
      problems.push({
        path: `${at}/customerId`,
        message: 'a public key sends no customerId: the events are the customer token’s',
      });
    if (!PUBLIC_OUTCOMES.includes(e.outcome))
      problems.push({ path: `${at}/outcome`, message: 'a public key reports impressions and clicks' });
    if (typeof e.decisionId !== 'string')
      problems.push({ path: `${at}/decisionId`, message: 'a public key names the decision that showed the offer' });
    else if (!CUSTOMER_ID_PATTERN.test(e.decisionId))
      problems.push({ path: `${at}/decisionId`, message: '1–128 characters of A-Za-z0-9._:-' });
    checkPublicChannel(e.channel, access, `${at}/channel`);
  });
  if (problems.length > 0)
    throw new ApiError(
      'invalid_request',
      'events from a public key are impressions and clicks of the token’s customer on a decision',
      problems,
    );
  const own = (e: unknown) => {
    if (!isObject(e)) return e;
    const { at: _sentAt, eventId: _eventId, ...event } = e;
    const derived = `${String(e.decisionId)}:${String(e.offerId)}:${String(e.outcome)}`;
    // an eventId within its own limit, the same for the same decision, offer and outcome
    const eventId =
      derived.length <= MAX_EVENT_ID ? derived : `d:${createHash('sha256').update(derived).digest('hex')}`;
    return { ...event, customerId, eventId };
  };
  return batch ? { ...rest, events: events.map(own) } : own(rest);
}

export function registerResponses(
  app: OpenAPIHono<AppEnv>,
  service: ResponseService,
  rules: RuleSetRegistry,
  access: PublicAccess,
): void {
  app.openAPIRegistry.registerPath(route);
  app.post(route.path, async (c) => {
    const raw = await readJson(c, z.unknown());
    const body = c.get('scope') === 'public' ? await withTokenCustomer(c, raw, access) : raw;
    const parsed = isBatch(body) ? ResponseBatchSchema.safeParse(body) : ResponseEventSchema.safeParse(body);
    if (!parsed.success)
      throw fromZod(parsed.error, 'request body', isBatch(body) ? ResponseBatchSchema : ResponseEventSchema, body);
    const batch = 'events' in parsed.data;
    const events = 'events' in parsed.data ? parsed.data.events : [parsed.data];
    const unknown = unknownNames(events, batch, rules);
    if (unknown.length > 0)
      throw new ApiError(
        'invalid_request',
        'the events name offers or channels no loaded rule set knows; nothing was recorded',
        unknown,
      );
    const path = (i: number, field: string) => (batch ? `/events/${i}/${field}` : `/${field}`);
    return c.json(await service.record(events, c.get('requestId'), path), 202);
  });
}
