import type { Scope } from '../config.js';

/** Variables routes share through the hono context. */
export interface AppEnv {
  /** scope: the key's; keyId: a fingerprint of the key (never the key), for audit entries */
  Variables: { scope?: Scope; keyId?: string };
}
