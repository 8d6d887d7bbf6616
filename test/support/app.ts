import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { buildServices, createApp } from '../../src/boot.js';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/ops/metrics.js';
import { SHIPPED_RULES } from './rules.js';

/** The real app on the embedded default (memory store, demo population, shipped rules), in process; silent unless given a logger. */
export async function testApp(env: Record<string, string> = {}, log: Logger = pino({ level: 'silent' })) {
  const config = loadConfig({
    DEMO_CUSTOMERS: '2000',
    RULES_DIR: SHIPPED_RULES,
    LOG_LEVEL: 'silent',
    RULES_WATCH: 'false',
    // the embedded default writes its decision log: into a folder of its own, never the checkout
    DECISION_LOG_DIR: mkdtempSync(join(tmpdir(), 'nextbest-decisions-')),
    // and what a stop with Redis away could not write, likewise
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'nextbest-spool-')),
    // a loaded test machine misses the production 15 ms now and then, and a missed read answers
    // a fallback; the tests of the deadline set their own
    REDIS_DEADLINE_MS: '1000',
    ...env,
  });
  const services = await buildServices(config, log, new Metrics({ defaultMetrics: false }));
  const app = createApp(services);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  return { app, services, post };
}
