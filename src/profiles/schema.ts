import { z } from '@hono/zod-openapi';

/** Names that must never become object keys: they reach Object.prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** A call, a page view, an email send, as a decision request or a response names it. */
export const INTERACTION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** A channel's name, as the manifest declares it and requests and responses name it: `web`, `call-center`, `email`. */
export const CHANNEL_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export const VALUE_SEGMENTS = ['super', 'top', 'middle', 'bottom'] as const;
export const LIFECYCLE_PHASES = ['new', 'loyalty', 'retain', 'regain'] as const;
export type ValueSegment = (typeof VALUE_SEGMENTS)[number];
export type LifecyclePhase = (typeof LIFECYCLE_PHASES)[number];

export const MAX_PROFILE_ATTRIBUTES = 64;

export const CustomerId = z
  .string()
  .regex(CUSTOMER_ID_PATTERN, '1-128 characters of A-Za-z0-9._:-')
  .openapi({ example: 'C0000042' });

export const Scalar = z.union([z.string().max(512), z.number(), z.boolean()]);

const ShortName = z.string().min(1).max(64);

/** A key for data-keyed objects: an identifier, and never one that reaches Object.prototype. */
export const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const SafeKey = z
  .string()
  .regex(KEY_PATTERN, 'keys are identifiers (A-Za-z0-9_, not starting with a digit)')
  .refine((k) => !FORBIDDEN_KEYS.has(k), 'forbidden key');

export const Attributes = z
  .record(SafeKey, Scalar)
  .refine(
    (value) => Object.keys(value).length <= MAX_PROFILE_ATTRIBUTES,
    `at most ${MAX_PROFILE_ATTRIBUTES} attributes`,
  );

export const Profile = z
  .object({
    customerId: CustomerId,
    valueSegment: z.enum(VALUE_SEGMENTS),
    lifecyclePhase: z.enum(LIFECYCLE_PHASES),
    clv: z.number().min(0).describe('customer lifetime value, currency units'),
    churnScore: z.number().min(0).max(1),
    npsScore: z.number().int().min(0).max(10).optional(),
    tenureDays: z.number().int().min(0).default(0),
    annualRevenue: z.number().default(0),
    productsHeld: z.array(ShortName).max(100).default([]),
    consents: z.array(ShortName).max(20).default([]),
    attributes: Attributes.default({}),
  })
  .strict()
  .openapi('Profile');

export type Profile = z.output<typeof Profile>;
export type ProfileInput = z.input<typeof Profile>;
