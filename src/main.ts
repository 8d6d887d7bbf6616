import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { BootError, buildServices, createApp } from './boot.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { guardServer, httpServerOptions } from './ops/http-server.js';

/** after the listener closes: in-flight requests, then the flush of buffered writes */
const SHUTDOWN_GRACE_MS = 10_000;
/** how long requests still arriving are waited for; the flush may take 5 s more (Redis away) */
const SHUTDOWN_ARRIVAL_MS = 4_000;

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
  const timeouts = {
    headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  };
  const server = serve(
    { fetch: app.fetch, port: config.PORT, hostname: config.HOST, serverOptions: httpServerOptions(timeouts) },
    (info) => {
      log.info(
        { port: info.port, rulesetVersion: services.rules.active?.version, store: services.profiles.kind },
        'nextbest is serving',
      );
    },
  ) as Server;
  const http = guardServer(server, timeouts, { onProblem: (code) => services.metrics.problems.slot(code).n++ });
  let stopping = false;
  const close = () => {
    setTimeout(() => {
      log.error('in-flight work or buffered writes did not finish within the grace period; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // no new connections; in-flight requests finish, idle connections close once quiet, and
    // requests still arriving after SHUTDOWN_ARRIVAL_MS are answered 408: the rest of the
    // grace period is for writing out what requests left buffered
    http.close({ arrivalMs: SHUTDOWN_ARRIVAL_MS }).then(() =>
      services.close().then(
        (complete) => process.exit(complete ? 0 : 1),
        (err: unknown) => {
          log.error({ err }, 'could not flush buffered writes at shutdown');
          process.exit(1);
        },
      ),
    );
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // /readyz answers 503 from now on, and every answer closes its connection (keep-alive
    // clients move to other nodes)
    services.readiness.draining = true;
    http.drain();
    log.info({ delayMs: config.SHUTDOWN_DELAY_MS }, 'SIGTERM: draining');
    // the balancer gets SHUTDOWN_DELAY_MS to see the 503 and stop sending; without a delay the
    // listener closes at once, before any client is sent off to open a new connection
    if (config.SHUTDOWN_DELAY_MS > 0) setTimeout(close, config.SHUTDOWN_DELAY_MS);
    else close();
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
