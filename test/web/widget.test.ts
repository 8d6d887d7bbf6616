// page functions run in the browser
/// <reference lib="dom" />
import { sign } from 'hono/jwt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSite, launchBrowser, liveApp, openPage, screenshot, until } from '../support/browser.js';
import { freePort } from '../support/process.js';

const KEY = 'widget-test-decide-key';
const PUBLIC_KEY = 'widget-test-public-key';
const SECRET = 'widget-test-customer-token-secret-0123456789';
const FALLBACK = '<p class="fallback">Our help centre has the answers.</p>';

/** A host page on another origin: `above` px of content before the widget. */
/** Waits for the widget's cards: the decision they show and how many there are. */
async function shownDecision(p: Page): Promise<{ decisionId: string; shown: number }> {
  await p.waitForSelector('#tips[data-nextbest-state="shown"]');
  return {
    decisionId: (await p.locator('#tips .nb-tips').getAttribute('data-decision'))!,
    shown: await p.locator('#tips .nb-card').count(),
  };
}

const page = (
  api: string,
  customer: string,
  opts: { above?: number; apiAttr?: string; token?: string } = {},
) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>host shop</title>
<style>body{font-family:Georgia,serif} .tips{--nb-accent:#7c3aed}</style></head>
<body><h1>Host shop</h1>
<div style="height:${opts.above ?? 0}px">products…</div>
<div class="tips" id="tips" data-nextbest ${opts.token ? `data-customer-token="${opts.token}"` : `data-customer="${customer}"`} data-channel="web" data-placement="tips-for-you" data-limit="3">${FALLBACK}</div>
<div style="height:2000px"></div>
<script src="${api}/widget.js" data-key="${opts.token ? PUBLIC_KEY : KEY}" ${opts.apiAttr ?? ''}></script>
</body></html>`;

describe('the "Tips for you" widget in Chromium', () => {
  let browser: Browser;
  let host: Awaited<ReturnType<typeof hostSite>>;
  let api: Awaited<ReturnType<typeof liveApp>>;
  const pages: Record<string, string> = {};

  beforeAll(async () => {
    browser = await launchBrowser();
    host = await hostSite(pages);
    api = await liveApp({
      API_KEYS: `decide:${KEY},admin:widget-test-admin,public:${PUBLIC_KEY}`,
      CORS_ORIGINS: host.base,
      CUSTOMER_TOKEN_SECRET: SECRET,
    });
    const token = await sign({ sub: 'C0000005', exp: Math.floor(Date.now() / 1000) + 600 }, SECRET, 'HS256');
    pages['/token'] = page(api.base, '', { token, above: 0 });
    pages['/top'] = page(api.base, 'C0000001');
    pages['/below'] = page(api.base, 'C0000002', { above: 3000 });
    pages['/guest'] = page(api.base, 'GUEST-42');
    // the widget served, the API it calls down (nothing listens on that port)
    pages['/down'] = page(api.base, 'C0000003', { apiAttr: `data-api="http://127.0.0.1:${await freePort()}"` });
    pages['/slow'] = page(api.base, 'C0000004');
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await host?.close();
  });

  const open = (path: string, prepare?: (p: Page) => Promise<void>) =>
    openPage(browser, `${host.base}${path}`, { prepare });
  const eventsOf = (decisionId: string, outcome?: string) =>
    api.events.filter((e) => e.decisionId === decisionId && (outcome === undefined || e.outcome === outcome));

  it('is one small dependency-free script, served as JavaScript', async () => {
    const res = await fetch(`${api.base}/widget.js`);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    const text = await res.text();
    expect(new TextEncoder().encode(text).length).toBeLessThan(30 * 1024);
    expect(text).not.toMatch(/\bimport\b|\brequire\(/);
  });

  it('renders 2–4 cards cross-origin, with title, text and call to action, labelled for screen readers', async () => {
    const { p, errors, close } = await open('/top');
    await p.waitForSelector('#tips[data-nextbest-state="shown"]');
    const cards = p.locator('#tips .nb-card');
    const n = await cards.count();
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
    for (let i = 0; i < n; i++) {
      const card = cards.nth(i);
      expect((await card.locator('.nb-title').textContent())?.length).toBeGreaterThan(3);
      expect((await card.locator('.nb-text').textContent())?.length).toBeGreaterThan(10);
      expect((await card.locator('.nb-cta').textContent())?.length).toBeGreaterThan(1);
      // the card's accessible name is its title
      const labelledBy = await card.getAttribute('aria-labelledby');
      expect(await p.locator(`[id="${labelledBy}"]`).textContent()).toBe(await card.locator('.nb-title').textContent());
    }
    expect(await p.getByRole('region', { name: 'Tips for you' }).count()).toBe(1);
    // keyboard: the first call to action is reachable with Tab
    await p.keyboard.press('Tab');
    expect(await p.evaluate(() => document.activeElement?.className)).toBe('nb-cta');
    // themable: the host's custom property reaches the button; the host's font is kept
    const cta = await p
      .locator('.nb-cta')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(cta).toBe('rgb(124, 58, 237)');
    expect(
      await p
        .locator('.nb-title')
        .first()
        .evaluate((el) => getComputedStyle(el).fontFamily),
    ).toContain('Georgia');
    await screenshot(p, 'widget-cards');
    expect(errors).toEqual([]);
    await close();
  });

  it('one page view is one interaction: refreshed tips are the same decision, a new page view decides anew', async () => {
    const { p, errors, close } = await open('/top');
    const { decisionId } = await shownDecision(p);
    const shown = await p.evaluate(() =>
      (window as unknown as { nextbest: { refresh(el: Element): Promise<boolean> } }).nextbest.refresh(
        document.getElementById('tips')!,
      ),
    );
    expect(shown).toBe(true);
    expect(await p.locator('#tips .nb-tips').getAttribute('data-decision')).toBe(decisionId);
    await p.reload();
    expect((await shownDecision(p)).decisionId).not.toBe(decisionId);
    expect(errors).toEqual([]);
    await close();
  });

  it('records an impression only once a card has scrolled into view', async () => {
    const { p, close } = await open('/below');
    const { decisionId } = await shownDecision(p);
    // longer than the widget's batching delay: anything recorded would have been sent
    await p.waitForTimeout(1_500);
    expect(eventsOf(decisionId)).toEqual([]);
    await p.locator('#tips').scrollIntoViewIfNeeded();
    const shown = await p.locator('#tips .nb-card').count();
    await until('the impressions arrive', () => eventsOf(decisionId, 'impression').length === shown);
    const offers = await p
      .locator('#tips .nb-card')
      .evaluateAll((cards) => cards.map((c) => c.getAttribute('data-offer')));
    expect(
      eventsOf(decisionId, 'impression')
        .map((e) => e.offerId)
        .sort(),
    ).toEqual([...offers].sort());
    // scrolling away and back records nothing more
    await p.evaluate(() => window.scrollTo(0, 0));
    await p.locator('#tips').scrollIntoViewIfNeeded();
    await p.waitForTimeout(1_500);
    expect(eventsOf(decisionId, 'impression')).toHaveLength(shown);
    await close();
  });

  it('records a click on the call to action once, even clicked twice while the page leaves', async () => {
    const { p, close } = await open('/top');
    const { decisionId } = await shownDecision(p);
    const first = p.locator('#tips .nb-card').first();
    const offerId = (await first.getAttribute('data-offer'))!;
    const href = (await first.locator('.nb-cta').getAttribute('href'))!;
    expect(href.startsWith(host.base)).toBe(true);
    await first.locator('.nb-cta').dblclick();
    await p.waitForURL(href);
    await until('the click arrives', () => eventsOf(decisionId, 'click').length > 0);
    await new Promise((r) => setTimeout(r, 1_500));
    const clicks = eventsOf(decisionId, 'click');
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({
      offerId,
      channel: 'web',
      customerId: 'C0000001',
      eventId: `${decisionId}:${offerId}:click`,
    });
    const report = await (
      await fetch(`${api.base}/v1/reports/offers`, { headers: { authorization: 'Bearer widget-test-admin' } })
    ).json();
    const row = report.offers.find((o: { offerId: string }) => o.offerId === offerId);
    expect(row.control.clicks + row.treatment.clicks).toBe(1);
    await close();
  });

  it('with a public key, speaks for the customer of a signed token, whose events are that customer’s', async () => {
    const { p, errors, close } = await open('/token');
    const { decisionId, shown } = await shownDecision(p);
    await until('the impressions arrive', () => eventsOf(decisionId, 'impression').length === shown);
    expect(new Set(eventsOf(decisionId).map((e) => e.customerId))).toEqual(new Set(['C0000005']));
    expect(errors).toEqual([]);
    await close();
  });

  it('sends events again when the service is busy, and they count once', async () => {
    let refusedOnce = false;
    const { p, close } = await open('/top', async (pg) => {
      await pg.route('**/v1/responses', async (route) => {
        if (refusedOnce) return route.continue();
        refusedOnce = true;
        await route.fulfill({
          status: 503,
          contentType: 'application/problem+json',
          body: '{"type":"urn:nextbest:problem:unavailable","status":503}',
        });
      });
    });
    const { decisionId, shown } = await shownDecision(p);
    await until(
      'the impressions arrive on the second try',
      () => eventsOf(decisionId, 'impression').length === shown,
      8_000,
    );
    expect(refusedOnce).toBe(true);
    await p.waitForTimeout(2_500);
    expect(eventsOf(decisionId, 'impression')).toHaveLength(shown);
    await close();
  });

  it('shows the fallback tips for an unknown customer', async () => {
    const { p, close } = await open('/guest');
    await p.waitForSelector('#tips[data-nextbest-state="shown"]');
    expect(await p.locator('#tips .nb-card').count()).toBeGreaterThanOrEqual(2);
    await close();
  });

  it('leaves the host page as it was when the API is down: no error, no broken box', async () => {
    const { p, errors, close } = await open('/down');
    await p.waitForSelector('#tips[data-nextbest-state="fallback"]');
    expect(await p.locator('#tips').innerHTML()).toBe(FALLBACK);
    expect(await p.locator('#tips').getAttribute('aria-busy')).toBeNull();
    await screenshot(p, 'widget-api-down');
    expect(errors).toEqual([]);
    await close();
  });

  it('gives up after 800 ms on a slow API and ignores the late answer', async () => {
    let delayed = 0;
    const { p, errors, close } = await open('/slow', async (pg) => {
      await pg.route('**/v1/decisions', async (route) => {
        delayed++;
        await new Promise((r) => setTimeout(r, 1_500));
        await route.continue().catch(() => {});
      });
    });
    const started = Date.now();
    await p.waitForSelector('#tips[data-nextbest-state="fallback"]');
    expect(Date.now() - started).toBeLessThan(1_400);
    await p.waitForTimeout(1_200);
    expect(delayed).toBe(1);
    expect(await p.locator('#tips').innerHTML()).toBe(FALLBACK);
    expect(errors).toEqual([]);
    await close();
  });

  it('is refused by the API for an origin outside CORS_ORIGINS, and then shows the fallback', async () => {
    const other = await hostSite({ '/': page(api.base, 'C0000001') });
    const { p, close } = await openPage(browser, `${other.base}/`);
    await p.waitForSelector('#tips[data-nextbest-state="fallback"]');
    expect(await p.locator('#tips .nb-card').count()).toBe(0);
    await close();
    await other.close();
  });
});

describe('the demo shop page', () => {
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

  it('embeds the widget, and the tips change with the customer picked', async () => {
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/web`, {
      viewport: { width: 1100, height: 900 },
    });
    await p.waitForSelector('#tips[data-nextbest-state="shown"]');
    const options = await p
      .locator('#customer option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    // one customer per lifecycle phase × value segment of the demo population, and a guest
    expect(options.length).toBe(17);
    const tipsOf = async () =>
      (await p.locator('#tips .nb-card').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-offer')))).join(',');
    const seen = new Set<string>();
    for (const id of options.slice(0, 16)) {
      // the customer shown already: the page view's interaction, its decision stands
      if (id === (await p.inputValue('#customer'))) continue;
      const before = await p.locator('#tips .nb-tips').getAttribute('data-decision');
      await p.selectOption('#customer', id);
      await until(
        'a new decision is shown',
        async () => (await p.locator('#tips .nb-tips').getAttribute('data-decision')) !== before,
      );
      seen.add(await tipsOf());
    }
    // different phases and segments get different tips
    expect(seen.size).toBeGreaterThan(4);
    await screenshot(p, 'demo-web');
    expect(errors).toEqual([]);
    await close();
  });
});
