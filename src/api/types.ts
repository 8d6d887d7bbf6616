import type { Scope } from '../config.js';

/** Variables routes share through the hono context. */
export interface AppEnv {
  Variables: { scope?: Scope };
}
