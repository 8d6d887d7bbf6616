import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './types.js';

const require = createRequire(import.meta.url);
/**
 * Swagger UI is served from the installed package, so /docs works without internet access. Its
 * dependency @scarf/scarf (install telemetry) never runs: package.json denies its install script
 * (allowScripts, npm 11) and opts out (scarfSettings, for an npm that runs install scripts).
 */
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nextbest API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="docs"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs' });</script>
</body></html>`;

export function registerDocs(app: OpenAPIHono<AppEnv>, version: string): void {
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'nextbest',
      version,
      description: 'Real-time next-best-action decisions. Errors are application/problem+json (RFC 9457).',
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'an API key from API_KEYS',
  });

  app.get('/docs', (c) => c.html(PAGE));
  const cache = new Map<string, string>();
  app.get('/docs/:asset', async (c) => {
    const asset = c.req.param('asset');
    const type = Object.hasOwn(ASSETS, asset) ? ASSETS[asset] : undefined;
    if (!type) return c.notFound();
    let body = cache.get(asset);
    if (body === undefined) {
      body = await readFile(join(SWAGGER_DIR, asset), 'utf8');
      cache.set(asset, body);
    }
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
}
