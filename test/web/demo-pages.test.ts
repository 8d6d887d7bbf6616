// page functions run in the browser
/// <reference lib="dom" />
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, liveApp, openPage, screenshot, until } from '../support/browser.js';

/** Does the page scroll sideways? */
const overflow = (p: Page) =>
  p.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));

describe('the demo shop for real people', () => {
  let browser: Browser;
  let api: Awaited<ReturnType<typeof liveApp>>;

  beforeAll(async () => {
    browser = await launchBrowser();
    api = await liveApp();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('fits a 360 px wide phone without scrolling sideways, tips and picker included', async () => {
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/web`, {
      viewport: { width: 360, height: 740 },
    });
    await p.waitForSelector('#tips[data-nextbest-state="shown"]');
    // the longest label of the picker shown
    const longest = await p
      .locator('#customer option')
      .evaluateAll((os) =>
        os.reduce((a, o) => ((o.textContent ?? '').length > a.length ? (o.textContent ?? '') : a), ''),
      );
    const value = await p.locator('#customer option', { hasText: longest }).first().getAttribute('value');
    await p.selectOption('#customer', value!);
    await p.waitForSelector('#tips[data-nextbest-state="shown"]');
    const { scrollWidth } = await overflow(p);
    expect(scrollWidth).toBeLessThanOrEqual(360);
    const select = await p.locator('#customer').boundingBox();
    expect(select!.x + select!.width).toBeLessThanOrEqual(360);
    await screenshot(p, 'demo-web-360');
    expect(errors).toEqual([]);
    await close();
  });

  it('a tip’s link opens the page standing in for the shop’s offer page, and records the click', async () => {
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/web`, {
      viewport: { width: 1100, height: 900 },
    });
    await p.waitForSelector('#tips[data-nextbest-state="shown"] a.nb-cta');
    const link = p.locator('#tips a.nb-cta').first();
    const href = (await link.getAttribute('href'))!;
    // the rules' ctaUrl (a path of the shop's site), under the demo's stand-in pages
    expect(href).toMatch(new RegExp(`^${api.base}/demo/site/[a-z0-9/-]+$`));
    const decisionId = (await p.locator('#tips .nb-tips').getAttribute('data-decision'))!;
    const [answer] = await Promise.all([p.waitForNavigation(), link.click()]);
    expect(answer!.status()).toBe(200);
    expect(answer!.headers()['content-type']).toMatch(/^text\/html/);
    expect(await p.locator('h2').innerText()).toBe('This is where the offer page would be');
    expect(await p.locator('main code').innerText()).toBe(new URL(href).pathname.slice('/demo/site'.length));
    await until('the click arrives', () =>
      api.events.some((e) => e.decisionId === decisionId && e.outcome === 'click'),
    );
    await screenshot(p, 'demo-offer-page');
    // and back to the shop, with the customer picked before
    const picked = await p.evaluate(() => sessionStorage.getItem('nextbest-demo-customer'));
    await p.click('text=Back to the demo shop');
    await p.waitForSelector('#tips[data-nextbest-state="shown"]');
    expect(await p.inputValue('#customer')).toBe(picked);
    expect(errors).toEqual([]);
    await close();
  });

  it('has a favicon', async () => {
    const res = await fetch(`${api.base}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(await res.text()).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const { p, close } = await openPage(browser, `${api.base}/demo/web`);
    const icon = await p.locator('link[rel=icon]').getAttribute('href');
    expect(icon).toBe('/favicon.ico');
    // the browser draws it: an image 32 px wide
    const width = await p.evaluate(async () => {
      const img = new Image();
      img.src = '/favicon.ico';
      await img.decode();
      return img.naturalWidth;
    });
    expect(width).toBeGreaterThan(0);
    await close();
  });

  it('says when the decision service does not answer, instead of silently showing the fallback', async () => {
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/web`, {
      prepare: (page) => page.route('**/v1/decisions', (route) => route.abort('connectionrefused')),
    });
    await p.waitForSelector('#tips[data-nextbest-state="fallback"]');
    await p.waitForSelector('#service-note:visible');
    expect(await p.locator('#service-note').innerText()).toMatch(/^Demo note: the decision service did not answer/);
    expect(await p.locator('#tips').innerText()).toContain('Our help centre has the answers');
    expect(errors).toEqual([]);
    await close();
  });
});

describe('the demo shop on a service with API keys', () => {
  let browser: Browser;
  let api: Awaited<ReturnType<typeof liveApp>>;

  beforeAll(async () => {
    browser = await launchBrowser();
    api = await liveApp({ API_KEYS: 'decide:demo-pages-decide-key,admin:demo-pages-admin-key' });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('says visibly that the service refused the page, and shows the fallback tips', async () => {
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/web`);
    await p.waitForSelector('#tips[data-nextbest-state="fallback"]');
    expect(await p.locator('#tips').getAttribute('data-nextbest-reason')).toBe('refused');
    await p.waitForSelector('#service-note:visible');
    expect(await p.locator('#service-note').innerText()).toMatch(
      /^Demo note: the decision service refused this page’s request .*fallback tips/,
    );
    await screenshot(p, 'demo-web-refused');
    expect(errors).toEqual([]);
    await close();
  });
});
