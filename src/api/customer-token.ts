import type { Context } from 'hono';
import { verify } from 'hono/jwt';
import { ApiError } from '../errors.js';
import { CUSTOMER_ID_PATTERN } from '../profiles/schema.js';
import type { AppEnv } from './types.js';

/** The longest a customer token may live: a page's token is minted per visit, not per year. */
export const MAX_TOKEN_LIFETIME_S = 24 * 3600;
/** Longer strings are not tokens this service issued the format of. */
export const MAX_TOKEN_LENGTH = 2_048;

/** What a `public` key may do: the secret its customer tokens are signed with, and the channels of web pages. */
export interface PublicAccess {
  readonly secret: string | undefined;
  /** when set, a token's `aud` must name it: tokens the site signs for other uses are refused */
  readonly audience?: string | undefined;
  readonly channels: readonly string[];
  /** counts a request of the token's customer against the key's and the customer's budgets (429 past either) */
  readonly count?: (c: Context<AppEnv>, customerId: string) => void;
}

/** A public key answers web pages: agents' channels (scripts, reasons) stay with decide keys. */
export function checkPublicChannel(channel: unknown, access: PublicAccess, path: string): void {
  if (typeof channel === 'string' && !access.channels.includes(channel)) {
    throw new ApiError(
      'forbidden',
      `a public key may use the channels ${access.channels.join(', ')} (PUBLIC_CHANNELS), not "${channel}"`,
      [{ path, message: `expected one of ${access.channels.join(', ')}` }],
    );
  }
}

/**
 * The customer a `public` caller speaks for: the `sub` of an HS256 JWT signed with
 * CUSTOMER_TOKEN_SECRET by the host site's back end, with an `exp` at most 24 hours away.
 * Anything else is a 401 that says which check failed and nothing of the secret.
 */
export async function customerFromToken(token: unknown, { secret, audience }: PublicAccess): Promise<string> {
  if (secret === undefined)
    throw new ApiError('forbidden', 'public keys need CUSTOMER_TOKEN_SECRET to be set on the service');
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new ApiError(
      'unauthorized',
      'a public key identifies the customer with customerToken: a signed JWT (HS256) from the site’s back end',
    );
  }
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, audience === undefined ? 'HS256' : { alg: 'HS256', aud: audience });
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'JwtTokenExpired') throw new ApiError('unauthorized', 'the customerToken has expired');
    if (name === 'JwtTokenNotBefore')
      throw new ApiError(
        'unauthorized',
        'the customerToken is not valid yet: its nbf is in the future (are the clocks of the site’s back end and of this service apart?)',
      );
    if (name === 'JwtTokenIssuedAt')
      throw new ApiError(
        'unauthorized',
        'the customerToken was issued in the future: its iat is later than now (are the clocks of the site’s back end and of this service apart?)',
      );
    if (name === 'JwtTokenAudience' || name === 'JwtPayloadRequiresAud')
      throw new ApiError(
        'unauthorized',
        `the customerToken is not meant for this service: its aud must be "${audience}" (CUSTOMER_TOKEN_AUDIENCE)`,
      );
    throw new ApiError(
      'unauthorized',
      'the customerToken is not valid: malformed, not HS256 or not signed with this service’s secret',
    );
  }
  const { sub, exp } = payload;
  if (typeof exp !== 'number')
    throw new ApiError('unauthorized', 'the customerToken has no exp: customer tokens must expire');
  if (exp - Date.now() / 1000 > MAX_TOKEN_LIFETIME_S)
    throw new ApiError(
      'unauthorized',
      `the customerToken expires too far ahead: at most ${MAX_TOKEN_LIFETIME_S / 3600} hours`,
    );
  if (typeof sub !== 'string' || !CUSTOMER_ID_PATTERN.test(sub))
    throw new ApiError('unauthorized', 'the customerToken’s sub is not a customer ID');
  return sub;
}
