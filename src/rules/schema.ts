import { z } from 'zod';
import { CHANNEL_PATTERN, FORBIDDEN_KEYS, LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../profiles/schema.js';

/**
 * The rule-set file formats. Every file a marketer edits is checked against these;
 * the JSON Schemas under rules/schema/ are generated from them (npm run schemas).
 */

export const OFFER_GROUPS = ['onboard', 'care', 'develop', 'service', 'anti-churn', 'save', 'end', 'winback'] as const;
export type OfferGroup = (typeof OFFER_GROUPS)[number];

/** Facts a condition may read: the profile, derived values and the request. */
export const FACTS = {
  customerId: 'the customer ID',
  valueSegment: 'super | top | middle | bottom',
  lifecyclePhase: 'new | loyalty | retain | regain',
  clv: 'customer lifetime value',
  churnScore: 'probability of leaving, 0-1',
  npsScore: 'last NPS answer 0-10 (absent when never asked)',
  tenureDays: 'days since the customer joined',
  annualRevenue: 'revenue of the last 12 months',
  productsHeld: 'array of product codes the customer holds',
  productCount: 'number of products held',
  consents: 'array of channels the customer consented to be addressed in',
  channelConsent: 'true when consents include the request channel',
  attributes: 'object of extra profile values (use path, e.g. "$.contractMonthsLeft")',
  channel: 'the request channel',
  placement: 'the request placement ("" when none)',
  context: 'object of request context values (use path, e.g. "$.intent")',
} as const;
export type FactName = keyof typeof FACTS;
export const FACT_NAMES = Object.keys(FACTS) as FactName[];

export const OPERATORS = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
] as const;
export type OperatorName = (typeof OPERATORS)[number];
const NUMERIC_OPERATORS: ReadonlySet<string> = new Set([
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
]);

const Id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes, at most 64');
const Name = z.string().min(1).max(120);
const RuleScalar = z.union([z.string().max(256), z.number(), z.boolean(), z.null()]);

/** Plain dotted paths only: "$.a.b" — no filters, wildcards or scripts, no prototype names. */
export const FactPath = z
  .string()
  .regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/, 'a plain dotted path such as "$.intent"')
  .refine((p) => p.split('.').every((part) => !FORBIDDEN_KEYS.has(part)), 'path names a forbidden property');

export const Fact = z.enum(FACT_NAMES as [FactName, ...FactName[]]);

export const LeafCondition = z
  .object({
    fact: Fact.describe('what to test; see the README for the list of facts'),
    operator: z.enum(OPERATORS),
    value: z.union([RuleScalar, z.array(RuleScalar).max(200)]).describe('constant to compare the fact with'),
    path: FactPath.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const list = Array.isArray(c.value);
    if ((c.operator === 'in' || c.operator === 'notIn') && !list) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `"${c.operator}" needs an array value` });
    } else if (c.operator !== 'in' && c.operator !== 'notIn' && list) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `"${c.operator}" compares with a single value, not an array`,
      });
    } else if (NUMERIC_OPERATORS.has(c.operator) && typeof c.value !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `"${c.operator}" needs a number value` });
    }
  });
export type LeafCondition = z.infer<typeof LeafCondition>;

export type Condition = LeafCondition | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z
    .union([
      LeafCondition,
      z.object({ all: z.array(Condition).min(1).max(100) }).strict(),
      z.object({ any: z.array(Condition).min(1).max(100) }).strict(),
      z.object({ not: Condition }).strict(),
    ])
    .meta({
      id: 'Condition',
      description: 'a json-rules-engine condition: {fact, operator, value, path?} or all / any / not of conditions',
      examples: [
        { fact: 'lifecyclePhase', operator: 'equal', value: 'loyalty' },
        { fact: 'context', path: '$.intent', operator: 'equal', value: 'cancel' },
      ],
    }),
);

export type TopCondition = { all: Condition[] } | { any: Condition[] } | { not: Condition };
export const TopCondition: z.ZodType<TopCondition> = z.union([
  z.object({ all: z.array(Condition).max(100) }).strict(),
  z.object({ any: z.array(Condition).min(1).max(100) }).strict(),
  z.object({ not: Condition }).strict(),
]);

const ChannelName = z
  .string()
  .regex(CHANNEL_PATTERN)
  .refine((c) => !FORBIDDEN_KEYS.has(c), 'a forbidden channel name');

const Url = z
  .string()
  .max(2048)
  .regex(/^(https?:\/\/|\/)/, 'an absolute http(s) URL or a path starting with /');

export const WebTreatment = z
  .object({
    title: z.string().min(1).max(80),
    body: z.string().min(1).max(300),
    ctaLabel: z.string().min(1).max(40),
    ctaUrl: Url,
    imageUrl: Url.optional(),
  })
  .strict();

export const CallCenterTreatment = z
  .object({
    title: z.string().min(1).max(80),
    script: z.string().min(1).max(1000).describe('talking point the agent can read out'),
    reason: z.string().min(1).max(300).describe('why this customer gets it, in words the agent can say'),
  })
  .strict();

export const EmailTreatment = z
  .object({
    subject: z.string().min(1).max(120).describe('the subject line'),
    body: z.string().min(1).max(2000).describe('the message text'),
    ctaLabel: z.string().min(1).max(40).optional().describe('the button text'),
    ctaUrl: Url.optional().describe('where the button leads'),
  })
  .strict();

export const SmsTreatment = z
  .object({ text: z.string().min(1).max(320).describe('the whole message: at most two SMS parts') })
  .strict();

export const DirectMailTreatment = z
  .object({
    headline: z.string().min(1).max(120).describe('the letter’s headline'),
    body: z.string().min(1).max(2000).describe('the letter’s text'),
  })
  .strict();

/** A channel with a known shape is checked against it; any other declared channel gets generic text. */
export const GenericTreatment = z.record(z.string(), z.string().max(2000));
export type Treatment = Readonly<Record<string, string>>;

const Probability = z.number().min(0).max(1);

export const Offer = z
  .object({
    $schema: z.string().optional(),
    id: Id,
    name: Name,
    group: z.enum(OFFER_GROUPS),
    description: z.string().max(1000).optional(),
    value: z.number().min(0).max(1e9).describe('business value of an acceptance, currency units'),
    propensity: z.record(z.string(), Probability).describe('prior acceptance probability per channel'),
    fallback: z.boolean().default(false).describe('safe to show to unknown customers'),
    eligibility: TopCondition,
    treatments: z
      .object({
        web: WebTreatment.optional(),
        'call-center': CallCenterTreatment.optional(),
        email: EmailTreatment.optional(),
        sms: SmsTreatment.optional(),
        'direct-mail': DirectMailTreatment.optional(),
        'outbound-call': CallCenterTreatment.optional().describe('what the agent says when calling the customer'),
      })
      .catchall(GenericTreatment)
      .describe(
        'one treatment per channel, inbound or outbound; the offer is only shown or sent on channels it has a treatment for',
      ),
  })
  .strict()
  .superRefine((offer, ctx) => {
    for (const channel of Object.keys(offer.treatments)) {
      if (offer.propensity[channel] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['propensity'],
          message: `no propensity for channel "${channel}" that has a treatment`,
        });
      }
    }
    if (Object.keys(offer.treatments).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['treatments'],
        message: 'an offer needs a treatment for at least one channel',
      });
    }
  });
export type Offer = z.output<typeof Offer>;

const OneOrMany = <T extends z.ZodTypeAny>(t: T) => z.union([t, z.array(t).min(1)]);
const Multipliers = z.record(z.string(), z.number().min(0).max(1000));

const WeightEntry = <W extends z.ZodTypeAny>(when: W) =>
  z
    .object({
      name: Name,
      when: when.optional(),
      groups: z.partialRecord(z.enum(OFFER_GROUPS), z.number().min(0).max(1000)).optional(),
      offers: Multipliers.optional(),
    })
    .strict();

export const ContextMatch = z
  .object({
    channel: OneOrMany(z.string()).optional(),
    placement: OneOrMany(z.string()).optional(),
    context: z.record(z.string(), OneOrMany(z.union([z.string(), z.number(), z.boolean()]))).optional(),
  })
  .strict();

export const ProfileMatch = z
  .object({
    channel: OneOrMany(z.string()).optional(),
    valueSegment: OneOrMany(z.enum(VALUE_SEGMENTS)).optional(),
    lifecyclePhase: OneOrMany(z.enum(LIFECYCLE_PHASES)).optional(),
  })
  .strict();

export const EXPLORATIONS = ['thompson', 'none'] as const;
// never reject or complaint: a success is the customer taking the offer up
export const POSITIVE_OUTCOMES = ['click', 'accept'] as const;

export const Learning = z
  .object({
    exploration: z
      .enum(EXPLORATIONS)
      .default('thompson')
      .describe(
        "thompson: rank by a draw from each offer's posterior, so new and little-shown offers get their chance; none: rank by the posterior mean",
      ),
    priorStrength: z
      .number()
      .min(1)
      .max(100_000)
      .default(20)
      .describe("how many impressions the offer's prior propensity weighs, before outcomes are learned"),
    positive: z
      .record(z.string(), z.enum(POSITIVE_OUTCOMES))
      .default({})
      .describe(
        'per channel, the outcome that counts as a success: click or accept (default: click on web, accept elsewhere)',
      ),
    unattributed: z
      .boolean()
      .default(false)
      .describe(
        'learn from responses that name no decision (late reports from other systems), for the customer’s current segment and phase; off by default: they are tallied in reports only',
      ),
  })
  .strict();
export type Learning = z.output<typeof Learning>;

export const Arbitration = z
  .object({
    $schema: z.string().optional(),
    contextWeights: z
      .array(WeightEntry(ContextMatch))
      .default([])
      .describe('multipliers by channel, placement and request context'),
    levers: z.array(WeightEntry(ProfileMatch)).default([]).describe('business levers by segment, phase or channel'),
    learning: Learning.default({
      exploration: 'thompson',
      priorStrength: 20,
      positive: {},
      unattributed: false,
    }).describe('learned propensities: a Beta posterior per offer, channel, value segment and lifecycle phase'),
  })
  .strict();
export type Arbitration = z.output<typeof Arbitration>;
export type WeightEntry = Arbitration['contextWeights'][number] | Arbitration['levers'][number];

export const CONTACT_SCOPES = ['offer', 'group', 'channel', 'all'] as const;
export type ContactScope = (typeof CONTACT_SCOPES)[number];
export const COUNTED = ['impression', 'decision'] as const;
export const SUPPRESSING_OUTCOMES = ['reject', 'accept', 'click', 'impression', 'complaint'] as const;

const PolicyFilter = {
  name: Name.describe('shown in explain as suppressedBy'),
  offers: z.array(Id).min(1).optional().describe('the rule applies to these offers only'),
  groups: z.array(z.enum(OFFER_GROUPS)).min(1).optional().describe('the rule applies to offers of these groups only'),
  channel: OneOrMany(z.string())
    .optional()
    .describe('the rule applies to decisions on these channels and counts only contacts on them'),
  scope: z
    .enum(CONTACT_SCOPES)
    .default('offer')
    .describe(
      "which contacts count for an offer: the same offer, any offer of its group, any offer on the decision's channel, or all",
    ),
};
const WhenHistoryUnavailable = z.enum(['suppress', 'allow']);

export const FrequencyCap = z
  .object({
    type: z.literal('frequencyCap'),
    ...PolicyFilter,
    counts: z
      .enum(COUNTED)
      .describe(
        'impression: impressions reported to /v1/responses (and offers shown but not yet reported); decision: every decision that presents it',
      ),
    max: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .describe('at most this many contacts in the window; the next is suppressed'),
    windowDays: z.number().int().min(1).max(400).describe('the window: this many calendar days (UTC), today included'),
    whenHistoryUnavailable: WhenHistoryUnavailable.default('suppress').describe(
      'when the contact history cannot be read: suppress the offers the cap governs (fail closed, the default) or allow them',
    ),
  })
  .strict();

/** Which offers' outcomes start a suppression, when not the ones the rule's scope names. */
export const SuppressionTrigger = z
  .object({
    offers: z.array(Id).min(1).optional().describe('outcomes of these offers only'),
    groups: z.array(z.enum(OFFER_GROUPS)).min(1).optional().describe('outcomes of offers of these groups only'),
  })
  .strict()
  .refine((of) => of.offers !== undefined || of.groups !== undefined, 'name "offers", "groups" or both');

export const SuppressAfter = z
  .object({
    type: z.literal('suppressAfter'),
    ...PolicyFilter,
    outcome: z
      .enum(SUPPRESSING_OUTCOMES)
      .describe(
        'reject: cool down after a no; accept: stop, the customer took it; complaint: quiet after the customer complained about a contact',
      ),
    of: SuppressionTrigger.optional().describe(
      'only outcomes of these offers start the suppression (both lists given: an offer must be in both); default: any offer the scope groups with the one decided',
    ),
    days: z.number().positive().max(3650).describe('suppressed for this many days after the outcome'),
    whenHistoryUnavailable: WhenHistoryUnavailable.default('allow').describe(
      'when the contact history cannot be read: allow the offers (the default) or suppress them',
    ),
  })
  .strict();

export const PolicyRule = z.discriminatedUnion('type', [FrequencyCap, SuppressAfter]);
export type PolicyRule = z.output<typeof PolicyRule>;

export const ContactPolicy = z
  .object({
    $schema: z.string().optional(),
    channels: z
      .record(z.string(), z.object({ maxOffers: z.number().int().min(1).max(20) }).strict())
      .default({})
      .describe('per channel: how many offers one answer may show at most'),
    holdMinutes: z
      .number()
      .int()
      .min(1)
      .max(1440)
      .default(30)
      .describe('how long an offer shown but not yet reported as an impression counts toward impression caps'),
    rules: z
      .array(PolicyRule)
      .max(200)
      .default([])
      .describe('frequency caps and suppressions, checked in order; the first that applies names the suppression'),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.rules.forEach((r, i) => {
      if (seen.has(r.name))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `another rule is already named "${r.name}"`,
        });
      seen.add(r.name);
    });
  });
export type ContactPolicy = z.output<typeof ContactPolicy>;

/** What the control group gets of the offer groups held out from it. */
const ControlOffers = z
  .enum(['none', 'random'])
  .describe('none: not shown; random: the eligible ones in random order, where the ranking puts them');
/** Offer groups a control group may hold out: service and save offers go to every customer. */
export const HELD_OUT_GROUPS = OFFER_GROUPS.filter(
  (g): g is Exclude<OfferGroup, 'service' | 'save'> => g !== 'service' && g !== 'save',
);

export const OutboundChannel = z
  .object({
    consent: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("the consent a profile's consents must hold to be contacted here; absent: none needed (letters)"),
    capacityPerRun: z
      .number()
      .int()
      .min(0)
      .max(100_000_000)
      .optional()
      .describe('contacts a run may send on this channel at most'),
    budgetPerRun: z
      .number()
      .min(0)
      .max(1e12)
      .optional()
      .describe('money a run may spend on this channel, with costPerContact'),
    costPerContact: z.number().positive().max(1e6).optional().describe('what one contact costs, with budgetPerRun'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.budgetPerRun === undefined) !== (c.costPerContact === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [c.budgetPerRun === undefined ? 'costPerContact' : 'budgetPerRun'],
        message: 'budgetPerRun and costPerContact go together: give both or neither',
      });
  });
export type OutboundChannel = z.output<typeof OutboundChannel>;

export const Outbound = z
  .object({
    channels: z
      .record(ChannelName, OutboundChannel)
      .describe('the channels journeys send on (email, sms, letters, calls), by name; not in "channels"'),
    maxContactsPerRun: z
      .number()
      .int()
      .min(1)
      .max(4)
      .default(1)
      .describe('outbound contacts one customer gets in one run at most'),
  })
  .strict();
export type Outbound = z.output<typeof Outbound>;

export const Manifest = z
  .object({
    $schema: z.string().optional(),
    version: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'letters, digits, dots, dashes and underscores'),
    name: Name.optional(),
    channels: z.array(ChannelName).min(1).describe('channels this rule set answers for'),
    defaultLimit: z.number().int().min(1).max(20).default(3),
    interactionMinutes: z
      .number()
      .int()
      .min(1)
      .max(1440)
      .default(30)
      .describe(
        'a repeated request naming the same interactionId (a call, a page view) within this many minutes gets the same decision',
      ),
    controlGroup: z
      .object({
        share: z
          .number()
          .min(0)
          .max(0.5)
          .describe('share of customers in the control group, by a sticky hash of the customer ID'),
        groups: z
          .array(z.enum(HELD_OUT_GROUPS))
          .min(1)
          .default([...HELD_OUT_GROUPS])
          .describe(
            'the offer groups held out from the control group (default: all but service and save, which go to every customer)',
          ),
        offers: z
          .union([
            ControlOffers,
            z.record(ChannelName, ControlOffers).describe('per channel; a channel not named gets none'),
          ])
          .default('none')
          .describe(
            'what the control group gets of the held-out groups: none, or the eligible ones in random order (in the places the ranking gives them); per channel as an object',
          ),
        experiment: z
          .string()
          .regex(/^[A-Za-z0-9._:-]{1,64}$/)
          .default('control')
          .describe('salt of the split: a new name draws a new control group'),
      })
      .strict()
      .optional()
      .describe('a control group to measure lift against'),
    outbound: Outbound.optional().describe('channels the rule set sends on by itself, in journeys (journeys/*.json)'),
  })
  .strict();
export type Manifest = z.output<typeof Manifest>;

export const JourneyStep = z
  .object({
    id: Id.describe('the step’s name, unique in the journey; a wave’s "after" names it'),
    week: z
      .number()
      .int()
      .min(0)
      .max(103)
      .optional()
      .describe('weeks after entry the step is sent (0: the week of entry); below lengthWeeks'),
    every: z
      .number()
      .int()
      .min(1)
      .max(104)
      .optional()
      .describe('with "week": sent again every this many weeks, while the journey lasts'),
    after: Id.optional().describe(
      'a wave instead of a week: the id of an earlier step, this one is sent when that one got no response',
    ),
    noResponseDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .optional()
      .describe('with "after": days the earlier step must have gone without a click, accept or reject'),
    channel: ChannelName.describe('an outbound channel of the manifest'),
    offer: Id.optional().describe('the offer sent: it needs a treatment for the channel'),
    bestOf: z
      .array(z.enum(OFFER_GROUPS))
      .min(1)
      .optional()
      .describe('instead of one offer: the best eligible offer of these groups with a treatment for the channel'),
    segments: z
      .array(z.enum(VALUE_SEGMENTS))
      .min(1)
      .optional()
      .describe('only customers of these value segments get this step (default: all)'),
  })
  .strict();
export type JourneyStep = z.output<typeof JourneyStep>;

export const Journey = z
  .object({
    $schema: z.string().optional(),
    id: Id.describe('the file name without .json'),
    name: Name,
    description: z.string().max(1000).optional(),
    entry: TopCondition.describe('who enters: a condition over the profile, as an offer’s eligibility'),
    lengthWeeks: z.number().int().min(1).max(104).describe('the journey is complete this many weeks after entry'),
    reenterAfterWeeks: z
      .number()
      .int()
      .min(0)
      .max(520)
      .optional()
      .describe('weeks after leaving or completing before a customer may enter again; absent: never again'),
    exits: z
      .object({
        phaseChange: z.boolean().default(true).describe('leave when the lifecycle phase is no longer the one at entry'),
        accept: z
          .boolean()
          .default(true)
          .describe('leave after accepting, on any channel, an offer this journey could send'),
      })
      .strict()
      .default({ phaseChange: true, accept: true })
      .describe('when a customer leaves before the end'),
    steps: z
      .array(JourneyStep)
      .min(1)
      .max(100)
      .describe('the contacts: each at a week after entry, or as a wave after an earlier step got no response'),
  })
  .strict();
export type Journey = z.output<typeof Journey>;
