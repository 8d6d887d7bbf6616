// page functions run in the browser
/// <reference lib="dom" />
import { rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, liveApp, openPage, screenshot, until } from '../support/browser.js';
import { rulesCopy } from '../support/rules.js';

describe('the call-center agent panel in Chromium', () => {
  let browser: Browser;
  let api: Awaited<ReturnType<typeof liveApp>>;

  let rules: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    // the shipped rules ranked by their posterior means, without a control group: the order
    // the panel shows is then the rules' own, not one Thompson draw
    rules = await rulesCopy({
      'arbitration.json': (a) => void (a.learning.exploration = 'none'),
      'manifest.json': (m) => void delete m.controlGroup,
    });
    api = await liveApp({
      API_KEYS: 'agent:agent-test-agent-key,decide:agent-test-decide,admin:agent-test-admin',
      RULES_DIR: rules,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await rm(rules, { recursive: true, force: true });
  });

  const open = (query: string) =>
    openPage(browser, `${api.base}/demo/agent${query}`, {
      viewport: { width: 1200, height: 900 },
      // the agent key typed once; the panel keeps it for the session
      prepare: (p) => p.addInitScript(() => sessionStorage.setItem('nextbest-key', 'agent-test-agent-key')),
    });
  const offersShown = (p: Page) =>
    p
      .locator('#actions li[data-offer]')
      .evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-offer'), li.getAttribute('data-group')]));

  it('shows a retain customer on a cancel call their profile and a save offer first, with script and reason', async () => {
    const customer = api.services.demoCustomers.find((c) => c.lifecyclePhase === 'retain' && c.valueSegment === 'top')!;
    expect(customer).toBeDefined();
    const asked: string[] = [];
    const { p, errors, close } = await openPage(
      browser,
      `${api.base}/demo/agent?customer=${customer.customerId}&intent=cancel`,
      {
        viewport: { width: 1200, height: 900 },
        prepare: (page) => {
          page.on('request', (r) => asked.push(new URL(r.url()).pathname));
          return page.addInitScript(() => sessionStorage.setItem('nextbest-key', 'agent-test-agent-key'));
        },
      },
    );
    await p.waitForSelector('#actions li[data-offer]');
    await p.waitForSelector('#profile dl');
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
    expect(profile).toMatch(/Products/);
    // an agent key reads the profile, which answers it the summary only
    expect(asked.filter((u) => u.startsWith('/v1/profiles/'))).toEqual([`/v1/profiles/${customer.customerId}`]);
    expect(await p.locator('#key-saved').isVisible()).toBe(true);
    expect(await p.locator('#key-form').isVisible()).toBe(false);
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

  it('a call keeps its actions when the reason changes; a new call decides for the new reason', async () => {
    const customer = api.services.demoCustomers.find(
      (c) => c.lifecyclePhase === 'loyalty' && c.valueSegment === 'top',
    )!;
    const { p, close } = await open(`?customer=${customer.customerId}`);
    await p.waitForSelector('#actions li[data-offer]');
    const first = await offersShown(p);
    expect(first.map(([, group]) => group)).not.toContain('save');
    await p.selectOption('#intent', 'cancel');
    await p.waitForSelector('#status:has-text("Call reason noted")');
    expect(await offersShown(p)).toEqual(first);
    // the same customer, now calling to cancel: a save offer first
    await p.click('#new-call');
    await until('the save offer leads', async () => (await offersShown(p))[0]?.[1] === 'save');
    await close();
  });

  it('one call — 3 look-ups, a reason change and an Accept — counts one impression per offer shown', async () => {
    const customer = api.services.demoCustomers.find(
      (c) => c.lifecyclePhase === 'retain' && c.valueSegment === 'super',
    )!;
    const decisions: { decisionId: string; interactionId: string | null; offers: { offerId: string }[] }[] = [];
    // the report's call-center impressions per offer, of every customer: this call's are the difference
    const impressions = async () => {
      const res = await fetch(`${api.base}/v1/reports/offers`, {
        headers: { authorization: 'Bearer agent-test-admin' },
      });
      const { offers } = (await res.json()) as {
        offers: { offerId: string; channel: string; treatment: { impressions: number } }[];
      };
      return Object.fromEntries(
        offers.filter((o) => o.channel === 'call-center').map((o) => [o.offerId, o.treatment.impressions]),
      ) as Record<string, number>;
    };
    const before = await impressions();
    const { p, errors, close } = await open(`?customer=${customer.customerId}&intent=cancel`);
    p.on('response', async (res) => {
      if (res.url().endsWith('/v1/decisions') && res.ok()) decisions.push(await res.json());
    });
    await p.waitForSelector('#actions li[data-offer]');
    const shown = (await offersShown(p)).map(([id]) => id!);
    for (let i = 0; i < 2; i++) {
      await p.click('button[type=submit]');
      await p.waitForSelector('#status:has-text("actions for")');
    }
    await p.selectOption('#intent', 'billing');
    await p.waitForSelector('#status:has-text("Call reason noted")');
    await p
      .locator('#actions li')
      .first()
      .getByRole('button', { name: /^Accept:/ })
      .click();
    await p.waitForSelector('#status:has-text("Accepted")');
    await until('the accepted action is gone', async () => !(await offersShown(p)).some(([id]) => id === shown[0]));
    // every answer of the call was its first decision, less the accepted offer at the end
    await until('the answers arrive', () => decisions.length >= 4);
    const ids = new Set(decisions.map((d) => d.decisionId));
    expect(ids.size).toBe(1);
    expect(decisions[0]!.interactionId).toMatch(/^call-/);
    expect((await offersShown(p)).map(([id]) => id)).toEqual(shown.slice(1));
    // the service counted one impression per offer shown, and the accept
    await until('the impressions are counted', async () => {
      const now = await impressions();
      return shown.every((id) => (now[id] ?? 0) > (before[id] ?? 0));
    });
    const counted = await impressions();
    for (const id of shown) expect(counted[id]! - (before[id] ?? 0), id).toBe(1);
    const stored = await api.services.contacts.history(customer.customerId);
    expect(
      stored
        .filter((e) => e.outcome === 'impression')
        .map((e) => e.offerId)
        .sort(),
    ).toEqual([...shown].sort());
    expect(stored.filter((e) => e.outcome === 'accept').map((e) => e.offerId)).toEqual([shown[0]]);
    expect(errors).toEqual([]);
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

  /** Text a developer would write, which an agent should never read. */
  const DEVELOPER_TEXT = /Authorization|Bearer|API key|status \d{3}|problem|scope|unknown API/i;

  it('says plainly that a customer is not known', async () => {
    const { p, errors, close } = await open('?customer=NOBODY-1');
    await p.waitForSelector('#actions li');
    expect(await p.locator('#profile').innerText()).toContain('Not a known customer');
    expect(errors).toEqual([]);
    await close();
  });

  it('asks for the agent key in plain words, uses it, and keeps it for the session', async () => {
    const customer = api.services.demoCustomers[3]!;
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/agent`, {
      viewport: { width: 1200, height: 900 },
    });
    // before anything: the form, in an agent's words (once the page knows the service wants a key)
    await p.waitForSelector('#key-form', { state: 'visible' });
    expect((await p.locator('label[for=key]').innerText()).replace(/\s+/g, ' ')).toBe(
      'Your agent key — ask your team lead',
    );
    // a look-up without it: asked for, not told about headers
    await p.fill('#customer', customer.customerId);
    await p.click('#lookup button[type=submit]');
    await p.waitForSelector('#status.problem');
    expect(await p.locator('#status').innerText()).toBe(
      'Enter your agent key to look customers up. Your team lead can give you one.',
    );
    expect(await p.locator('body').innerText()).not.toMatch(DEVELOPER_TEXT);
    // the key entered: the customer shown, the key kept for the tab
    await p.fill('#key', 'agent-test-agent-key');
    await p.click('#save-key');
    await p.waitForSelector('#actions li[data-offer]');
    expect(await p.locator('#profile dl').innerText()).toContain(customer.customerId);
    expect(await p.evaluate(() => sessionStorage.getItem('nextbest-key'))).toBe('agent-test-agent-key');
    expect(await p.locator('#key-form').isVisible()).toBe(false);
    expect(await p.locator('#key-saved').innerText()).toContain('Using your agent key');
    await p.reload();
    expect(await p.locator('#key-saved').isVisible()).toBe(true);
    expect(await p.locator('#key-form').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await close();
  });

  it('a wrong key: says so in words an agent understands, and asks again', async () => {
    const customer = api.services.demoCustomers[4]!;
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/agent?customer=${customer.customerId}`, {
      prepare: (page) => page.addInitScript(() => sessionStorage.setItem('nextbest-key', 'not-a-key-of-this-service')),
    });
    await p.waitForSelector('#status.problem');
    expect(await p.locator('#status').innerText()).toBe(
      'Your agent key was not accepted. Check it and enter it again, or ask your team lead for a new one.',
    );
    expect(await p.locator('#key-form').isVisible()).toBe(true);
    expect(await p.locator('#actions li').count()).toBe(0);
    expect(await p.locator('body').innerText()).not.toMatch(DEVELOPER_TEXT);
    // a key that may not use the panel (an admin's is fine, a public key's is not: here a decide key lacks the summary)
    await p.fill('#key', 'agent-test-decide');
    await p.click('#save-key');
    await p.waitForSelector('#actions li[data-offer]');
    expect(await p.locator('#profile').innerText()).toBe(
      'Your key shows actions but not customer details. Ask your team lead for an agent key.',
    );
    expect(errors).toEqual([]);
    await close();
  });

  it('says plainly when the service cannot be reached', async () => {
    const customer = api.services.demoCustomers[5]!;
    const { p, errors, close } = await open(`?customer=${customer.customerId}`);
    await p.waitForSelector('#actions li[data-offer]');
    await p.route('**/v1/**', (route) => route.abort('connectionrefused'));
    await p.click('#new-call');
    await p.waitForSelector('#status.problem');
    expect(await p.locator('#status').innerText()).toBe(
      'The recommendation service cannot be reached. Check your connection and try again in a minute; if it keeps happening, tell your team lead.',
    );
    expect(await p.locator('#actions li').count()).toBe(0);
    expect(errors).toEqual([]);
    await close();
  });

  it('lists the sample customers as buttons, one click away', async () => {
    const { p, errors, close } = await open('');
    await p.waitForSelector('#sample-list button');
    const samples = p.locator('#sample-list button');
    expect(await samples.count()).toBe(16);
    expect(await p.locator('datalist').count()).toBe(0);
    const third = samples.nth(2);
    expect(await third.isVisible()).toBe(true);
    const id = (await third.getAttribute('data-customer'))!;
    expect(await third.innerText()).toMatch(new RegExp(`^${id} — (Super|Top|Middle|Bottom)`));
    await third.click();
    await p.waitForSelector('#actions li[data-offer]');
    expect(await p.inputValue('#customer')).toBe(id);
    expect(await p.locator('#profile dl').innerText()).toContain(id);
    expect(errors).toEqual([]);
    await close();
  });
});

describe('the agent panel for a customer in the control group', () => {
  let browser: Browser;
  let api: Awaited<ReturnType<typeof liveApp>>;
  let rules: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    rules = await rulesCopy({
      'manifest.json': (m) => void (m.controlGroup = { share: 0.5, experiment: 'agent-test', offers: 'random' }),
    });
    api = await liveApp({ RULES_DIR: rules });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await rm(rules, { recursive: true, force: true });
  });

  it('labels the actions "standard actions" and gives no reason the model did not have', async () => {
    // a loyal customer of the control group: the actions are held-out groups in random order
    let customerId = '';
    for (let i = 1; !customerId && i < 2000; i++) {
      const id = `C${String(i).padStart(7, '0')}`;
      const d = (await (
        await fetch(`${api.base}/v1/decisions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customerId: id, channel: 'call-center', explain: true }),
        })
      ).json()) as { arm: string; offers: unknown[] };
      if (d.arm === 'control' && d.offers.length > 0) customerId = id;
    }
    expect(customerId).not.toBe('');
    const { p, errors, close } = await openPage(browser, `${api.base}/demo/agent?customer=${customerId}`);
    await p.waitForSelector('#actions li[data-offer]');
    expect(await p.locator('#arm-note').isVisible()).toBe(true);
    expect(await p.locator('#arm-note').innerText()).toBe('Standard actions');
    expect(await p.locator('#actions .why').count()).toBe(0);
    // a customer of the model's arm: the reasons, no label
    const champion = api.services.demoCustomers[0]!.customerId;
    await p.fill('#customer', champion);
    await p.click('button[type=submit]');
    await until(
      'the champion is shown',
      async () => (await p.locator('#actions').getAttribute('data-arm')) === 'champion',
    );
    expect(await p.locator('#arm-note').isVisible()).toBe(false);
    expect(await p.locator('#actions .why').count()).toBeGreaterThan(0);
    // a service without API keys: no key is ever asked for
    expect(await p.locator('#key-form').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await close();
  });
});
