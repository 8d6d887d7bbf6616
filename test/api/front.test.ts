import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

describe('the front-end routes', () => {
  const file = join(tmpdir(), `nextbest-front-${process.pid}.ndjson`);
  afterAll(() => rm(file, { force: true }));

  it('serve the pages with a strict content security policy, and no key needed', async () => {
    const t = await testApp({ API_KEYS: 'decide:front-test-decide-key,admin:front-test-admin-key' });
    for (const path of ['/demo/web', '/demo/agent']) {
      const res = await t.app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
    for (const [path, type] of [
      ['/widget.js', 'text/javascript'],
      ['/demo/agent.js', 'text/javascript'],
      ['/demo/shop.js', 'text/javascript'],
      ['/demo/demo.css', 'text/css'],
    ] as const) {
      const res = await t.app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await t.app.request('/widget.js')).headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await t.app.request('/demo/../package.json')).status).toBe(404);
    expect((await t.app.request('/demo/nothing.js')).status).toBe(404);
    await t.services.close();
  });

  it('offer one sample customer per phase × segment of the demo population', async () => {
    const t = await testApp();
    const { customers } = await (await t.app.request('/demo/customers')).json();
    expect(customers).toHaveLength(16);
    expect(
      new Set(
        customers.map((c: { lifecyclePhase: string; valueSegment: string }) => `${c.lifecyclePhase}|${c.valueSegment}`),
      ).size,
    ).toBe(16);
    for (const c of customers)
      expect(
        (await (await t.post('/v1/decisions', { customerId: c.customerId, channel: 'web' })).json()).profile,
      ).toMatchObject({ found: true, lifecyclePhase: c.lifecyclePhase, valueSegment: c.valueSegment });
    await t.services.close();
  });

  it('list no customers when real profiles are loaded', async () => {
    await writeFile(
      file,
      `${JSON.stringify({
        customerId: 'REAL-1',
        valueSegment: 'top',
        lifecyclePhase: 'loyalty',
        clv: 100,
        churnScore: 0.1,
      })}\n`,
    );
    const t = await testApp({ PROFILES_FILE: file });
    expect(await (await t.app.request('/demo/customers')).json()).toEqual({ customers: [], keysRequired: false });
    await t.services.close();
  });
});
