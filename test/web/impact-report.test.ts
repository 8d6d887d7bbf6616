// page functions run in the browser
/// <reference lib="dom" />
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../support/browser.js';
import { run } from '../support/process.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/web).
const cli = (...args: string[]) => run(['bin/nextbest.js', ...args]);
const DAY = 86_400_000;
const T0 = Date.parse('2026-01-05T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
/** A segment name that is markup: the report must show it as text. */
const HOSTILE = '<i>mid</i> & "co"';

/** A seeded population: every arm, three groups large enough for intervals and one too small. */
function fixture() {
  let s = 4242;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const decisions: string[] = [];
  const transactions: string[] = [];
  const cells: [string, string, number][] = [
    ['retain', 'top', 220],
    ['retain', HOSTILE, 220],
    ['loyalty', 'top', 220],
    ['new', 'bottom', 8],
  ];
  let n = 0;
  for (const [phase, segment, count] of cells)
    for (let i = 0; i < count; i++) {
      const customerId = `R${++n}`;
      const u = rnd();
      const arm = u < 0.3 ? 'control' : u < 0.75 ? 'champion' : 'challenger';
      const t0 = T0 + Math.floor(rnd() * 10) * DAY + Math.floor(rnd() * 3_600_000);
      decisions.push(
        JSON.stringify({
          decisionId: `d-${n}`,
          at: iso(t0),
          customerId,
          channel: 'web',
          arm,
          preview: false,
          profile: { found: true, valueSegment: segment, lifecyclePhase: phase },
          offers: [],
        }),
      );
      transactions.push(JSON.stringify({ customerId, at: iso(t0 - 5 * DAY), amount: Math.round(60 * rnd()) }));
      for (const d of [1, 8, 20])
        if (rnd() < 0.7)
          transactions.push(
            JSON.stringify({
              customerId,
              at: iso(t0 + d * DAY),
              amount: Math.round(20 * rnd() + (arm === 'control' ? 0 : 4)),
            }),
          );
    }
  return { decisions, transactions };
}

type Group = {
  lifecyclePhase: string;
  valueSegment: string;
  revenuePerCustomer: { difference: number } | null;
};
type Report = { comparisons: { name: string; groups: Group[] }[] };
const groupName = (g: Group) =>
  g.lifecyclePhase === 'all' && g.valueSegment === 'all' ? 'all' : `${g.lifecyclePhase} × ${g.valueSegment}`;

/** Opens a report file with every request other than the file itself aborted and recorded. */
async function openReport(browser: Browser, file: string) {
  const url = pathToFileURL(file).href;
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, javaScriptEnabled: false });
  const requests: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  const p = await context.newPage();
  p.on('request', (r) => requests.push(r.url()));
  p.on('pageerror', (err) => errors.push(err.message));
  p.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  p.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await p.goto(url, { waitUntil: 'load' });
  return { p, url, requests, errors, close: () => context.close() };
}

/** Counts of the SVG marks inside `selector`, by their ARIA role description. */
const marks = (p: Page, selector: string, role: string) =>
  p.locator(`${selector} svg [aria-roledescription="${role}"]`).count();
const texts = (p: Page, selector: string) => p.locator(selector).allTextContents();

describe('nextbest impact --html and portfolio --html in Chromium', () => {
  let browser: Browser;
  let dir: string;
  let report: Report;
  let impactFile: string;
  let impactStdout: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-report-'));
    const f = fixture();
    const decisions = join(dir, 'decisions.ndjson');
    const transactions = join(dir, 'transactions.ndjson');
    await writeFile(decisions, `${f.decisions.join('\n')}\n`);
    await writeFile(transactions, `${f.transactions.join('\n')}\n`);
    impactFile = join(dir, 'impact.html');
    const args = ['--decisions', decisions, '--transactions', transactions, '--outcome-days', '30'];
    const [html, json] = await Promise.all([
      cli('impact', ...args, '--as-of', '2026-03-01', '--html', impactFile),
      cli('impact', ...args, '--as-of', '2026-03-01', '--json'),
    ]);
    expect(html.code, html.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    impactStdout = html.stdout;
    report = JSON.parse(json.stdout) as Report;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the report and still prints the table', async () => {
    expect(impactStdout).toMatch(/^treatment-vs-control: differences are treatment − control/m);
    const html = await readFile(impactFile, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|https?:\/\/(?!www\.w3\.org\/)/i);
  });

  it('opens from the file alone, with no request, no script and no error', async () => {
    const r = await openReport(browser, impactFile);
    try {
      await screenshot(r.p, 'impact-report');
      expect(r.requests).toEqual([r.url]);
      expect(r.errors).toEqual([]);
      expect(await r.p.locator('script').count()).toBe(0);
      expect(await r.p.locator('svg').count()).toBe(report.comparisons.length + 1);
    } finally {
      await r.close();
    }
  });

  it('draws, per comparison, a point and an error bar per group with an interval, plain and CUPED', async () => {
    const r = await openReport(browser, impactFile);
    try {
      expect(report.comparisons.map((c) => c.name)).toEqual(['treatment-vs-control', 'challenger-vs-champion']);
      for (const c of report.comparisons) {
        const section = `section[data-comparison="${c.name}"]`;
        const measured = c.groups.filter((g) => g.revenuePerCustomer !== null).map(groupName);
        expect(measured.length).toBe(4); // the total and three groups; the small one has no interval
        expect(await marks(r.p, section, 'errorbar')).toBe(2 * measured.length);
        expect(await marks(r.p, section, 'point')).toBe(2 * measured.length);
        const axis = (await r.p.locator(`${section} svg [aria-label^="Y-axis"]`).getAttribute('aria-label'))!;
        for (const name of measured) expect(axis).toContain(name);
        expect(axis).not.toContain('new × bottom');
        expect(await texts(r.p, `${section} svg .role-legend-label text`)).toEqual(['plain', 'CUPED']);
        // the table: one row per group, the small one included, in the report's order
        const rows = await texts(r.p, `${section} table tbody tr td:first-child`);
        expect(rows).toEqual(c.groups.map(groupName));
      }
    } finally {
      await r.close();
    }
  });

  it('draws the cumulative revenue as one line per arm over the outcome days', async () => {
    const r = await openReport(browser, impactFile);
    try {
      const chart = 'figure[data-chart="cumulative"]';
      expect(await marks(r.p, chart, 'line mark')).toBe(4);
      expect(await texts(r.p, `${chart} svg .role-legend-label text`)).toEqual([
        'treatment',
        'control',
        'champion',
        'challenger',
      ]);
      const x = (await r.p.locator(`${chart} svg [aria-label^="X-axis"]`).getAttribute('aria-label'))!;
      expect(x).toMatch(/days since t0.* 0 to 30/);
    } finally {
      await r.close();
    }
  });

  it('shows names from the data as text, never as markup', async () => {
    const r = await openReport(browser, impactFile);
    try {
      expect(await r.p.locator('i').count()).toBe(0);
      const rows = await texts(r.p, 'section[data-comparison="treatment-vs-control"] table tbody td:first-child');
      expect(rows).toContain(`retain × ${HOSTILE}`);
      const labels = await texts(r.p, 'section[data-comparison="treatment-vs-control"] svg .role-axis-label text');
      expect(labels.some((l) => l.includes(HOSTILE))).toBe(true);
    } finally {
      await r.close();
    }
  });

  it('portfolio --html: segment bars, the six flows and the table, from the file alone', async () => {
    const transactions = join(dir, 'portfolio.ndjson');
    const made = await cli(
      'demo-data',
      '--transactions',
      '--customers',
      '600',
      '--seed',
      '3',
      '--as-of',
      '2026-03-01',
      '--out',
      transactions,
    );
    expect(made.code, made.stderr).toBe(0);
    const file = join(dir, 'portfolio.html');
    const [html, json] = await Promise.all([
      cli('portfolio', '--transactions', transactions, '--as-of', '2026-03-01', '--html', file),
      cli('portfolio', '--transactions', transactions, '--as-of', '2026-03-01', '--json'),
    ]);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toMatch(/^Customer portfolio as of 2026-03-01/);
    const doc = JSON.parse(json.stdout) as {
      flows: Record<string, number>;
      segments: { segment: string; customers: number }[];
    };
    const r = await openReport(browser, file);
    try {
      await screenshot(r.p, 'portfolio-report');
      expect(r.requests).toEqual([r.url]);
      expect(r.errors).toEqual([]);
      expect(await r.p.locator('script').count()).toBe(0);
      expect(await marks(r.p, 'figure[data-chart="segments"]', 'bar')).toBe(2 * doc.segments.length);
      expect(await marks(r.p, 'figure[data-chart="flows"]', 'bar')).toBe(6);
      const bars = await r.p
        .locator('figure[data-chart="flows"] svg [aria-roledescription="bar"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
      const f = doc.flows;
      for (const [flow, n] of [
        ['active at start', f.activeAtStart],
        ['retained', f.retained],
        ['lost', f.lost],
        ['regained', f.regained],
        ['new', f.new],
        ['active at end', f.activeAtEnd],
      ] as const)
        expect(
          bars.some((b) => b.includes(`flow: ${flow};`) && b.includes(`customers: ${n!.toLocaleString('en-US')}`)),
        ).toBe(true);
      expect(await texts(r.p, 'table.portfolio tbody td:first-child')).toEqual(doc.segments.map((s) => s.segment));
      expect(await texts(r.p, 'table.portfolio tfoot td:first-child')).toEqual(['total']);
      const customers = await texts(r.p, 'table.portfolio tbody td:nth-child(2)');
      expect(customers).toEqual(doc.segments.map((s) => s.customers.toLocaleString('en-US')));
    } finally {
      await r.close();
    }
  });

  it('refuses --html without a file as a usage error, and an unwritable one with 1', async () => {
    const r = await cli('portfolio', '--transactions', join(dir, 'none.ndjson'), '--html');
    expect(r.code).toBe(2);
    const bad = await cli(
      'impact',
      '--decisions',
      join(dir, 'decisions.ndjson'),
      '--transactions',
      join(dir, 'transactions.ndjson'),
      '--html',
      join(dir, 'no-such-folder', 'r.html'),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^impact: cannot write /m);
  });
});
