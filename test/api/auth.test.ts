import { beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const DECIDE = 'decide-key-0123456789';
const ADMIN = 'admin-key-0123456789';
const PUBLIC = 'public-key-0123456789';

describe('security: API keys and CORS', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp({ API_KEYS: `decide:${DECIDE},admin:${ADMIN},public:${PUBLIC}`, CORS_ORIGINS: 'https://shop.example.com' });
  });
  const decide = (key?: string) => t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, key ? { authorization: `Bearer ${key}` } : {});
  const getProfile = (key?: string) => t.app.request('/v1/profiles/C0000001', { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('refuses a missing or unknown key with 401 and WWW-Authenticate', async () => {
    for (const res of [await decide(), await decide('wrong-key-0123456789')]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect((await res.json()).type).toBe('urn:nextbest:problem:unauthorized');
    }
  });

  it('lets decide and admin keys decide', async () => {
    expect((await decide(DECIDE)).status).toBe(200);
    expect((await decide(ADMIN)).status).toBe(200);
  });

  it('keeps profiles to admin keys', async () => {
    expect((await getProfile(DECIDE)).status).toBe(403);
    expect((await getProfile(PUBLIC)).status).toBe(403);
    expect((await getProfile()).status).toBe(401);
    expect((await getProfile(ADMIN)).status).toBe(200);
  });

  it('refuses public keys until customer tokens are accepted', async () => {
    expect((await decide(PUBLIC)).status).toBe(403);
  });

  it('leaves operations endpoints open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await t.app.request(path)).status, path).toBe(200);
  });

  it('answers CORS preflight for allowed origins only', async () => {
    const preflight = (origin: string) =>
      t.app.request('/v1/decisions', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect((await preflight('https://shop.example.com')).headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
