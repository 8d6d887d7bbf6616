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

const FILES = {
  '/widget.js': { file: 'widget.js', type: 'text/javascript; charset=utf-8' },
  '/demo/web': { file: 'demo-web.html', type: 'text/html; charset=utf-8' },
  '/demo/agent': { file: 'agent.html', type: 'text/html; charset=utf-8' },
  '/demo/agent.js': { file: 'agent.js', type: 'text/javascript; charset=utf-8' },
  '/demo/shop.js': { file: 'shop.js', type: 'text/javascript; charset=utf-8' },
  '/demo/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
} as const;

/**
 * GET /widget.js (embeddable on any site: a script tag needs no CORS), the demo shop page
 * /demo/web, the agent panel /demo/agent with their assets, and /demo/customers: a few
 * customers of the generated demo population to pick from (an empty list for real profiles).
 */
export function registerFrontEnds(app: OpenAPIHono<AppEnv>, customers: readonly DemoCustomer[]): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = read(file);
    const isPage = type.startsWith('text/html');
    const headers: Record<string, string> = {
      'content-type': type,
      'cache-control': path === '/widget.js' ? 'public, max-age=300' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(path === '/widget.js' ? { 'cross-origin-resource-policy': 'cross-origin' } : {}),
      ...(isPage ? { 'content-security-policy': DEMO_CSP, 'referrer-policy': 'no-referrer' } : {}),
    };
    app.get(path, (c) => c.body(body, 200, headers));
  }
  const list = JSON.stringify({ customers });
  app.get('/demo/customers', (c) =>
    c.body(list, 200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }),
  );
}
