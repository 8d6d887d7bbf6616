import type { Scope } from '../config.js';

/** Variables routes share through the hono context. */
export interface AppEnv {
  /** scope: the key's; keyId: a fingerprint of the key (never the key), for audit entries; requestId: the request's X-Request-Id */
  Variables: { scope?: Scope; keyId?: string; requestId: string };
}
