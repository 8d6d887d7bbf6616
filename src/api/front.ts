import { readFileSync } from 'node:fs';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { DemoCustomer } from '../offline/demo/profiles.js';
import type { AppEnv } from './types.js';

/** The front ends are plain files in web/, read once at start (they are small). */
const WEB_DIR = new URL('../../web/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, WEB_DIR), 'utf8');

/** The demo pages load only their own scripts and styles, and talk only to this service. */
const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // the widget adds one <style> element of its own
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'content-security-policy': DEMO_CSP,
  'referrer-policy': 'no-referrer',
} as const;

const FILES = {
  '/widget.js': { file: 'widget.js', type: 'text/javascript; charset=utf-8' },
  '/favicon.ico': { file: 'favicon.svg', type: 'image/svg+xml' },
  '/demo/web': { file: 'demo-web.html', type: 'text/html; charset=utf-8' },
  '/demo/agent': { file: 'agent.html', type: 'text/html; charset=utf-8' },
  '/demo/agent.js': { file: 'agent.js', type: 'text/javascript; charset=utf-8' },
  '/demo/shop.js': { file: 'shop.js', type: 'text/javascript; charset=utf-8' },
  '/demo/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
} as const;

/** Where the demo shop's tips lead: the shop's own pages, which the demo has not, stand in here. */
export const DEMO_SITE = '/demo/site';
/** A path of the host site a tip may link to: segments of URL-safe characters, no dot segments. */
const SITE_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._~-]+)+\/?$/;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The page that stands in for a shop page a demo tip links to (the rules' ctaUrl, unchanged). */
function standIn(path: string): string {
  const shown = escapeHtml(path);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shown} — Northwind Mobile (demo shop)</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/demo/demo.css">
</head>
<body>
<header class="bar"><h1>Northwind Mobile <span class="muted">(demo shop)</span></h1></header>
<main>
  <section class="stand-in" aria-labelledby="stand-in-heading">
    <h2 id="stand-in-heading">This is where the offer page would be</h2>
    <p>The tip you followed links to <code>${shown}</code> on the shop’s own site. This demo shop has no such page, so this one stands in for it: on a real site, the offer’s own page opens here.</p>
    <p>The widget recorded your click on the tip as a response to its decision.</p>
    <p><a href="/demo/web">← Back to the demo shop</a></p>
  </section>
</main>
</body>
</html>
`;
}

/**
 * GET /widget.js (embeddable on any site: a script tag needs no CORS), the demo shop page
 * /demo/web, the agent panel /demo/agent with their assets, /demo/customers: a few customers
 * of the generated demo population to pick from (an empty list for real profiles) and whether
 * an API key is needed, the pages
 * under /demo/site that stand in for the shop pages its tips link to, and /favicon.ico.
 */
export function registerFrontEnds(
  app: OpenAPIHono<AppEnv>,
  customers: readonly DemoCustomer[],
  /** API_KEYS is set: the agent panel asks for a key before its first look-up */
  keysRequired: boolean,
): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = read(file);
    const isPage = type.startsWith('text/html');
    const headers: Record<string, string> = {
      'content-type': type,
      'cache-control':
        path === '/widget.js' ? 'public, max-age=300' : path === '/favicon.ico' ? 'public, max-age=86400' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(path === '/widget.js' ? { 'cross-origin-resource-policy': 'cross-origin' } : {}),
      ...(isPage ? PAGE_HEADERS : {}),
      // an image: it runs nothing and loads nothing
      ...(path === '/favicon.ico'
        ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }
        : {}),
    };
    app.get(path, (c) => c.body(body, 200, headers));
  }
  app.get(`${DEMO_SITE}/*`, (c) => {
    const path = c.req.path.slice(DEMO_SITE.length);
    if (path.length > 256 || !SITE_PATH.test(path)) return c.notFound();
    return c.body(standIn(path), 200, { 'content-type': 'text/html; charset=utf-8', ...PAGE_HEADERS });
  });
  const list = JSON.stringify({ customers, keysRequired });
  app.get('/demo/customers', (c) =>
    c.body(list, 200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }),
  );
}
