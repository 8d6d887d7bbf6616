import type { OpenAPIHono } from '@hono/zod-openapi';
import type { DecisionLog } from '../decision-log/store.js';
import type { Metrics } from '../ops/metrics.js';
import type { RedisHealths } from '../redis/index.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { AppEnv } from './types.js';

interface OpsServices {
  readonly rules: RuleSetRegistry;
  readonly metrics: Metrics;
  readonly readiness: { readonly draining: boolean };
  readonly profiles: { readonly kind: string };
  readonly redis: RedisHealths | undefined;
  readonly decisionLog: Pick<DecisionLog, 'status'>;
}

/**
 * Liveness, readiness and Prometheus metrics: no auth, so probes and scrapers need no key.
 * Redis being away does not make the node unready: it still answers, from its cache and the
 * fallback offers, and taking every node out of a balancer would answer nothing at all.
 */
export function registerOps(app: OpenAPIHono<AppEnv>, s: OpsServices): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const active = s.rules.active;
    const ready = active !== undefined && !s.readiness.draining;
    const redis = s.redis && { read: s.redis.read.status(), write: s.redis.write.status() };
    const decisionLog = s.decisionLog.status?.();
    const body = {
      status: ready ? 'ready' : 'not ready',
      rulesetVersion: active?.version ?? null,
      draining: s.readiness.draining,
      profileStore: s.profiles.kind,
      degraded: (redis ? !redis.read.up || !redis.write.up : false) || decisionLog?.ok === false,
      ...(redis && { redis }),
      ...(decisionLog && { decisionLog }),
    };
    return c.json(body, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const text = await s.metrics.registry.metrics();
    return c.body(text, 200, { 'content-type': s.metrics.registry.contentType });
  });
}
