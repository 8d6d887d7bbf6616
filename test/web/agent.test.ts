// page functions run in the browser
/// <reference lib="dom" />
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, liveApp, openPage, screenshot, until } from '../support/browser.js';
import { SHIPPED_RULES } from '../support/rules.js';

describe('the call-center agent panel in Chromium', () => {
  let browser: Browser;
  let api: Awaited<ReturnType<typeof liveApp>>;

  let rules: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    // the shipped rules ranked by their posterior means, without a control group: the order
    // the panel shows is then the rules' own, not one Thompson draw
    rules = await mkdtemp(join(tmpdir(), 'nextbest-agent-rules-'));
    await cp(SHIPPED_RULES, rules, { recursive: true });
    const edit = async (file: string, change: (doc: Record<string, any>) => void) => {
      const doc = JSON.parse(await readFile(join(rules, file), 'utf8'));
      change(doc);
      await writeFile(join(rules, file), JSON.stringify(doc, null, 2));
    };
    await edit('arbitration.json', (a) => void (a.learning.exploration = 'none'));
    await edit('manifest.json', (m) => void delete m.controlGroup);
    api = await liveApp({ API_KEYS: 'decide:agent-test-decide,admin:agent-test-admin', RULES_DIR: rules });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await rm(rules, { recursive: true, force: true });
  });

  const open = (query: string) =>
    openPage(browser, `${api.base}/demo/agent${query}`, {
      viewport: { width: 1200, height: 900 },
      // the key the agent types once; the panel keeps it for the session
      prepare: (p) => p.addInitScript(() => sessionStorage.setItem('nextbest-key', 'agent-test-admin')),
    });
  const offersShown = (p: Page) =>
    p
      .locator('#actions li[data-offer]')
      .evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-offer'), li.getAttribute('data-group')]));

  it('shows a retain customer on a cancel call their profile and a save offer first, with script and reason', async () => {
    const customer = api.services.demoCustomers.find((c) => c.lifecyclePhase === 'retain' && c.valueSegment === 'top')!;
    expect(customer).toBeDefined();
    const { p, errors, close } = await open(`?customer=${customer.customerId}&intent=cancel`);
    await p.waitForSelector('#actions li[data-offer]');
    const shown = await offersShown(p);
    expect(shown.length).toBeGreaterThanOrEqual(1);
    expect(shown.length).toBeLessThanOrEqual(3);
    expect(shown[0]![1]).toBe('save');
    const first = p.locator('#actions li').first();
    expect((await first.locator('blockquote').textContent())?.length).toBeGreaterThan(20);
    expect(await first.locator('.why').textContent()).toMatch(/^Why this: .{10,}/);
    const profile = await p.locator('#profile dl').innerText();
    expect(profile).toContain(customer.customerId);
    expect(profile).toMatch(/Retain/);
    expect(profile).toMatch(/Lifetime value\s+€/);
    expect(profile).toMatch(/Churn risk\s+(high|medium|low) \(\d+ %\)/);
    expect(profile).toMatch(/NPS/);
    // what the agent saw counts as seen
    await until(
      'the impressions arrive',
      () =>
        api.events.filter((e) => e.customerId === customer.customerId && e.outcome === 'impression').length ===
        shown.length,
    );
    await screenshot(p, 'agent-panel');
    expect(errors).toEqual([]);
    await close();
  });

  it('a loyal customer gets no save offer until the call reason is cancel', async () => {
    const customer = api.services.demoCustomers.find(
      (c) => c.lifecyclePhase === 'loyalty' && c.valueSegment === 'top',
    )!;
    const { p, close } = await open(`?customer=${customer.customerId}`);
    await p.waitForSelector('#actions li[data-offer]');
    expect((await offersShown(p)).map(([, group]) => group)).not.toContain('save');
    // the same customer calling to cancel gets a save offer first
    await p.selectOption('#intent', 'cancel');
    await until('the save offer leads', async () => (await offersShown(p))[0]?.[1] === 'save');
    await close();
  });

  it('Accept posts a response once and the accepted offer is gone on refresh', async () => {
    const customer = api.services.demoCustomers.find(
      (c) => c.lifecyclePhase === 'retain' && c.valueSegment === 'middle',
    )!;
    const { p, errors, close } = await open(`?customer=${customer.customerId}&intent=cancel`);
    await p.waitForSelector('#actions li[data-offer]');
    const [accepted] = (await offersShown(p))[0]!;
    const before = await p.locator('#actions li').first().getAttribute('data-offer');
    expect(before).toBe(accepted);
    await p
      .locator('#actions li')
      .first()
      .getByRole('button', { name: /^Accept:/ })
      .click();
    await p.waitForSelector('#status:has-text("Accepted")');
    await until('the panel shows new actions', async () => !(await offersShown(p)).some(([id]) => id === accepted));
    const accepts = api.events.filter((e) => e.customerId === customer.customerId && e.outcome === 'accept');
    expect(accepts).toHaveLength(1);
    expect(accepts[0]).toMatchObject({ offerId: accepted, channel: 'call-center' });
    // a fresh look-up (a new call) does not bring it back: contact policy stops an accepted offer
    await p.reload();
    await p.waitForSelector('#actions li');
    expect((await offersShown(p)).map(([id]) => id)).not.toContain(accepted);
    await screenshot(p, 'agent-panel-after-accept');
    expect(errors).toEqual([]);
    await close();
  });

  it('says what is wrong instead of failing: an unknown customer, and a missing key', async () => {
    const { p, close } = await open('?customer=NOBODY-1');
    await p.waitForSelector('#actions li');
    expect(await p.locator('#profile').innerText()).toContain('Not a known customer');
    await p.evaluate(() => sessionStorage.clear());
    await p.fill('#key', '');
    await p.click('button[type=submit]');
    await p.waitForSelector('#status:has-text("No recommendation")');
    expect(await p.locator('#status').innerText()).toMatch(/API key/);
    await close();
  });
});
