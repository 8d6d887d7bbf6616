import { expect } from 'vitest';
import type { Scope } from '../../src/config.js';

type App = { app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> } };

/** One protected route: what to send, by the scope of the key, and which scopes may call it. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  /** the body a caller with this scope would send (a public key sends a customer token) */
  readonly body?: (scope: Scope) => unknown;
  readonly allowed: readonly Scope[];
}

/**
 * The auth matrix of every route: no key and an unknown key get 401 with WWW-Authenticate;
 * a key whose scope may not call the route gets 403; one that may is let through (whatever
 * the route then answers, it is not 401 or 403). All as problem+json.
 */
export async function expectAuthMatrix(
  t: App,
  keys: Readonly<Record<Scope, string>>,
  routes: readonly RouteSpec[],
): Promise<void> {
  const call = (r: RouteSpec, key: string | undefined, scope: Scope) =>
    t.app.request(r.path, {
      method: r.method,
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      ...(r.method === 'GET' ? {} : { body: JSON.stringify(r.body?.(scope) ?? {}) }),
    });
  for (const r of routes) {
    const what = `${r.method} ${r.path}`;
    for (const key of [undefined, 'unknown-key-0123456789']) {
      const res = await call(r, key, 'admin');
      expect(res.status, `${what} with ${key ? 'an unknown' : 'no'} key`).toBe(401);
      expect(res.headers.get('www-authenticate'), what).toContain('Bearer');
      expect(res.headers.get('content-type'), what).toContain('application/problem+json');
    }
    for (const scope of Object.keys(keys) as Scope[]) {
      const res = await call(r, keys[scope], scope);
      if (r.allowed.includes(scope))
        expect([401, 403], `${what} with a ${scope} key: ${await res.clone().text()}`).not.toContain(res.status);
      else {
        expect(res.status, `${what} with a ${scope} key`).toBe(403);
        expect((await res.json()).type, what).toBe('urn:nextbest:problem:forbidden');
      }
    }
  }
}
