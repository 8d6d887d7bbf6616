import {
  CUSTOMER_ID_PATTERN,
  FORBIDDEN_KEYS,
  KEY_PATTERN,
  LIFECYCLE_PHASES,
  MAX_PROFILE_ATTRIBUTES,
  type Profile,
  VALUE_SEGMENTS,
} from './schema.js';

const KEYS: ReadonlySet<string> = new Set([
  'customerId',
  'valueSegment',
  'lifecyclePhase',
  'clv',
  'churnScore',
  'npsScore',
  'tenureDays',
  'annualRevenue',
  'productsHeld',
  'consents',
  'attributes',
]);
const SEGMENTS: ReadonlySet<unknown> = new Set(VALUE_SEGMENTS);
const PHASES: ReadonlySet<unknown> = new Set(LIFECYCLE_PHASES);

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function names(v: unknown, max: number): v is string[] {
  if (!Array.isArray(v) || v.length > max) return false;
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string' || s.length < 1 || s.length > 64) return false;
  }
  return true;
}

function attributes(v: unknown): v is Profile['attributes'] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let n = 0;
  for (const key in v) {
    if (++n > MAX_PROFILE_ATTRIBUTES || FORBIDDEN_KEYS.has(key) || !KEY_PATTERN.test(key)) return false;
    const a = (v as Record<string, unknown>)[key];
    if (typeof a === 'string' ? a.length > 512 : typeof a !== 'boolean' && !finite(a)) return false;
  }
  return true;
}

/**
 * The profile check for the common, valid case (a parsed JSON line), without zod's allocations.
 * It only ever accepts what the Profile schema accepts and returns what it returns, defaults
 * filled (a property test holds it to that); anything else returns undefined and goes through
 * zod for the exact errors.
 */
export function fastProfile(data: unknown): Profile | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  for (const key in data) if (!KEYS.has(key)) return undefined;
  const d = data as Record<string, unknown>;
  const { customerId, valueSegment, lifecyclePhase, clv, churnScore, npsScore } = d;
  // zod's defaults fill in what is absent (undefined), not null: null goes to zod and is refused
  const tenureDays = d.tenureDays === undefined ? 0 : d.tenureDays;
  const annualRevenue = d.annualRevenue === undefined ? 0 : d.annualRevenue;
  const productsHeld = d.productsHeld === undefined ? [] : d.productsHeld;
  const consents = d.consents === undefined ? [] : d.consents;
  const attrs = d.attributes === undefined ? {} : d.attributes;
  if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) return undefined;
  if (!SEGMENTS.has(valueSegment) || !PHASES.has(lifecyclePhase)) return undefined;
  if (!finite(clv) || clv < 0 || !finite(churnScore) || churnScore < 0 || churnScore > 1) return undefined;
  if (npsScore !== undefined && !(count(npsScore) && npsScore <= 10)) return undefined;
  if (!count(tenureDays) || !finite(annualRevenue)) return undefined;
  if (!names(productsHeld, 100) || !names(consents, 20) || !attributes(attrs)) return undefined;
  const profile = {
    customerId,
    valueSegment: valueSegment as Profile['valueSegment'],
    lifecyclePhase: lifecyclePhase as Profile['lifecyclePhase'],
    clv,
    churnScore,
    ...(npsScore === undefined ? {} : { npsScore }),
    tenureDays,
    annualRevenue,
    productsHeld: [...productsHeld],
    consents: [...consents],
    attributes: { ...attrs },
  };
  return profile;
}
