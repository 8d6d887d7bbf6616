import { availableParallelism } from 'node:os';
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65535);
const HostPort = z
  .string()
  .regex(/^[^\s:,]+:\d{1,5}$/, 'host:port')
  .refine((node) => Number(node.slice(node.lastIndexOf(':') + 1)) <= 65535, 'a port from 0 to 65535');
const csv = (s: string) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);

/** public: web pages (by customer token); decide: back ends; agent: the agent panel (decide, and profile summaries); admin: everything. */
export const SCOPES = ['public', 'decide', 'agent', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a key may hold: printable ASCII without spaces, so it travels unchanged in an Authorization header. */
const KEY_CHARACTERS = /^[\x21-\x7e]+$/;

/** An entry of API_KEYS as a message names it: its place, scope and first characters, never the whole key. */
const entryName = (n: number, scope: string, key: string) =>
  `entry ${n} (${scope}:${key.slice(0, 4)}…${key.length > 4 ? `, ${key.length} characters` : ''})`;

const ApiKeys = z.string().transform((raw, ctx) => {
  const keys = new Map<string, Scope>();
  const where = new Map<string, number>();
  csv(raw).forEach((pair, i) => {
    const n = i + 1;
    const at = pair.indexOf(':');
    const scope = pair.slice(0, at) as Scope;
    const key = pair.slice(at + 1);
    if (at < 0 || !SCOPES.includes(scope) || key.length < 16) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${n} ("${at < 0 ? pair.slice(0, 12) : scope}…"): expected scope:key with scope public, decide, agent or admin and a key of at least 16 characters`,
      });
      return;
    }
    if (!KEY_CHARACTERS.test(key)) {
      ctx.addIssue({
        code: 'custom',
        message: `${entryName(n, scope, key)}: a key holds printable ASCII characters only, no spaces — as configured it could never be sent`,
      });
      return;
    }
    const before = keys.get(key);
    if (before !== undefined && before !== scope) {
      ctx.addIssue({
        code: 'custom',
        message: `${entryName(n, scope, key)}: the same key as entry ${where.get(key)} (${before}); a key has one scope`,
      });
      return;
    }
    keys.set(key, scope);
    if (!where.has(key)) where.set(key, n);
  });
  return keys;
});

/** Requests per key per minute by scope, and per customer token (`customer`); 0 leaves one unlimited. */
const RateLimits = z.string().transform((raw, ctx) => {
  const limits: Partial<Record<Scope | 'customer', number>> = {};
  for (const pair of csv(raw)) {
    const m = /^(public|decide|agent|admin|customer):(\d{1,10})$/.exec(pair);
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: `"${pair}": expected scope:requests-per-minute, scope public, decide, agent, admin or customer`,
      });
      return z.NEVER;
    }
    const n = Number(m[2]);
    const scope = m[1] as Scope | 'customer';
    if (n > 0) limits[scope] = n;
    else delete limits[scope];
  }
  return limits;
});

const Origins = z.string().transform((raw, ctx) => {
  const origins = csv(raw);
  for (const o of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) {
      ctx.addIssue({ code: 'custom', message: `"${o}" is not an origin like https://shop.example.com` });
      return z.NEVER;
    }
  }
  return origins;
});

/** The environment the service reads, once, at boot (contract's table plus the demo population knobs). */
export const EnvSchema = z.object({
  PORT: Port.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  RULES_DIR: z.string().min(1).default('./rules'),
  PROFILE_STORE: z.enum(['memory', 'redis']).default('memory'),
  PROFILES_FILE: z.string().min(1).optional(),
  DEMO_CUSTOMERS: z.coerce.number().int().min(0).max(5_000_000).default(10_000),
  DEMO_SEED: z.coerce.number().int().default(42),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: z.string().transform(csv).pipe(z.array(HostPort).min(1)).optional(),
  WORKERS: z.coerce.number().int().min(0).max(256).optional(),
  API_KEYS: ApiKeys.optional(),
  CUSTOMER_TOKEN_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CUSTOMER_TOKEN_AUDIENCE: z.string().min(1).max(128).optional(),
  CORS_ORIGINS: Origins.optional(),
  OPS_AUTH: z.enum(['none', 'admin']).default('none'),
  PUBLIC_CHANNELS: z
    .string()
    .transform(csv)
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel name')).min(1))
    .default(['web']),
  RATE_LIMITS: RateLimits.default(RateLimits.parse('public:60000,customer:300,decide:600000,agent:60000,admin:6000')),
  /** failed authentications (401s) one client address may make a minute before it is refused with 429; 0: no limit */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(60),
  /** the header a trusted proxy writes the client's address in (x-forwarded-for); unset: the socket's address */
  TRUSTED_PROXY_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'a header name, like x-forwarded-for')
    .transform((h) => h.toLowerCase())
    .optional(),
  /** how many trusted proxies add to that header: the entry this many from the right is the client's */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(1).max(10).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** json: one JSON object a line; pretty: lines for a person; unset: pretty when stdout is a terminal, else json */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  PROFILE_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  PROFILE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(60_000),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{0,32}$/, 'up to 32 characters of A-Za-z0-9:._-')
    .default('nb:'),
  REDIS_DEADLINE_MS: z.coerce.number().int().min(1).max(10_000).default(15),
  REDIS_WRITE_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(500),
  RESPONSE_BUFFER_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  DECISION_LOG_MAXLEN: z.coerce.number().int().min(0).default(1_000_000),
  DECISION_LOG_DIR: z.string().min(1).default('./data/decisions'),
  TRANSACTIONS_PATH: z.string().min(1).optional(),
  RULES_MAX_FILE_MB: z.coerce.number().positive().max(1_000).default(1),
  RULES_MAX_SET_MB: z.coerce.number().positive().max(10_000).default(10),
  RULES_MAX_OFFERS: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
  RULES_MAX_CONDITIONS: z.coerce.number().int().min(1).max(100_000_000).default(100_000),
  RULES_MAX_OFFER_CONDITIONS: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  RULES_RELOAD_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  RULES_RELOAD_HEAP_MB: z.coerce.number().int().min(64).max(16_384).default(512),
  RULESET_VERSIONS: z.coerce.number().int().min(1).max(1_000).default(50),
  RULESET_VERSIONS_MB: z.coerce.number().int().min(1).max(100_000).default(256),
  SPOOL_DIR: z.string().min(1).default('./data/spool'),
  OUTBOUND_DIR: z.string().min(1).default('./data/outbound'),
  OUTBOUND_BATCH: z.coerce.number().int().min(10).max(10_000).default(250),
  OUTBOUND_REST: z.coerce.number().min(0).max(10).default(3),
  DECISION_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(400),
  DECISION_LOG_MAX_FILE_MB: z.coerce.number().int().min(1).max(100_000).default(256),
  RESPONSE_WINDOW_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(120),
  CHALLENGER_RULES_DIR: z.string().min(1).optional(),
  CHALLENGER_SHARE: z.coerce.number().min(0).max(1).default(0.1),
  LEARNING_SYNC_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(8_000).default(0),
  /** the request's headers must arrive within it; 408 past it */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
  /** the whole request, body included, must arrive within it; 408 past it */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** an idle keep-alive connection is kept this long: above the idle timeouts of the proxies in front (60 s for AWS ALB and nginx) */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(65_000),
  RULES_WATCH: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type Config = Readonly<Omit<z.output<typeof EnvSchema>, 'WORKERS'>> & {
  /** as set, or the default: 0 (one per core) in production with Redis, else 1 */
  readonly WORKERS: number;
  /** the worker processes to run */
  readonly workers: number;
};

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the variables a schema names; empty strings count as unset. */
function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.output<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'environment')}: ${i.message}`));
  }
  return parsed.data;
}

const RuleLimitsSchema = EnvSchema.pick({
  RULES_MAX_FILE_MB: true,
  RULES_MAX_SET_MB: true,
  RULES_MAX_OFFERS: true,
  RULES_MAX_CONDITIONS: true,
  RULES_MAX_OFFER_CONDITIONS: true,
});

/** What a rule set may weigh (the RULES_MAX_* variables), for the server and the CLI alike. */
export function ruleLimits(env: Pick<z.output<typeof RuleLimitsSchema>, keyof z.output<typeof RuleLimitsSchema>>) {
  return {
    fileBytes: Math.round(env.RULES_MAX_FILE_MB * 1024 * 1024),
    setBytes: Math.round(env.RULES_MAX_SET_MB * 1024 * 1024),
    offers: env.RULES_MAX_OFFERS,
    conditions: env.RULES_MAX_CONDITIONS,
    offerConditions: env.RULES_MAX_OFFER_CONDITIONS,
  };
}

/** The rule limits from the environment alone (the command line's checks). */
export function loadRuleLimits(env: Env = process.env) {
  return ruleLimits(parseEnv(RuleLimitsSchema, env));
}

const RedisEnvSchema = EnvSchema.pick({ REDIS_URL: true, REDIS_CLUSTER_NODES: true, REDIS_KEY_PREFIX: true });
export type RedisEnv = Readonly<z.output<typeof RedisEnvSchema>>;

/** Only the Redis connection settings, for commands that talk to Redis without serving. */
export function loadRedisEnv(env: Env = process.env): RedisEnv {
  return Object.freeze(parseEnv(RedisEnvSchema, env));
}

/** Validates the environment; empty strings count as unset. */
export function loadConfig(env: Env = process.env): Config {
  const data = parseEnv(EnvSchema, env);
  if (data.PROFILE_STORE === 'redis' && data.PROFILES_FILE) {
    throw new ConfigError([
      'PROFILES_FILE: preloads the memory store only; with PROFILE_STORE=redis load profiles with `nextbest profiles import FILE`',
    ]);
  }
  const scopes = new Set(data.API_KEYS?.values());
  if (scopes.has('public') && !data.CUSTOMER_TOKEN_SECRET) {
    throw new ConfigError([
      'CUSTOMER_TOKEN_SECRET: a public key identifies customers by signed customer tokens; set the secret the site signs them with (at least 32 characters)',
    ]);
  }
  if (data.TRUSTED_PROXY_HOPS !== undefined && data.TRUSTED_PROXY_HEADER === undefined) {
    throw new ConfigError(['TRUSTED_PROXY_HOPS: counts the proxies that add to TRUSTED_PROXY_HEADER, which is unset']);
  }
  if (data.HTTP_HEADERS_TIMEOUT_MS > data.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError([
      `HTTP_HEADERS_TIMEOUT_MS: the headers are part of the request, so at most HTTP_REQUEST_TIMEOUT_MS (${data.HTTP_REQUEST_TIMEOUT_MS})`,
    ]);
  }
  if (data.OPS_AUTH === 'admin' && !scopes.has('admin')) {
    throw new ConfigError(['OPS_AUTH: admin puts /metrics and /docs behind an admin key, but API_KEYS has none']);
  }
  // every core by default in production, where shared state (Redis) keeps the workers' answers
  // the same; one process in development, and with the memory store, whose state is per process
  const WORKERS = data.WORKERS ?? (env.NODE_ENV === 'production' && data.PROFILE_STORE === 'redis' ? 0 : 1);
  const workers = WORKERS === 0 ? availableParallelism() : WORKERS;
  return Object.freeze({ ...data, WORKERS, workers });
}
