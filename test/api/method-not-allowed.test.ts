import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../src/api/problem.js';
import { ERROR_CODES } from '../../src/errors.js';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const PROBLEM = 'application/problem+json';

describe('a known path with a method it does not take', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.services.close());

  const expect405 = async (method: string, path: string, allow: string) => {
    const res = await t.app.request(path, { method });
    expect(res.status, `${method} ${path}`).toBe(405);
    expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
    expect(res.headers.get('content-type')).toContain(PROBLEM);
    const problem = await res.json();
    expect(problem).toMatchObject({ type: 'urn:nextbest:problem:method_not_allowed', status: 405, instance: path });
    expect(problem.detail).toContain(method);
    return problem;
  };

  it('is 405 with Allow naming the methods it takes', async () => {
    const problem = await expect405('GET', '/v1/decisions', 'POST');
    expect(problem.detail).toBe('/v1/decisions does not take GET; it takes POST');
    await expect405('DELETE', '/v1/rulesets', 'GET, HEAD');
    await expect405('PUT', '/v1/responses', 'POST');
    await expect405('DELETE', '/v1/profiles/C0000001', 'GET, HEAD, PUT');
    await expect405('GET', '/v1/rulesets/reload', 'POST');
    await expect405('POST', '/demo/web', 'GET, HEAD');
  });

  it('leaves unknown paths 404, and a path its route refuses 404', async () => {
    for (const path of ['/v1/nothing', '/v2/decisions', '/v1/decisions/a/b', '/demo/nothing.js']) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const res = await t.app.request(path, { method });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.headers.get('allow')).toBeNull();
        expect((await res.json()).type).toBe('urn:nextbest:problem:not_found');
      }
    }
    // a route that takes GET and answers 404 itself
    expect((await t.app.request('/docs/constructor')).status).toBe(404);
  });

  it('still checks the key first when the service has keys', async () => {
    const keyed = await testApp({ API_KEYS: 'admin:method-test-admin-key' });
    expect((await keyed.app.request('/v1/rulesets', { method: 'DELETE' })).status).toBe(401);
    const res = await keyed.app.request('/v1/rulesets', {
      method: 'DELETE',
      headers: { authorization: 'Bearer method-test-admin-key' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    await keyed.services.close();
  });

  it('is an error code with a status', () => {
    expect(ERROR_CODES).toContain('method_not_allowed');
    expect(PROBLEMS.method_not_allowed.status).toBe(405);
  });
});
