import type { DecisionRequest } from '../decision/types.js';
import { CUSTOMER_ID_PATTERN, FORBIDDEN_KEYS, INTERACTION_ID_PATTERN, KEY_PATTERN } from '../profiles/schema.js';
import { MAX_CONTEXT_KEYS } from './schemas.js';

const KEYS: ReadonlySet<string> = new Set([
  'customerId',
  'channel',
  'placement',
  'context',
  'limit',
  'explain',
  'interactionId',
]);

function plainContext(context: unknown): boolean {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return false;
  let n = 0;
  for (const key in context) {
    if (++n > MAX_CONTEXT_KEYS || FORBIDDEN_KEYS.has(key) || !KEY_PATTERN.test(key)) return false;
    const v = (context as Record<string, unknown>)[key];
    if (
      typeof v === 'string' ? v.length > 256 : typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))
    )
      return false;
  }
  return true;
}

/**
 * The decision request check for the common, valid case, without zod's allocations. It only
 * ever accepts what DecisionRequestSchema accepts, unchanged (a property test holds it to
 * that); anything else returns undefined and goes through zod for the exact errors.
 */
export function fastDecisionRequest(body: unknown): DecisionRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  for (const key in body) if (!KEYS.has(key)) return undefined;
  const { customerId, channel, placement, context, limit, explain, interactionId } = body as Record<string, unknown>;
  if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) return undefined;
  if (typeof channel !== 'string' || channel.length < 1 || channel.length > 32) return undefined;
  if (placement !== undefined && (typeof placement !== 'string' || placement.length < 1 || placement.length > 64))
    return undefined;
  if (limit !== undefined && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= 20))
    return undefined;
  if (explain !== undefined && typeof explain !== 'boolean') return undefined;
  if (interactionId !== undefined && (typeof interactionId !== 'string' || !INTERACTION_ID_PATTERN.test(interactionId)))
    return undefined;
  if (context !== undefined && !plainContext(context)) return undefined;
  return body as DecisionRequest;
}
