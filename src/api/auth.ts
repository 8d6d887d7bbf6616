import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Scope } from '../config.js';
import { ApiError } from '../errors.js';
import type { AppEnv } from './types.js';

/**
 * What a route needs: `public` is for the two routes a web page calls (with customer tokens),
 * `agent` for what the agent panel reads besides them (a profile's summary).
 */
export type Needed = 'public' | 'decide' | 'agent' | 'admin';

/**
 * Which key scopes may call a route: admin may do everything; an agent key everything a decide
 * key may, and read profile summaries; a decide key everything a public key may.
 */
const ALLOWED: Readonly<Record<Needed, readonly Scope[]>> = {
  public: ['public', 'decide', 'agent', 'admin'],
  decide: ['decide', 'agent', 'admin'],
  agent: ['agent', 'admin'],
  admin: ['admin'],
};

/** The keys that may call a route, as a 403 names them. */
const NEEDS: Readonly<Record<Needed, string>> = {
  public: 'a decide, agent or admin key (or a public key with a customer token)',
  decide: 'a decide, agent or admin key',
  agent: 'an agent or admin key',
  admin: 'an admin key',
};

const sha256 = (s: string) => createHash('sha256').update(s).digest();

interface KeyEntry {
  readonly hash: Buffer;
  readonly scope: Scope;
  /** a fingerprint of the key (never the key), for audit entries and rate limits */
  readonly id: string;
}

/** The configured keys as SHA-256 digests: compared in constant time, and the keys themselves not kept around. */
export function keyTable(keys: ReadonlyMap<string, Scope>): readonly KeyEntry[] {
  return [...keys].map(([key, scope]) => {
    const hash = sha256(key);
    return { hash, scope, id: hash.toString('hex').slice(0, 8) };
  });
}

/** The entry of a presented key: every configured key is compared, in constant time, whatever matches. */
function lookUp(table: readonly KeyEntry[], presented: string): KeyEntry | undefined {
  const digest = sha256(presented);
  let found: KeyEntry | undefined;
  for (const entry of table) if (timingSafeEqual(digest, entry.hash) && found === undefined) found = entry;
  return found;
}

/**
 * API-key check shared by every protected route (`needed` may depend on the method and path,
 * for a wildcard mount); with no keys configured it is not mounted
 * and the service is open (a warning is logged at start). The key's scope and fingerprint go
 * in the context for the routes (a public key's customer comes from its customer token).
 */
export function requireScope(
  table: readonly KeyEntry[],
  needed: Needed | ((method: string, path: string) => Needed),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const entry = match ? lookUp(table, match[1]!) : undefined;
    if (!entry) {
      c.header('www-authenticate', 'Bearer realm="nextbest"');
      throw new ApiError('unauthorized', match ? 'unknown API key' : 'send Authorization: Bearer <API key>');
    }
    const need = typeof needed === 'function' ? needed(c.req.method, c.req.path) : needed;
    if (!ALLOWED[need].includes(entry.scope))
      throw new ApiError(
        'forbidden',
        `${/^[aeiou]/.test(entry.scope) ? 'an' : 'a'} ${entry.scope} key cannot call this route; it needs ${NEEDS[need]}`,
      );
    c.set('scope', entry.scope);
    c.set('keyId', entry.id);
    return next();
  };
}
