import { availableParallelism } from 'node:os';
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65535);
const HostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'host:port');
const csv = (s: string) => s.split(',').map((v) => v.trim()).filter((v) => v.length > 0);

export const SCOPES = ['public', 'decide', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const ApiKeys = z.string().transform((raw, ctx) => {
  const keys = new Map<string, Scope>();
  for (const pair of csv(raw)) {
    const at = pair.indexOf(':');
    const scope = pair.slice(0, at) as Scope;
    const key = pair.slice(at + 1);
    if (at < 0 || !SCOPES.includes(scope) || key.length < 16) {
      ctx.addIssue({ code: 'custom', message: `"${at < 0 ? pair.slice(0, 12) : scope}…": expected scope:key with scope public, decide or admin and a key of at least 16 characters` });
      return z.NEVER;
    }
    keys.set(key, scope);
  }
  return keys;
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
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: z.string().transform(csv).pipe(z.array(HostPort).min(1)).optional(),
  WORKERS: z.coerce.number().int().min(0).max(256).default(1),
  API_KEYS: ApiKeys.optional(),
  CUSTOMER_TOKEN_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CORS_ORIGINS: Origins.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PROFILE_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  PROFILE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(60_000),
});

export type Config = Readonly<z.output<typeof EnvSchema>> & { readonly workers: number };

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Validates the environment; empty strings count as unset. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = EnvSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'environment')}: ${i.message}`));
  }
  if (parsed.data.PROFILE_STORE === 'redis') {
    throw new ConfigError(['PROFILE_STORE: "redis" is not available in this version; use "memory"']);
  }
  const workers = parsed.data.WORKERS === 0 ? availableParallelism() : parsed.data.WORKERS;
  return Object.freeze({ ...parsed.data, workers });
}
