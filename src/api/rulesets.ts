import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AuditTrail } from '../rules/audit.js';
import type { ChangeResult, RuleSetManager } from '../rules/manager.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import { problemResponse } from './schemas.js';
import type { AppEnv } from './types.js';

const Issue = z.object({
  file: z.string().describe('relative to the rule-set folder'),
  line: z.number().int(),
  column: z.number().int(),
  path: z.string().describe('JSON Pointer of the value in the file'),
  message: z.string(),
});

const Warnings = z
  .array(Issue)
  .describe(
    'what the checks found valid but almost certainly not meant: an offer that can never be eligible, a treatment missing for a channel, two offers alike, a policy rule that governs nothing',
  );

/** The fields of a rule-file issue the API shows. */
const issueOf = (e: z.infer<typeof Issue>) => ({
  file: e.file,
  line: e.line,
  column: e.column,
  path: e.path,
  message: e.message,
});

const Change = z
  .object({
    changed: z.boolean().describe('false when the folder (or the version asked for) was already active'),
    version: z.string().describe('the version now active'),
    previous: z.string().nullable(),
    summary: z.string().describe('offers added, removed and changed; which other files changed'),
    warnings: Warnings,
  })
  .openapi('RuleSetChange');

const Audit = z.object({
  at: z.string(),
  who: z.string(),
  requestId: z.string().optional().describe('the X-Request-Id of the API request that asked'),
  action: z.enum(['reload', 'activate']),
  result: z.enum(['activated', 'rolled_back', 'refused']),
  version: z.string(),
  previous: z.string().nullable(),
  hash: z.string().nullable(),
  summary: z.string(),
});

const Listing = z
  .object({
    active: z.string().nullable(),
    versions: z.array(
      z.object({
        version: z.string(),
        hash: z.string(),
        loadedAt: z.string(),
        offers: z.number().int(),
        active: z.boolean(),
        warnings: Warnings,
      }),
    ),
    lastError: z
      .object({
        at: z.string(),
        errors: z.array(Issue),
      })
      .nullable()
      .describe('why the last reload was refused; null once a reload succeeds'),
    audit: z.array(Audit).describe('the newest changes first (up to 100)'),
  })
  .openapi('RuleSets');

const errors = {
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('The key lacks the admin scope'),
};
const security = [{ apiKey: [] }];

const listRoute = createRoute({
  method: 'get',
  path: '/v1/rulesets',
  tags: ['rulesets'],
  summary: 'The active rule-set version, the versions loaded, the last refusal and the audit trail',
  security,
  responses: {
    200: { description: 'Rule-set versions', content: { 'application/json': { schema: Listing } } },
    ...errors,
  },
});
const reloadRoute = createRoute({
  method: 'post',
  path: '/v1/rulesets/reload',
  tags: ['rulesets'],
  summary: 'Read RULES_DIR again and activate it in one step, or refuse it with every error',
  security,
  responses: {
    200: { description: 'Activated (or unchanged)', content: { 'application/json': { schema: Change } } },
    422: problemResponse(
      'Invalid rule files: every error with file, line and column; the previous version keeps serving',
    ),
    ...errors,
  },
});
const activateRoute = createRoute({
  method: 'post',
  path: '/v1/rulesets/{version}/activate',
  tags: ['rulesets'],
  summary: 'Serve a version loaded before (roll back, or forward again)',
  security,
  request: {
    params: z.object({
      version: z.string().openapi({ param: { name: 'version', in: 'path' }, example: '2026.11.0+14bf0a77' }),
    }),
  },
  responses: {
    200: { description: 'Activated', content: { 'application/json': { schema: Change } } },
    404: problemResponse('No such loaded version'),
    ...errors,
  },
});

const ACTOR = /^[\x20-\x7e]{1,64}$/;

/** Who asked, for the audit log: the key's scope and fingerprint, and the actor the caller names. */
function who(c: Context<AppEnv>): string {
  const key = c.get('scope') ? `api ${c.get('scope')} key ${c.get('keyId')}` : 'api (no API keys set)';
  const actor = c.req.header('x-nextbest-actor');
  return actor && ACTOR.test(actor) ? `${key}, ${actor}` : key;
}

export function registerRulesets(
  app: OpenAPIHono<AppEnv>,
  registry: RuleSetRegistry,
  manager: RuleSetManager,
  trail: AuditTrail,
): void {
  for (const route of [listRoute, reloadRoute, activateRoute]) app.openAPIRegistry.registerPath(route);
  app.get(listRoute.path, (c) => {
    const active = registry.active?.version ?? null;
    return c.json({
      active,
      versions: registry.versions().map((r) => ({
        version: r.version,
        hash: r.hash,
        loadedAt: r.loadedAt,
        offers: r.offers.length,
        active: r.version === active,
        warnings: r.warnings.map(issueOf),
      })),
      lastError: registry.lastError && {
        at: registry.lastError.at,
        errors: registry.lastError.errors.map(issueOf),
      },
      audit: trail.latest(),
    });
  });
  const answer = (change: ChangeResult) => ({ ...change, warnings: change.warnings.map(issueOf) });
  app.post(reloadRoute.path, async (c) =>
    c.json(answer(await manager.reload(who(c), { requestId: c.get('requestId') })), 200),
  );
  app.post('/v1/rulesets/:version/activate', async (c) =>
    c.json(answer(await manager.activate(c.req.param('version'), who(c), c.get('requestId'))), 200),
  );
}
