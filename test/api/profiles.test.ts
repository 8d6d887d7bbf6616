import { beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
const profile = (id: string, extra: Record<string, unknown> = {}) => ({
  customerId: id,
  valueSegment: 'top',
  lifecyclePhase: 'loyalty',
  clv: 4200,
  churnScore: 0.2,
  tenureDays: 800,
  annualRevenue: 700,
  productsHeld: ['mobile', 'broadband'],
  consents: ['web'],
  attributes: { appUser: true },
  ...extra,
});

describe('profiles API', () => {
  let t: App;
  const put = (id: string, body: unknown) =>
    t.app.request(`/v1/profiles/${id}`, {
      method: 'PUT',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  const bulk = (body: string, type = 'application/x-ndjson') =>
    t.app.request('/v1/profiles/bulk', { method: 'POST', body, headers: { 'content-type': type } });
  beforeAll(async () => {
    t = await testApp();
  });

  it('PUT then GET returns the stored profile with defaults filled in', async () => {
    const res = await put('P-1', { valueSegment: 'bottom', lifecyclePhase: 'regain', clv: 10, churnScore: 0.9 });
    expect(res.status).toBe(200);
    const got = await t.app.request('/v1/profiles/P-1');
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      customerId: 'P-1',
      valueSegment: 'bottom',
      lifecyclePhase: 'regain',
      clv: 10,
      churnScore: 0.9,
      tenureDays: 0,
      annualRevenue: 0,
      productsHeld: [],
      consents: [],
      attributes: {},
    });
  });

  it('PUT replaces a profile', async () => {
    await put('P-2', profile('P-2'));
    await put('P-2', profile('P-2', { valueSegment: 'super' }));
    expect((await (await t.app.request('/v1/profiles/P-2')).json()).valueSegment).toBe('super');
  });

  it('GET of an absent profile is a 404 problem', async () => {
    const res = await t.app.request('/v1/profiles/absent-9');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'urn:nextbest:problem:not_found', status: 404 });
  });

  it('PUT refuses an invalid profile with every error and stores nothing', async () => {
    const res = await put('P-3', { valueSegment: 'gold', lifecyclePhase: 'loyalty', clv: -1, churnScore: 2 });
    expect(res.status).toBe(400);
    const paths = (await res.json()).errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['/churnScore', '/clv', '/valueSegment']);
    expect((await t.app.request('/v1/profiles/P-3')).status).toBe(404);
  });

  it('PUT refuses a body whose customerId differs from the path', async () => {
    const res = await put('P-4', profile('P-5'));
    expect(res.status).toBe(400);
  });

  it('PUT refuses prototype names as attribute keys and drops __proto__', async () => {
    const body = (attributes: string) =>
      `{"valueSegment":"top","lifecyclePhase":"new","clv":1,"churnScore":0,"attributes":${attributes}}`;
    const bad = await t.app.request('/v1/profiles/P-6', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: body('{"constructor":"x"}'),
    });
    expect(bad.status).toBe(400);
    const res = await t.app.request('/v1/profiles/P-7', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: body('{"__proto__":"x","tier":"gold"}'),
    });
    expect(res.status).toBe(200);
    const stored = await (await t.app.request('/v1/profiles/P-7')).json();
    expect(Object.keys(stored.attributes)).toEqual(['tier']);
    expect(Object.getPrototypeOf(stored.attributes)).toBe(Object.prototype);
  });

  it('bulk imports good lines and reports bad ones by line number', async () => {
    const lines = [
      JSON.stringify(profile('B-1')),
      '',
      '{not json',
      JSON.stringify(profile('B-2', { churnScore: 3 })),
      JSON.stringify(profile('B-3')),
    ];
    const res = await bulk(lines.join('\n'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.imported).toBe(2);
    expect(body.rejected.map((r: { line: number }) => r.line)).toEqual([3, 4]);
    expect(body.rejected[1].errors[0].path).toBe('/churnScore');
    expect((await t.app.request('/v1/profiles/B-3')).status).toBe(200);
    expect((await t.app.request('/v1/profiles/B-2')).status).toBe(404);
  });

  it('bulk refuses a content type other than NDJSON', async () => {
    expect((await bulk('{}', 'text/plain')).status).toBe(415);
  });

  it('bulk keeps its report bounded however bad the lines are', async () => {
    const res = await bulk(
      Array.from({ length: 500 }, () => '{"attributes":{"a":[1]},"extra":1}').join('\n'),
      'Application/X-NDJSON',
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ imported: 0, rejectedLines: 500 });
    expect(body.rejected).toHaveLength(100);
    expect(body.rejected[99].line).toBe(100);
    for (const r of body.rejected) expect(r.errors.length).toBeLessThanOrEqual(10);
  });
});
