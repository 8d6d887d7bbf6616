import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { Logger } from 'pino';
import { fromZod, problem, registerDecisions, registerDocs, registerOps, registerProfiles, requireScope, toApiError, type AppEnv } from './api/index.js';
import { ApiError } from './errors.js';
import type { Config } from './config.js';
import type { DecisionService } from './decision/index.js';
import type { Metrics } from './ops/metrics.js';
import type { ProfileStore } from './profiles/index.js';
import type { RuleSetRegistry } from './rules/index.js';

export const BODY_LIMIT_BYTES = 64 * 1024;
export const BULK_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export interface Services {
  readonly config: Pick<Config, 'API_KEYS' | 'CORS_ORIGINS'>;
  readonly rules: RuleSetRegistry;
  readonly profiles: ProfileStore;
  readonly decisions: DecisionService;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly readiness: { draining: boolean };
  readonly version: string;
}

const limit = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError('payload_too_large', `the body is over ${maxSize} bytes`);
    },
  });

/** Wires routes to services; nothing here decides anything. */
export function createApp(s: Services): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return problem(c, fromZod(result.error, result.target === 'json' ? 'request body' : `request ${result.target}`));
    },
  });

  app.onError((err, c) => {
    const apiError = toApiError(err);
    if (apiError.code === 'internal') s.log.error({ err, path: c.req.path }, 'unexpected error');
    if (apiError.code === 'unauthorized') c.header('www-authenticate', 'Bearer realm="nextbest"');
    s.metrics.problems.labels(apiError.code).inc();
    return problem(c, apiError);
  });
  app.notFound((c) => problem(c, new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`)));

  const keys = s.config.API_KEYS;
  const origins = s.config.CORS_ORIGINS ?? [];
  const browserCors = cors({ origin: (o) => (origins.includes(o) ? o : null), allowHeaders: ['authorization', 'content-type'], allowMethods: ['POST', 'OPTIONS'], maxAge: 600 });
  app.use('/v1/decisions', browserCors);
  app.use('/v1/responses', browserCors);

  const smallBody = limit(BODY_LIMIT_BYTES);
  const bulkBody = limit(BULK_BODY_LIMIT_BYTES);
  app.use('/v1/*', (c, next) => (c.req.path === '/v1/profiles/bulk' ? bulkBody(c, next) : smallBody(c, next)));
  app.use('/v1/decisions', requireScope(keys, 'decide'));
  app.use('/v1/profiles/*', requireScope(keys, 'admin'));

  registerDecisions(app, s.decisions);
  registerProfiles(app, s.profiles, s.metrics);
  registerOps(app, s.rules, s.metrics, s.readiness);
  registerDocs(app, s.version);
  return app;
}
