import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { ResponseEventInput } from '../../src/feedback/schema.js';
import { testApp } from './app.js';
import { ROOT } from './process.js';

/** Debian's chromium; CHROMIUM_PATH for another build. A missing browser fails the tests, never skips them. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots from the browser tests (git-ignored). */
export const ARTIFACTS = `${ROOT}test-artifacts/screenshots`;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/**
 * A fresh browser context on `url`, with the page's uncaught errors collected; `prepare` runs
 * before the page loads (routes, init scripts).
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: { viewport?: { width: number; height: number }; prepare?: (p: Page) => Promise<unknown> } = {},
) {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 700 } });
  const p = await context.newPage();
  const errors: string[] = [];
  p.on('pageerror', (err) => errors.push(err.message));
  await options.prepare?.(p);
  await p.goto(url);
  return { p, errors, close: () => context.close() };
}

const listening = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/**
 * The real app on a real socket, with every response event it receives kept for the test to
 * read (the events are recorded as usual).
 */
export async function liveApp(env: Record<string, string> = {}) {
  const t = await testApp(env);
  const events: ResponseEventInput[] = [];
  const responses = t.services.responses;
  const record = responses.record.bind(responses);
  responses.record = (inputs) => {
    events.push(...inputs);
    return record(inputs);
  };
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
  });
  return {
    ...t,
    base: listening(server),
    events,
    async close() {
      await new Promise((r) => server.close(r));
      server.closeAllConnections?.();
      await t.services.close();
    },
  };
}

/** A host site on its own origin: `pages` by path; any other path answers a plain page. */
export async function hostSite(pages: Record<string, string>) {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(pages[path] ?? `<!doctype html><title>${path}</title><h1>page ${path}</h1>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: listening(server),
    close: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      }),
  };
}

/** Polls until `check` holds; fails with `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
