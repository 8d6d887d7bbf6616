import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_ID_MAX_LENGTH } from '../../src/api/guards.js';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY = 'decide-key-0123456789abcdef';

// X-Request-Id: taken when sane, made otherwise, answered on every response, in problems and in the log
describe('request IDs', () => {
  let t: App;
  const lines: Record<string, unknown>[] = [];
  const decide = (headers: Record<string, string> = {}, body: unknown = { customerId: 'C0000001', channel: 'web' }) =>
    t.post('/v1/decisions', body, { authorization: `Bearer ${KEY}`, ...headers });

  beforeAll(async () => {
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    t = await testApp({ API_KEYS: `decide:${KEY}` }, log);
  });

  it('echoes a sane X-Request-Id on a decision', async () => {
    const res = await decide({ 'x-request-id': 'crm-call-4711_a=' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('crm-call-4711_a=');
  });

  it('makes one when none is sent, a new one per request, on every route', async () => {
    const [a, b] = await Promise.all([decide(), decide()]);
    expect(a.headers.get('x-request-id')).toMatch(UUID);
    expect(b.headers.get('x-request-id')).toMatch(UUID);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    expect((await t.app.request('/healthz')).headers.get('x-request-id')).toMatch(UUID);
  });

  it(`replaces one that is longer than ${REQUEST_ID_MAX_LENGTH} characters or holds other characters`, async () => {
    for (const sent of ['x'.repeat(REQUEST_ID_MAX_LENGTH + 1), 'has space', 'new\u00e9', 'a/b', '{"a":1}']) {
      const got = (await decide({ 'x-request-id': sent })).headers.get('x-request-id');
      expect(got, sent).toMatch(UUID);
    }
    expect((await decide({ 'x-request-id': 'y'.repeat(REQUEST_ID_MAX_LENGTH) })).headers.get('x-request-id')).toBe(
      'y'.repeat(REQUEST_ID_MAX_LENGTH),
    );
  });

  it('names the request in every problem body, the same as the header', async () => {
    const problems = [
      await decide({ 'x-request-id': 'bad-body-1' }, { customerId: '', channel: 'web' }),
      await decide({ 'x-request-id': 'bad-channel-1' }, { customerId: 'C0000001', channel: 'fax' }),
      await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, { 'x-request-id': 'no-key-1' }),
      await t.app.request('/nowhere', { headers: { 'x-request-id': 'no-route-1' } }),
      await decide({ 'x-request-id': 'not-json-1' }, '{'),
    ];
    expect(problems.map((r) => r.status)).toEqual([400, 400, 401, 404, 400]);
    for (const res of problems) {
      const body = await res.json();
      expect(body.requestId).toBe(res.headers.get('x-request-id'));
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await (await t.app.request('/nowhere')).json()).requestId).toMatch(UUID);
  });

  it('is in the log line of an unexpected error, whose answer names it without details', async () => {
    const decisions = t.services.decisions as { decide: (...args: unknown[]) => Promise<unknown> };
    const original = decisions.decide;
    decisions.decide = async () => {
      throw new TypeError('secret detail');
    };
    try {
      const res = await decide({ 'x-request-id': 'boom-1' });
      expect(res.status).toBe(500);
      const body = await res.json();
      expect(body).toMatchObject({ requestId: 'boom-1', status: 500 });
      expect(JSON.stringify(body)).not.toContain('secret');
    } finally {
      decisions.decide = original;
    }
    const line = lines.find((l) => l.msg === 'unexpected error');
    expect(line).toMatchObject({ requestId: 'boom-1', path: '/v1/decisions' });
  });

  it('is in the log line of a decision that had to fall back', async () => {
    const profiles = t.services.profiles as { peek?: unknown; get: (id: string) => Promise<unknown> };
    const [peek, get] = [profiles.peek, profiles.get];
    profiles.peek = undefined;
    profiles.get = async () => {
      throw new Error('store down');
    };
    try {
      const res = await decide({ 'x-request-id': 'fallback-1' });
      expect((await res.json()).degraded).toBe(true);
    } finally {
      Object.assign(profiles, { peek, get });
    }
    expect(lines.find((l) => l.requestId === 'fallback-1')).toMatchObject({
      msg: 'profile look-up failed; answering with fallback offers',
      err: 'store down',
    });
  });

  it('lets a page on an allowed origin send its own and read the answered one', async () => {
    const shop = await testApp({ CORS_ORIGINS: 'https://shop.example.com' });
    const origin = 'https://shop.example.com';
    const preflight = await shop.app.request('/v1/decisions', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-request-id',
      },
    });
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-request-id');
    const res = await shop.post(
      '/v1/decisions',
      { customerId: 'C0000001', channel: 'web' },
      { origin, 'x-request-id': 'page-view-9' },
    );
    expect(res.headers.get('x-request-id')).toBe('page-view-9');
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    await shop.services.close();
  });
});
