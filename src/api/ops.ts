import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Metrics } from '../ops/metrics.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { AppEnv } from './types.js';

/** Liveness, readiness and Prometheus metrics: no auth, so probes and scrapers need no key. */
export function registerOps(app: OpenAPIHono<AppEnv>, rules: RuleSetRegistry, metrics: Metrics, readiness: { draining: boolean }): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const active = rules.active;
    const ready = active !== undefined && !readiness.draining;
    const body = {
      status: ready ? 'ready' : 'not ready',
      rulesetVersion: active?.version ?? null,
      draining: readiness.draining,
    };
    return c.json(body, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.body(text, 200, { 'content-type': metrics.registry.contentType });
  });
}
