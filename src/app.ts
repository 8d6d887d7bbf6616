import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import { malformedJsonBody } from './api/body.js';
import {
  type AppEnv,
  type AuthFailureBudget,
  authFailureGuard,
  bodyLimits,
  browserCors,
  clientAddress,
  fromZod,
  type ImpactReports,
  keyTable,
  type Needed,
  problem,
  registerDecisionLog,
  registerDecisions,
  registerDocs,
  registerFrontEnds,
  registerOps,
  registerOutbound,
  registerProfiles,
  registerReports,
  registerResponses,
  registerRulesets,
  requestIds,
  requireScope,
  toApiError,
} from './api/index.js';
import { allowedMethods, noRoute, requestSchemas } from './api/problem.js';
import { PROFILE_PATH } from './api/profiles.js';
import { publicRequestCounter, rateLimit } from './api/rate-limit.js';
import { RememberingRouter } from './api/router.js';
import type { Config } from './config.js';
import type { ContactStore } from './contacts/store.js';
import type { DecisionService } from './decision/index.js';
import type { DecisionLog } from './decision-log/store.js';
import { ApiError } from './errors.js';
import type { Kpis, ResponseService } from './feedback/index.js';
import type { DemoCustomer } from './offline/demo/profiles.js';
import type { Metrics } from './ops/metrics.js';
import type { OutboundRuns } from './outbound/index.js';
import type { ProfileStore } from './profiles/index.js';
import type { WindowCounts } from './rate-windows/store.js';
import type { RedisHealths } from './redis/index.js';
import type { AuditTrail, RuleSetManager, RuleSetRegistry } from './rules/index.js';

export interface Services {
  readonly config: Pick<
    Config,
    | 'API_KEYS'
    | 'CORS_ORIGINS'
    | 'CUSTOMER_TOKEN_SECRET'
    | 'CUSTOMER_TOKEN_AUDIENCE'
    | 'OPS_AUTH'
    | 'RATE_LIMITS'
    | 'PUBLIC_CHANNELS'
    | 'TRUSTED_PROXY_HEADER'
    | 'TRUSTED_PROXY_HOPS'
  >;
  readonly rules: RuleSetRegistry;
  readonly manager: RuleSetManager;
  readonly audit: AuditTrail;
  readonly profiles: ProfileStore;
  readonly decisions: DecisionService;
  readonly responses: ResponseService;
  readonly kpis: Kpis;
  /** the impact report, when TRANSACTIONS_PATH names the transactions */
  readonly impact: ImpactReports | undefined;
  /** requests per API key per minute, for the rate limits */
  readonly rateWindows: WindowCounts;
  /** failed authentications per client address per minute (AUTH_FAILURES_PER_MINUTE); undefined for 0 */
  readonly authFailures: AuthFailureBudget | undefined;
  /** present when PROFILE_STORE=redis */
  readonly redis: RedisHealths | undefined;
  /** every decision, and the recent ones found by id */
  readonly decisionLog: DecisionLog;
  /** each customer's contact history and state */
  readonly contacts: ContactStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly readiness: { draining: boolean };
  /** the weeks' outbound runs */
  readonly outbound: OutboundRuns;
  /** customers the demo pages offer to pick: from the generated demo population only, never from real profiles */
  readonly demoCustomers: readonly DemoCustomer[];
  readonly version: string;
  /** Flushes buffered writes and closes connections, at shutdown; false when some buffered response events could not be written. */
  close(): Promise<boolean>;
}

/** What OPS_AUTH=admin puts behind the admin key; /healthz and /readyz stay open for probes. */
const OPS_PATHS = ['/metrics', '/openapi.json', '/docs', '/docs/*'] as const;

/** Wires routes to services; nothing here decides anything. */
/** Was the request's body cut off before its end (the client went away, or the request timed out)? */
function bodyCutOff(env: unknown): boolean {
  const incoming = (env as { incoming?: { complete?: boolean; destroyed?: boolean } } | undefined)?.incoming;
  return incoming !== undefined && incoming.destroyed === true && incoming.complete === false;
}

export function createApp(s: Services): OpenAPIHono<AppEnv> {
  // the schemas of the routes' requests, known once every route is registered (below)
  let schemaOf: ReturnType<typeof requestSchemas> = () => undefined;
  let allowed: ReturnType<typeof allowedMethods> = () => [];
  const app = new OpenAPIHono<AppEnv>({
    router: new RememberingRouter(),
    defaultHook: (result, c) => {
      if (!result.success)
        return problem(
          c,
          fromZod(
            result.error,
            result.target === 'json' ? 'request body' : `request ${result.target}`,
            schemaOf(c.req.method, c.req.routePath, result.target),
            // the validator hands the hook the input it validated
            (result as { data?: unknown }).data,
          ),
        );
    },
  });

  app.onError(async (err, c) => {
    // a body cut off by its client, or by the request timeout: nothing went wrong here
    if (bodyCutOff(c.env)) {
      s.log.info({ path: c.req.path, requestId: c.get('requestId') }, 'the request body stopped before its end');
      return problem(c, new ApiError('invalid_request', 'the request body stopped before its end'));
    }
    const apiError = (await malformedJsonBody(err, c)) ?? toApiError(err);
    if (apiError.code === 'internal')
      s.log.error({ err, path: c.req.path, requestId: c.get('requestId') }, 'unexpected error');
    if (apiError.code === 'unauthorized') c.header('www-authenticate', 'Bearer realm="nextbest"');
    s.metrics.problems.slot(apiError.code).n++;
    return problem(c, apiError);
  });
  // a path some route takes with other methods: 405 with Allow; else 404
  app.notFound((c) => problem(c, noRoute(c.req.method, c.req.path, allowed(c.req.path))));

  // first: every answer, problems included, carries it
  app.use('*', requestIds());
  const keys = s.config.API_KEYS ? keyTable(s.config.API_KEYS) : undefined;
  const corsGuard = browserCors(s.config.CORS_ORIGINS);
  if (corsGuard) {
    app.use('/v1/decisions', corsGuard);
    app.use('/v1/responses', corsGuard);
  }
  app.use('/v1/*', bodyLimits());
  if (keys) {
    // before each key check: an address that spent its failed authentications is refused unhashed
    const budget =
      s.authFailures &&
      authFailureGuard(
        s.authFailures,
        clientAddress({ header: s.config.TRUSTED_PROXY_HEADER, hops: s.config.TRUSTED_PROXY_HOPS }),
      );
    const guard = (path: string, needed: Needed | ((method: string, path: string) => Needed)) => {
      if (budget) app.use(path, budget);
      app.use(path, requireScope(keys, needed));
    };
    // a web page's public key reaches these two only, and only with a customer token
    guard('/v1/decisions', 'public');
    guard('/v1/responses', 'public');
    guard('/v1/decisions/:decisionId', 'admin');
    // an agent key reads a profile (its summary); the rest of the profiles is the admin's
    guard('/v1/profiles/*', (method, path) => (method === 'GET' && PROFILE_PATH.test(path) ? 'agent' : 'admin'));
    guard('/v1/reports/*', 'admin');
    guard('/v1/rulesets', 'admin');
    guard('/v1/rulesets/*', 'admin');
    guard('/v1/outbound/*', 'admin');
    if (s.config.OPS_AUTH === 'admin') for (const path of OPS_PATHS) guard(path, 'admin');
    // after the key checks, which name the key
    app.use('*', rateLimit(s.config.RATE_LIMITS, s.rateWindows));
  }

  const publicAccess = {
    secret: s.config.CUSTOMER_TOKEN_SECRET,
    audience: s.config.CUSTOMER_TOKEN_AUDIENCE,
    channels: s.config.PUBLIC_CHANNELS,
    count: publicRequestCounter(s.config.RATE_LIMITS, s.rateWindows),
  };
  registerDecisions(app, s.decisions, publicAccess);
  registerDecisionLog(app, s.decisionLog, s.contacts, s.rules, s.profiles);
  registerResponses(app, s.responses, s.rules, publicAccess);
  registerProfiles(app, s.profiles, s.metrics);
  registerReports(app, s.kpis, s.impact);
  registerRulesets(app, s.rules, s.manager, s.audit);
  registerOutbound(app, s.outbound);
  registerOps(app, s);
  registerDocs(app, s.version);
  registerFrontEnds(app, s.demoCustomers, keys !== undefined);
  schemaOf = requestSchemas(app.openAPIRegistry.definitions);
  allowed = allowedMethods(app.routes);
  return app;
}
