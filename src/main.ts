import cluster from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { BootError, buildServices, createApp } from './boot.js';
import { type Config, ConfigError, loadConfig } from './config.js';

const SHUTDOWN_GRACE_MS = 10_000;

function fail(message: string): never {
  process.stderr.write(`nextbest: ${message}\n`);
  process.exit(1);
}

function primary(config: Config): void {
  for (let i = 0; i < config.workers; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    // a worker that dies at boot would die again: stop instead of looping
    if (code !== 0 && !worker.exitedAfterDisconnect) fail(`worker ${worker.process.pid} exited with code ${code}`);
  });
  process.on('SIGTERM', () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  });
}

async function worker(config: Config): Promise<void> {
  const log = pino({ level: config.LOG_LEVEL, base: { pid: process.pid } });
  if (!config.API_KEYS)
    log.warn('API_KEYS is unset: every route is open; set scope:key pairs before exposing the service');
  if (config.workers > 1 && config.PROFILE_STORE === 'memory') {
    log.warn(
      'WORKERS > 1 with the memory store: each worker keeps its own contact state, learning and report tallies, so caps, suppressions and reports are per worker; use PROFILE_STORE=redis to share them',
    );
  }
  const services = await buildServices(config, log);
  const app = createApp(services);
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    log.info(
      { port: info.port, rulesetVersion: services.rules.active?.version, store: services.profiles.kind },
      'nextbest is serving',
    );
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // /readyz answers 503 from now on, and every answer closes its connection (keep-alive
    // clients move to other nodes): set on the server, so requests pay nothing until then
    services.readiness.draining = true;
    (server as Server).prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.shouldKeepAlive = false;
    });
    log.info({ delayMs: config.SHUTDOWN_DELAY_MS }, 'SIGTERM: draining');
    // the balancer gets SHUTDOWN_DELAY_MS to see the 503 and stop sending; then no new connections,
    // and the grace period for in-flight requests and buffered writes
    setTimeout(() => {
      setTimeout(() => {
        log.error('in-flight work or buffered writes did not finish within the grace period; exiting');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
      server.close(() => {
        // requests are done: write out what they left buffered, then leave
        services.close().then(
          (complete) => process.exit(complete ? 0 : 1),
          (err: unknown) => {
            log.error({ err }, 'could not flush buffered writes at shutdown');
            process.exit(1);
          },
        );
      });
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    }, config.SHUTDOWN_DELAY_MS);
  };
  // a second signal changes nothing: the flush it would cut short is what the first one started
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
if (config.workers > 1 && cluster.isPrimary) primary(config);
else
  worker(config).catch((err: unknown) =>
    fail(err instanceof BootError ? err.message : `cannot start: ${(err as Error).stack ?? String(err)}`),
  );
