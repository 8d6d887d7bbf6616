import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;

describe('the demo shop’s stand-in pages and the favicon', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp({ API_KEYS: 'admin:demo-site-test-admin-key' });
  });
  afterAll(() => t.services.close());

  it('stands in for every page the shipped rules’ tips link to, without a key', async () => {
    const offers = t.services.rules.active!.offers;
    const urls = new Set(
      offers.flatMap((o) =>
        Object.values(o.treatments).flatMap((tr) => {
          const url = (tr as { ctaUrl?: unknown }).ctaUrl;
          return typeof url === 'string' ? [url] : [];
        }),
      ),
    );
    expect(urls.size).toBeGreaterThan(5);
    for (const url of urls) {
      const res = await t.app.request(`/demo/site${url}`);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      const page = await res.text();
      expect(page).toContain('This is where the offer page would be');
      expect(page).toContain(`<code>${url}</code>`);
      expect(page).toContain('href="/demo/web"');
    }
  });

  it('answers 404 for what is no site path', async () => {
    for (const path of ['/demo/site', '/demo/site/', '/demo/site/a%3Cb', '/demo/site/x<script>', '/demo/site//x'])
      expect((await t.app.request(path)).status, path).toBe(404);
  });

  it('serves an SVG favicon at /favicon.ico', async () => {
    const res = await t.app.request('/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.headers.get('cache-control')).toContain('max-age');
    expect((await res.text()).length).toBeLessThan(1024);
  });
});
