import { beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;

describe('operations endpoints', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });

  it('healthz answers', async () => {
    expect((await t.app.request('/healthz')).status).toBe(200);
  });

  it('readyz is 200 with a rule set and 503 while draining', async () => {
    const ready = await t.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect((await ready.json()).rulesetVersion).toBe(t.services.rules.active!.version);
    t.services.readiness.draining = true;
    expect((await t.app.request('/readyz')).status).toBe(503);
    t.services.readiness.draining = false;
  });

  it('metrics count decisions, offers and latency in seconds', async () => {
    await t.post('/v1/decisions', { customerId: 'C0000010', channel: 'web' });
    await t.post('/v1/decisions', { customerId: 'C0000010', channel: 'web' });
    const res = await t.app.request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/nextbest_decision_duration_seconds_bucket\{le="0.0001"\}/);
    expect(text).toMatch(/nextbest_decisions_total\{channel="web",outcome="offers"\} [1-9]/);
    expect(text).toMatch(/nextbest_offers_served_total\{offer="[a-z0-9-]+",group="[a-z-]+"\} [1-9]/);
    // the memory store is read directly: no cache in front, so no look-ups counted
    expect(text).not.toMatch(/nextbest_profile_cache_requests_total\{result="(hit|miss)"\} [1-9]/);
  });

  it('openapi.json describes every public route', async () => {
    const doc = await (await t.app.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/v1/decisions', '/v1/profiles/{customerId}', '/v1/profiles/bulk'])
      expect(doc.paths[path]).toBeDefined();
    expect(doc.components.schemas.DecisionRequest).toBeDefined();
  });

  it('docs page and its assets are served locally', async () => {
    const page = await t.app.request('/docs');
    expect(await page.text()).toContain('/openapi.json');
    const js = await t.app.request('/docs/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect((await t.app.request('/docs/../package.json')).status).toBe(404);
    for (const name of ['constructor', '__proto__', 'toString'])
      expect((await t.app.request(`/docs/${name}`)).status, name).toBe(404);
  });

  it('an unknown route is a 404 problem', async () => {
    const res = await t.app.request('/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});
