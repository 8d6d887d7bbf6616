import { z } from 'zod';
import { CUSTOMER_ID_PATTERN, CustomerId } from '../../profiles/schema.js';
import { parseTimestamp } from './timestamps.js';

export const MAX_PRODUCT_CHARS = 64;

/**
 * One NDJSON transaction line, the reference definition:
 * - `customerId`: 1–128 characters of A-Za-z0-9._:- (as profiles);
 * - `at`: an ISO date `2026-03-01` (its UTC midnight) or a date-time with seconds and `Z` or an
 *   offset `2026-03-01T14:05:00+01:00`;
 * - `amount`: a finite number in currency units; refunds and credits are negative;
 * - `product`: optional, 1–64 characters;
 * - no other keys.
 */
export const Transaction = z
  .object({
    customerId: CustomerId,
    at: z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
      error: 'an ISO date (2026-03-01) or date-time with seconds and Z or an offset (2026-03-01T14:05:00+01:00)',
    }),
    amount: z.number({ error: 'a finite number (negative for a refund)' }),
    product: z.string().min(1).max(MAX_PRODUCT_CHARS).optional(),
  })
  .strict();

export type Transaction = z.output<typeof Transaction>;

/** A line that passed: `at` already as epoch milliseconds. */
export interface CheckedTransaction {
  readonly customerId: string;
  readonly at: number;
  readonly amount: number;
  readonly product: string | undefined;
}

/**
 * The hot-path check, held equal to `Transaction.safeParse(value).success` by a fast-check
 * property: zod per line costs more than reading the line, so zod only explains the rejects.
 * Returns undefined when the value is not a valid transaction.
 */
export function checkTransaction(value: unknown): CheckedTransaction | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  let customerId: unknown, at: unknown, amount: unknown, product: unknown;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const field = (value as Record<string, unknown>)[key];
    switch (key) {
      case 'customerId':
        customerId = field;
        break;
      case 'at':
        at = field;
        break;
      case 'amount':
        amount = field;
        break;
      case 'product':
        product = field;
        break;
      default:
        return undefined;
    }
  }
  if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) return undefined;
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return undefined;
  if (
    product !== undefined &&
    (typeof product !== 'string' || product.length < 1 || product.length > MAX_PRODUCT_CHARS)
  )
    return undefined;
  if (typeof at !== 'string') return undefined;
  const epochMs = parseTimestamp(at);
  if (Number.isNaN(epochMs)) return undefined;
  return { customerId, at: epochMs, amount, product: product as string | undefined };
}
