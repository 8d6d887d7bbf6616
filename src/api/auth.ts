import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Scope } from '../config.js';
import { ApiError } from '../errors.js';
import type { AppEnv } from './types.js';

/** Which key scopes may call a route: admin may do everything a decide key may. */
const ALLOWED: Readonly<Record<'decide' | 'admin', readonly Scope[]>> = {
  decide: ['decide', 'admin'],
  admin: ['admin'],
};

/**
 * API-key check shared by every protected route; with no keys configured it is not mounted
 * and the service is open (a warning is logged at start). Public keys need signed customer
 * tokens, not yet accepted here, so they are refused.
 */
export function requireScope(keys: ReadonlyMap<string, Scope>, needed: 'decide' | 'admin'): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const scope = match ? keys.get(match[1]!) : undefined;
    if (!scope) {
      c.header('www-authenticate', 'Bearer realm="nextbest"');
      throw new ApiError('unauthorized', match ? 'unknown API key' : 'send Authorization: Bearer <API key>');
    }
    if (!ALLOWED[needed].includes(scope)) throw new ApiError('forbidden', `a ${scope} key cannot call this route; it needs the ${needed} scope`);
    c.set('scope', scope);
    c.set('keyId', createHash('sha256').update(match![1]!).digest('hex').slice(0, 8));
    return next();
  };
}
